"""www.openhumans.org OAuth2: the project authorization page and the token endpoint."""

from __future__ import annotations

import base64
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.data import BUILTIN_MEMBERS
from sandbox.openhumans_store import CODE_TTL_S, OHCode
from sandbox.pages import error_page, render
from sandbox.pkce import verifier_matches
from sandbox.state import state_of

DEFAULT_USERNAME = "octo-small"


async def authorize(request: Request) -> Response:
    state = state_of(request)
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update(dict(await request.form()))
    if params.get("client_id") != state.config.oh_client_id:
        return error_page("Invalid client", "Invalid client_id parameter value.", status_code=400)
    if params.get("response_type", "code") != "code":
        return error_page("Unsupported response type", "Only response_type=code is supported.")
    redirect_uri = str(params.get("redirect_uri", ""))
    if not redirect_uri:
        return error_page("Missing redirect URI", "The redirect_uri parameter is required.")
    challenge = str(params.get("code_challenge", ""))
    method = str(params.get("code_challenge_method") or "plain")  # RFC 7636's default
    if challenge and method not in ("plain", "S256"):
        return error_page("Invalid request", "Unsupported code_challenge_method.")
    if request.method == "GET":
        return render(
            "authorize.html",
            title="Authorize project (Open Humans sandbox)",
            intro="The project asks to read and write its files in your Open Humans account.",
            action=str(request.url.path),
            hidden={
                k: params.get(k, "")
                for k in (
                    "client_id",
                    "redirect_uri",
                    "response_type",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                )
            },
            who_label="Open Humans username",
            default_login=params.get("login", DEFAULT_USERNAME),
            known=sorted({*BUILTIN_MEMBERS, *state.directory.logins()}),
            offer_repo=False,
            error=None,
        )
    username = str(params.get("login", "")).strip()
    if not username:
        return error_page("Missing username", "Enter an Open Humans username.")
    state.oh.member(username, now=state.clock.now())
    code = secrets.token_urlsafe(20)
    state.oh.codes[code] = OHCode(
        username=username,
        redirect_uri=redirect_uri,
        expires_at_s=state.clock.now_s() + CODE_TTL_S,
        code_challenge=challenge,
        code_challenge_method=method,
    )
    separator = "&" if "?" in redirect_uri else "?"
    # django-oauth-toolkit sends the client's state back with the code.
    reply = {"code": code, "origin": "external"}
    if params.get("state"):
        reply["state"] = str(params["state"])
    query = urlencode(reply)
    return RedirectResponse(f"{redirect_uri}{separator}{query}", status_code=302)


def _client(request: Request, form: dict[str, Any]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:]).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


async def token(request: Request) -> Response:
    state = state_of(request)
    form: dict[str, Any] = dict(await request.form())
    client_id, secret = _client(request, form)
    if (client_id, secret) != (state.config.oh_client_id, state.config.oh_client_secret):
        return JSONResponse({"error": "invalid_client"}, status_code=401)
    grant = form.get("grant_type")
    now_s = state.clock.now_s()
    if grant == "authorization_code":
        found = state.oh.codes.pop(str(form.get("code", "")), None)  # single use
        if (
            found is None
            or found.expires_at_s < now_s
            or form.get("redirect_uri", found.redirect_uri) != found.redirect_uri
            or not verifier_matches(
                challenge=found.code_challenge,
                method=found.code_challenge_method,
                verifier=form.get("code_verifier"),
            )
        ):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(state.oh.issue_tokens(found.username, now_s=now_s))
    if grant == "refresh_token":
        # Rotation: the refresh token used here stops working.
        username = state.oh.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
        if username is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(state.oh.issue_tokens(username, now_s=now_s))
    return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
