"""github.com's OAuth web flow: the consent page and the code-for-token exchange."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sandbox.pages import error_page, render
from sandbox.pkce import verifier_matches
from sandbox.state import GITHUB_CODE_TTL_S, GitHubCode, parse_scopes, state_of

ERROR_URI = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
DEFAULT_LOGIN = "octo-small"


async def authorize(request: Request) -> Response:
    """GET shows the consent page; POST (its form) redirects back with a code."""
    state = state_of(request)
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update(dict(await request.form()))
    client_id = str(params.get("client_id", ""))
    redirect_uri = str(params.get("redirect_uri", ""))
    scope = str(params.get("scope", ""))
    if client_id != state.config.github_client_id:
        return error_page(
            "Application not found",
            "The client_id is not that of a registered OAuth app.",
            status_code=404,
        )
    if not redirect_uri:
        return error_page("Redirect URI missing", "The redirect_uri parameter is required.")
    scopes = parse_scopes(scope)
    challenge = str(params.get("code_challenge", ""))
    if challenge and params.get("code_challenge_method") != "S256":
        return error_page("Unsupported PKCE method", "Only code_challenge_method=S256 is accepted.")
    if request.method == "GET":
        return render(
            "authorize.html",
            title="Authorize application (GitHub sandbox)",
            intro=f"The app asks for the scopes: {', '.join(scopes) or '(none: public data)'}.",
            action=str(request.url.path),
            hidden={
                k: params.get(k, "")
                for k in (
                    "client_id",
                    "redirect_uri",
                    "scope",
                    "state",
                    "code_challenge",
                    "code_challenge_method",
                )
            },
            who_label="Sign in as GitHub user",
            default_login=params.get("login", DEFAULT_LOGIN),
            known=state.directory.logins(),
            offer_repo="repo" in scopes,
            error=None,
        )
    login = str(params.get("login", "")).strip().lower()
    if state.directory.get(login) is None:
        return error_page("Unknown user", f"There is no sandbox GitHub user {login!r}.")
    if "repo" in scopes and not params.get("grant_repo"):
        scopes = [s for s in scopes if s != "repo"]  # the person unticked private access
    code = secrets.token_hex(10)
    state.github_codes[code] = GitHubCode(
        login=login,
        scopes=scopes,
        client_id=client_id,
        redirect_uri=redirect_uri,
        expires_at_s=state.clock.now_s() + GITHUB_CODE_TTL_S,
        code_challenge=challenge,
    )
    query = {"code": code, **({"state": params["state"]} if params.get("state") else {})}
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)


async def access_token(request: Request) -> Response:
    """Exchange a code; errors are HTTP 200 with an ``error`` field, as on github.com."""
    state = state_of(request)
    if "json" in request.headers.get("content-type", ""):
        body: dict[str, Any] = await request.json()
    else:
        body = dict(await request.form())
    params = {**dict(request.query_params), **body}
    wants_json = "application/json" in request.headers.get("accept", "")

    def answer(payload: dict[str, str]) -> Response:
        if wants_json:
            return JSONResponse(payload)
        return Response(urlencode(payload), media_type="application/x-www-form-urlencoded")

    if (
        params.get("client_id") != state.config.github_client_id
        or params.get("client_secret") != state.config.github_client_secret
    ):
        return answer(
            {
                "error": "incorrect_client_credentials",
                "error_description": "The client_id and/or client_secret passed are incorrect.",
                "error_uri": ERROR_URI,
            }
        )
    code = state.github_codes.pop(str(params.get("code", "")), None)  # single use
    if code is None or code.expires_at_s < state.clock.now_s():
        return answer(
            {
                "error": "bad_verification_code",
                "error_description": "The code passed is incorrect or expired.",
                "error_uri": ERROR_URI,
            }
        )
    if params.get("redirect_uri") and params["redirect_uri"] != code.redirect_uri:
        return answer(
            {
                "error": "redirect_uri_mismatch",
                "error_description": "The redirect_uri MUST match the registered callback URL "
                "for this application.",
                "error_uri": ERROR_URI,
            }
        )
    if not verifier_matches(
        challenge=code.code_challenge, method="S256", verifier=params.get("code_verifier")
    ):
        return answer(
            {
                "error": "bad_verification_code",
                "error_description": "The code_verifier does not match the code_challenge.",
                "error_uri": ERROR_URI,
            }
        )
    token = state.issue_github_token(code.login, code.scopes)
    return answer({"access_token": token, "token_type": "bearer", "scope": ",".join(code.scopes)})
