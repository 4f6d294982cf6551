"""Logging in with Open Humans and connecting GitHub: the two OAuth web flows, and logging out.

Both flows carry a ``state`` kept in this browser's session and checked on the callback (a
callback without it is refused: otherwise another site could log the browser in as someone
else, login CSRF), and use PKCE (S256), so that a code is only worth something to the browser
that started the flow. Every way a callback can go wrong (no ``code``, an ``error`` from the
provider, a forged, missing or stale ``state``, an expired session, a refused code) ends on a
400 page with a link back; an unreachable provider ends on a 502 page. Neither tokens nor codes
are ever logged.
"""

from __future__ import annotations

from typing import Any

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import members
from gateway.context import gateway_of
from gateway.errors import error_page
from gateway.forms import checked_form
from gateway.oauth_clients import GITHUB, OPENHUMANS, SCOPE_PRIVATE, SCOPE_PUBLIC, callback_url
from gateway.sessions import flash, log_in, log_out, member_id_of, start_login
from shared.erasure import forget_login_sessions
from shared.errors import DataSourceError, TokenRevoked
from shared.github.client import fetch_user
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi

log = get_logger(__name__)

PROVIDER_NAMES = {OPENHUMANS: "Open Humans", GITHUB: "GitHub"}
# Errors a provider sends back when the person declined on its authorize page.
DECLINED = {"access_denied"}
# Session key remembering whether the member asked for private repositories (GitHub may grant less).
PRIVATE_REQUESTED_KEY = "github_private_requested"
# authlib keeps each pending flow's data in the session under this prefix.
STATE_PREFIX = "_state_"


def _start_again(provider: str) -> tuple[str, str]:
    if provider == OPENHUMANS:
        return "/", "Back to the start"
    return "/dashboard", "Back to your dashboard"


def _callback_refused(request: Request, provider: str) -> Response | None:
    """A 400 page when the callback says the flow failed or lacks its ``code``; else None."""
    name = PROVIDER_NAMES[provider]
    link_url, link_label = _start_again(provider)
    error = request.query_params.get("error")
    if error:
        log.info("oauth_callback_error", provider=provider, error=error[:64])
        if error in DECLINED:
            message = f"You did not authorize this project on {name}, so nothing was changed."
        else:
            message = (
                f"{name} could not complete the authorization ({error[:64]}). Please try again."
            )
        return error_page(
            request,
            status_code=400,
            title=f"{name} authorization not completed",
            message=message,
            link_url=link_url,
            link_label=link_label,
        )
    if not request.query_params.get("code"):
        log.info("oauth_callback_without_code", provider=provider)
        return error_page(
            request,
            status_code=400,
            title="Authorization link incomplete",
            message=f"This address lacks the code {name} sends back. Please start again.",
            link_url=link_url,
            link_label=link_label,
        )
    return None


def _drop_malformed_state(request: Request) -> None:
    """Remove pending-flow entries that are not what authlib writes (a dict), so that a session
    made by another version can only fail the state check, never crash it."""
    for key in [k for k in request.session if k.startswith(STATE_PREFIX)]:
        if not isinstance(request.session[key], dict):
            del request.session[key]


async def _exchange_code(request: Request, provider: str) -> dict[str, Any] | Response:
    """The token response for the callback's code, or a page saying why there is none.

    authlib's ``authorize_access_token`` finds the flow by the callback's ``state`` in this
    session (none, or another browser's, is a mismatch), clears it, and sends the PKCE
    verifier with the code.
    """
    name = PROVIDER_NAMES[provider]
    link_url, link_label = _start_again(provider)
    client = gateway_of(request).oauth.create_client(provider)
    _drop_malformed_state(request)
    try:
        token: dict[str, Any] = await client.authorize_access_token(request)
    except MismatchingStateError:
        log.info("oauth_state_mismatch", provider=provider)
        return error_page(
            request,
            status_code=400,
            title="This authorization has expired",
            message=(
                f"We could not match this {name} reply to a request started in this browser: "
                "the link is old, was opened in another browser, or your session expired. "
                "Please start again."
            ),
            link_url=link_url,
            link_label=link_label,
        )
    except AuthlibBaseError as error:
        # GitHub reports a bad or expired code as HTTP 200 with {"error": ...}.
        log.info("oauth_code_refused", provider=provider, error=str(error.error)[:64])
        return error_page(
            request,
            status_code=400,
            title=f"{name} refused the authorization",
            message=(
                f"{name} did not accept this authorization (it may have expired or been used "
                "already). Please start again."
            ),
            link_url=link_url,
            link_label=link_label,
        )
    except (httpx.HTTPError, ValueError) as error:
        log.warning("oauth_token_unavailable", provider=provider, error=type(error).__name__)
        return _unavailable(request, provider)
    if not token.get("access_token"):
        log.warning("oauth_token_without_access_token", provider=provider)
        return _unavailable(request, provider)
    return token


