"""The admin API under ``/_sandbox/``: clock, config, faults, users, truth, logs, inspection."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.data import PROFILES
from sandbox.faults import KINDS, STATE_FAULTS, UPLOAD_STEPS
from sandbox.state import SandboxState, parse_scopes, state_of
from sandbox.truth import ground_truth, raw_events
from shared.activity import parse_timestamp, utc_timestamp


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    body = json.loads(raw)
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def _bad(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def clock(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _body(request)
        seconds = float(body.get("advance_seconds", 0))
        state.clock.advance(seconds)
        state.limiter.advance(seconds)
    return JSONResponse(
        {
            "now": utc_timestamp(state.clock.now()),
            "now_epoch_s": state.clock.now_s(),
            "offset_s": state.clock.offset_s,
            "time_scale": state.clock.time_scale,
        }
    )


async def config(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        try:
            state.config.update(await _body(request))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
        state.apply_config()
    return JSONResponse(state.config.public())


async def reset(request: Request) -> Response:
    request.app.state.sandbox = SandboxState.fresh(state_of(request).config)
    return JSONResponse({"status": "ok"})


async def faults(request: Request) -> Response:
    state = state_of(request)
    if request.method == "DELETE":
        state.faults.clear()
        return JSONResponse({"faults": []})
    if request.method == "GET":
        return JSONResponse({"faults": [f.as_json() for f in state.faults.all()]})
    body = await _body(request)
    kind, login = body.get("kind"), body.get("login")
    if kind not in KINDS:
        return _bad(f"kind must be one of {list(KINDS)}")
    if kind in STATE_FAULTS:
        if kind == "revoke":
            if not login:
                return _bad("revoke needs a login")
            return JSONResponse({"kind": kind, "revoked": state.revoke_github_tokens(login)})
        if kind == "expire_oh_token":
            if not login:
                return _bad("expire_oh_token needs a login (the Open Humans username)")
            expired = 0
            for token in state.oh.access_tokens.values():
                if token.username.lower() == str(login).lower():
                    token.expired = True
                    expired += 1
            return JSONResponse({"kind": kind, "expired": expired})
        state.oh.url_generation += 1  # expire_download_urls
        return JSONResponse({"kind": kind})
    step = body.get("step")
    if kind == "fail_upload_step" and step not in UPLOAD_STEPS:
        return _bad(f"step must be one of {list(UPLOAD_STEPS)}")
    count = body.get("count", 1)
    fault = state.faults.add(
        kind=kind,
        login=login,
        path_contains=body.get("path_contains"),
        count=None if count is None else int(count),
        step=step,
    )
    return JSONResponse(fault.as_json(), status_code=201)


async def requests_log(request: Request) -> Response:
    state = state_of(request)
    since = int(request.query_params.get("since_id", 0))
    return JSONResponse(
        {"requests": state.log.entries(login=request.query_params.get("login"), since_id=since)}
    )


async def stats(request: Request) -> Response:
    return JSONResponse(state_of(request).log.stats(login=request.query_params.get("login")))


async def github_users(request: Request) -> Response:
    state = state_of(request)
    if request.method == "POST":
        body = await _body(request)
        login = str(body.get("login", "")).strip().lower()
        profile = body.get("profile", "small")
        if not login or profile not in PROFILES:
            return _bad(f"need a login and a profile in {sorted(PROFILES)}")
        seed = body.get("seed")
        member = state.directory.add(
            login=login, profile=profile, seed=None if seed is None else int(seed)
        )
        return JSONResponse(
            {"login": member.login, "id": member.id, "profile": profile}, status_code=201
        )
    users = []
    for login in state.directory.logins():
        listed = state.directory.get(login)
        assert listed is not None
        users.append(
            {
                "login": login,
                "id": listed.id,
                "profile": listed.profile,
                "created_at": utc_timestamp(listed.created_at),
            }
        )
    return JSONResponse({"users": users})


async def truth(request: Request) -> Response:
    state = state_of(request)
    member = state.directory.get(request.path_params["login"])
    if member is None:
        return _bad("unknown login", 404)
    private = request.query_params.get("private", "true").lower() in ("1", "true", "yes")
    return JSONResponse(ground_truth(member, state.clock.now(), private=private))


async def events(request: Request) -> Response:
    """The member's raw events up to now (or ``until``, to plan a test), uninterpreted: tests
    derive their truth from these."""
    state = state_of(request)
    member = state.directory.get(request.path_params["login"])
    if member is None:
        return _bad("unknown login", 404)
    until = request.query_params.get("until")
    try:
        when = parse_timestamp(until) if until else state.clock.now()
    except ValueError:
        return _bad("until must be an ISO 8601 date-time")
    return JSONResponse(raw_events(member, when))


async def change_repo(request: Request) -> Response:
    """Rename, transfer (``rename_to`` with another owner) or delete a repository now."""
    state = state_of(request)
    login = request.path_params["login"]
    member = state.directory.get(login)
    if member is None:
        return _bad("unknown login", 404)
    body = await _body(request)
    now = state.clock.now()
    repo = member.repo(str(body.get("repository", "")), now)
    if repo is None or not repo.exists_at(now):
        return _bad("no such repository", 404)
    rename_to = body.get("rename_to")
    if rename_to is None and not body.get("delete"):
        return _bad("need rename_to or delete")
    try:
        changed = state.directory.change_repo(
            login,
            repo,
            at=now,
            rename_to=None if rename_to is None else str(rename_to),
            delete=bool(body.get("delete")),
        )
    except ValueError as error:
        return _bad(str(error))
    return JSONResponse(
        {"id": changed.id, "name": changed.full_name_at(now), "exists": changed.exists_at(now)}
    )


async def github_token(request: Request) -> Response:
    """Issue a GitHub token without the OAuth dance (for tests and benchmarks)."""
    state = state_of(request)
    body = await _body(request)
    login = str(body.get("login", "")).lower()
    if state.directory.get(login) is None:
        return _bad("unknown login", 404)
    scopes = parse_scopes(str(body.get("scope", "read:user")))
    token = state.issue_github_token(login, scopes)
    return JSONResponse({"access_token": token, "token_type": "bearer", "scope": ",".join(scopes)})


async def github_rate_limit(request: Request) -> Response:
    """Set a user's remaining budget, as another app spending the same user's limit would."""
    state = state_of(request)
    member = state.directory.get(request.path_params["login"])
    if member is None:
        return _bad("unknown login", 404)
    body = await _body(request)
    resource = body.get("resource", "core")
    window = state.limiter.set_remaining(
        member.id, resource, int(body.get("remaining", 0)), state.clock.now_s()
    )
    return JSONResponse(window.headers(resource))


async def oh_member(request: Request) -> Response:
    state = state_of(request)
    member = state.oh.member(request.path_params["username"], now=state.clock.now())
    return JSONResponse(
        {"username": member.username, "project_member_id": member.project_member_id}
    )


async def oh_member_files(request: Request) -> Response:
    state = state_of(request)
    files = state.oh.member_files(request.path_params["username"])
    return JSONResponse(
        {
            "files": [
                {
                    "id": f.id,
                    "basename": f.basename,
                    "metadata": f.metadata,
                    "size": len(f.content or b""),
                    "created": f.created,
                }
                for f in sorted(files, key=lambda f: f.id)
            ]
        }
    )


async def oh_file_content(request: Request) -> Response:
    stored = state_of(request).oh.files.get(request.path_params["file_id"])
    if stored is None or stored.content is None:
        return _bad("no such file", 404)
    return Response(stored.content, media_type="application/octet-stream")


async def oh_tokens(request: Request) -> Response:
    """Issue Open Humans tokens without the OAuth dance (for tests and benchmarks)."""
    state = state_of(request)
    body = await _body(request)
    username = str(body.get("username", "")).strip()
    if not username:
        return _bad("need a username")
    member = state.oh.member(username, now=state.clock.now())
    tokens = state.oh.issue_tokens(member.username, now_s=state.clock.now_s())
    return JSONResponse({**tokens, "project_member_id": member.project_member_id})


async def oh_messages(request: Request) -> Response:
    username = request.query_params.get("username")
    messages = [
        m
        for m in state_of(request).oh.messages
        if username is None or m["username"].lower() == username.lower()
    ]
    return JSONResponse({"messages": messages})


async def oh_deauthorize(request: Request) -> Response:
    """Revoke the member's tokens, then call the project's webhook, signed like Open Humans."""
    state = state_of(request)
    body = await _body(request)
    username, webhook_url = str(body.get("username", "")), body.get("webhook_url")
    if not username or not webhook_url:
        return _bad("need username and webhook_url")
    member = state.oh.member(username, now=state.clock.now())
    state.oh.revoke_member(member.username)
    payload = json.dumps(
        {
            "project_member_id": member.project_member_id,
            "erasure_requested": bool(body.get("erasure_requested", False)),
            "timestamp": state.clock.now().isoformat(),
        }
    ).encode()
    signature = hmac.new(state.config.oh_webhook_secret.encode(), payload, hashlib.sha1)
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            str(webhook_url),
            content=payload,
            headers={
                "content-type": "application/json",
                "X-OpenHumans-Webhooks-Signature": f"sha1={signature.hexdigest()}",
            },
        )
    return JSONResponse({"webhook_status": response.status_code})


async def callback(request: Request) -> Response:
    """Echoes its query: a redirect target for OAuth tests that have no app of their own."""
    return JSONResponse(dict(request.query_params))


async def index(_request: Request) -> Response:
    return JSONResponse({"routes": [r.path for r in ROUTES]})


ROUTES = [
    Route("/_sandbox/", index),
    Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
    Route("/_sandbox/config", config, methods=["GET", "POST"]),
    Route("/_sandbox/reset", reset, methods=["POST"]),
    Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
    Route("/_sandbox/requests", requests_log),
    Route("/_sandbox/stats", stats),
    Route("/_sandbox/callback", callback),
    Route("/_sandbox/github/users", github_users, methods=["GET", "POST"]),
    Route("/_sandbox/github/users/{login}/truth", truth),
    Route("/_sandbox/github/users/{login}/events", events),
    Route("/_sandbox/github/users/{login}/repos", change_repo, methods=["POST"]),
    Route("/_sandbox/github/users/{login}/rate_limit", github_rate_limit, methods=["POST"]),
    Route("/_sandbox/github/tokens", github_token, methods=["POST"]),
    Route("/_sandbox/openhumans/members/{username}", oh_member),
    Route("/_sandbox/openhumans/members/{username}/files", oh_member_files),
    Route("/_sandbox/openhumans/files/{file_id:int}/content", oh_file_content),
    Route("/_sandbox/openhumans/tokens", oh_tokens, methods=["POST"]),
    Route("/_sandbox/openhumans/messages", oh_messages),
    Route("/_sandbox/openhumans/deauthorize", oh_deauthorize, methods=["POST"]),
]