def _unavailable(request: Request, provider: str) -> Response:
    link_url, link_label = _start_again(provider)
    name = PROVIDER_NAMES[provider]
    return error_page(
        request,
        status_code=502,
        title=f"{name} is not answering",
        message=f"We could not reach {name} just now. Please try again in a few minutes.",
        link_url=link_url,
        link_label=link_label,
    )


async def login(request: Request) -> Response:
    """Send the browser to Open Humans' authorize page."""
    settings = gateway_of(request).settings
    client = gateway_of(request).oauth.create_client(OPENHUMANS)
    response: Response = await client.authorize_redirect(
        request, callback_url(settings, OPENHUMANS)
    )
    return response


async def openhumans_callback(request: Request) -> Response:
    """Exchange the code, identify the member, store their tokens, log them in."""
    refused = _callback_refused(request, OPENHUMANS)
    if refused is not None:
        return refused
    token = await _exchange_code(request, OPENHUMANS)
    if isinstance(token, Response):
        return token
    gateway = gateway_of(request)
    settings = gateway.settings

    def exchange_member() -> dict[str, Any]:
        with OpenHumansApi.from_settings(settings) as api:
            return api.exchange_member(token["access_token"])

    try:
        profile = await run_in_threadpool(exchange_member)
        project_member_id = str(profile["project_member_id"])
        username = str(profile.get("username") or "")
    except (DataSourceError, KeyError, TypeError) as error:
        log.warning("openhumans_exchange_member_failed", error=type(error).__name__)
        return _unavailable(request, OPENHUMANS)
    member = await run_in_threadpool(
        members.upsert_openhumans_member,
        project_member_id=project_member_id,
        username=username,
        token=token,
        cipher=gateway.cipher,
    )
    session_id = await run_in_threadpool(start_login, gateway.redis, member)
    log_in(request, member, session_id)
    return RedirectResponse("/dashboard", status_code=303)


async def logout(request: Request) -> Response:
    """Log out everywhere: every login of the member ends, in every browser."""
    refused = await checked_form(request)
    if refused is not None:
        return refused
    member_id = member_id_of(request)
    if member_id is not None:
        await run_in_threadpool(
            forget_login_sessions, gateway_of(request).redis, member_id=member_id
        )
        log.info("logged_out", member_id=member_id)
    log_out(request)
    return RedirectResponse("/", status_code=303)


async def github_connect(request: Request) -> Response:
    """Send a logged-in member to GitHub's authorize page with the scope they chose."""
    if member_id_of(request) is None:
        return RedirectResponse("/", status_code=303)
    private = request.query_params.get("private") == "1"
    request.session[PRIVATE_REQUESTED_KEY] = private
    gateway = gateway_of(request)
    client = gateway.oauth.create_client(GITHUB)
    response: Response = await client.authorize_redirect(
        request,
        callback_url(gateway.settings, GITHUB),
        scope=SCOPE_PRIVATE if private else SCOPE_PUBLIC,
    )
    return response


async def github_callback(request: Request) -> Response:
    """Exchange the code, read the account and granted scopes, store them, queue the sync."""
    member_id = member_id_of(request)
    if member_id is None:
        return error_page(
            request,
            status_code=400,
            title="Your session has expired",
            message="Please log in with Open Humans again, then connect GitHub.",
        )
    refused = _callback_refused(request, GITHUB)
    if refused is not None:
        return refused
    token = await _exchange_code(request, GITHUB)
    if isinstance(token, Response):
        return token
    gateway = gateway_of(request)
    settings = gateway.settings
    try:
        user = await run_in_threadpool(
            lambda: fetch_user(
                api_url=settings.github_api_url,
                token=token["access_token"],
                timeout_s=settings.http_timeout_s,
            )
        )
    except TokenRevoked:
        return error_page(
            request,
            status_code=400,
            title="GitHub refused the new access",
            message="GitHub did not accept the access it just granted. Please connect again.",
            link_url="/dashboard",
            link_label="Back to your dashboard",
        )
    except DataSourceError as error:
        log.warning("github_fetch_user_failed", error=type(error).__name__)
        return _unavailable(request, GITHUB)
    member = await run_in_threadpool(
        members.connect_github,
        member_id=member_id,
        github_id=user.id,
        login=user.login,
        created_at=user.created_at,
        scopes=user.scopes,
        token=token["access_token"],
        cipher=gateway.cipher,
    )
    if member is None:
        request.session.clear()
        return error_page(
            request,
            status_code=400,
            title="Your account is no longer here",
            message="This project no longer holds your membership. Please log in again.",
        )
    asked_private = bool(request.session.pop(PRIVATE_REQUESTED_KEY, False))
    if asked_private and not user.can_read_private:
        flash(request, "GitHub granted access to public activity only.", category="warning")
    else:
        flash(request, f"GitHub account {user.login} connected: your first sync is queued.")
    return RedirectResponse("/dashboard", status_code=303)


ROUTES = [
    Route("/login", login, methods=["GET"]),
    Route("/auth/openhumans/callback", openhumans_callback, methods=["GET"]),
    Route("/github/connect", github_connect, methods=["GET"]),
    Route("/auth/github/callback", github_callback, methods=["GET"]),
    Route("/logout", logout, methods=["POST"]),
]
