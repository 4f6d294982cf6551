"""What every api.github.com request goes through: faults, auth, limits, ETags, headers, the log.

Handlers only build the answer (``ApiResult``); this module decides whether it is served, charged
(primary limit per user and resource), answered 304, refused by a secondary limit, or broken by an
injected fault, and records it in the request log.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox.data import Member
from sandbox.faults import REQUEST_FAULTS as REQUEST_FAULT_KINDS
from sandbox.ratelimit import Window
from sandbox.state import GitHubToken, SandboxState

DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = (
    "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
# Unauthenticated requests get GitHub's per-IP budget in their headers.
ANONYMOUS_LIMIT = 60


@dataclass
class ApiCall:
    """One authenticated request as a handler sees it."""

    request: Request
    state: SandboxState
    token: GitHubToken
    member: Member
    window: Window  # the budget of the endpoint's resource

    @property
    def api_base(self) -> str:
        return str(self.request.base_url).rstrip("/") + "/github-api"


@dataclass
class ApiResult:
    status: int
    body: Any  # JSON-ready, or None for no body
    headers: dict[str, str] = field(default_factory=dict)
    cost: int = 1  # points charged when served (REST: 1)
    charged_by_handler: bool = False  # GraphQL charges itself before executing
    violation: bool = False  # set by handlers that refuse for an exhausted budget


Handler = Callable[[ApiCall], Awaitable[ApiResult]]


def json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _token_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


class GitHubGate:
    """Wraps a handler for one resource (``core``, ``graphql``, ``search``, or None: free)."""

    def __init__(self, state_of: Callable[[Request], SandboxState]) -> None:
        self._state_of = state_of

    def endpoint(
        self, handler: Handler, *, resource: str | None
    ) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            return await self._serve(request, handler, resource)

        return serve

    async def _serve(self, request: Request, handler: Handler, resource: str | None) -> Response:
        state = self._state_of(request)
        now_s = state.clock.now_s()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        body_digest = (
            hashlib.sha256(await request.body()).hexdigest()[:16]
            if request.method == "POST"
            else None
        )
        secret = _token_of(request)
        token = state.github_tokens.get(secret) if secret else None
        login = token.login if token else None
        member = state.directory.get(login) if login else None
        headers = {
            "x-github-request-id": uuid.uuid4().hex[:20].upper(),
            "x-github-api-version-selected": "2022-11-28",
            "x-sandbox-now": f"{now_s:.3f}",
            # GitHub's Date is its clock; here it is the sandbox clock, which clients may follow.
            "date": email.utils.format_datetime(state.clock.now(), usegmt=True),
        }

        def log(status: int, **fields: Any) -> None:
            values: dict[str, Any] = {
                "cost": 0,
                "counted": False,
                "remaining_after": None,
                "violation": False,
            }
            values.update(fields)
            state.log.add(
                at=state.clock.now().isoformat().replace("+00:00", "Z"),
                login=login,
                method=request.method,
                path=path,
                status=status,
                resource=resource,
                body_digest=body_digest,
                **values,
            )

        fault = state.faults.take(REQUEST_FAULT_KINDS, path=path, login=login)
        if fault is not None and fault.kind == "refuse":
            log(451)
            return _json(
                {
                    "message": "Repository access blocked",
                    "block": {"reason": "dmca", "created_at": "2020-01-01T00:00:00Z"},
                },
                451,
                headers,
            )
        if fault is not None and fault.kind in ("5xx", "timeout"):
            if fault.kind == "timeout":
                await asyncio.sleep(state.config.timeout_fault_s)
            log(502)
            return Response(
                json_bytes({"message": "Server Error"}),
                status_code=502,
                headers=headers,
                media_type="application/json; charset=utf-8",
            )

        if token is None or token.revoked or member is None:
            anonymous = state.limiter.window(0, "core", now_s)
            anonymous.limit = ANONYMOUS_LIMIT
            message = "Requires authentication" if secret is None else "Bad credentials"
            log(401)
            return _json(
                {"message": message, "documentation_url": DOCS, "status": "401"},
                401,
                {**headers, **anonymous.headers("core")},
            )
        headers["x-oauth-scopes"] = token.scope_header
        headers["x-accepted-oauth-scopes"] = ""
        window = state.limiter.window(member.id, resource or "core", now_s)

        if state.config.secondary_limits and state.in_flight[member.login] > 0:
            log(403, secondary_limited=True, remaining_after=window.remaining)
            return _json(
                {
                    "message": "You have exceeded a secondary rate limit. Please wait a few "
                    "minutes before you try again. If you reach out to GitHub Support for help, "
                    f"please include the request ID {headers['x-github-request-id']}.",
                    "documentation_url": RATE_LIMIT_DOCS,
                    "status": "403",
                },
                403,
                {**headers, **window.headers(resource or "core"), "retry-after": "60"},
            )

        state.in_flight[member.login] += 1
        try:
            if state.config.latency_ms:
                await asyncio.sleep(state.config.latency_ms / 1000)
            call = ApiCall(request=request, state=state, token=token, member=member, window=window)
            result = await handler(call)
        finally:
            state.in_flight[member.login] -= 1

        body = b"" if result.body is None else json_bytes(result.body)
        out_headers = {**headers, **result.headers}
        if request.method == "GET" and result.status == 200 and resource is not None:
            etag = '"' + hashlib.sha256(body + token.scope_header.encode()).hexdigest() + '"'
            out_headers["etag"] = etag
            out_headers["cache-control"] = "private, max-age=60, s-maxage=60"
            out_headers["vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
            candidates = [c.strip() for c in request.headers.get("if-none-match", "").split(",")]
            if etag in candidates or f"W/{etag}" in candidates:
                # A 304 is not charged against the primary limit.
                out_headers.update(window.headers(resource))
                log(304, remaining_after=window.remaining)
                return Response(status_code=304, headers=out_headers)

        if resource is None:
            out_headers.update(window.headers("core"))
            log(result.status, remaining_after=window.remaining)
            return _raw(body, result.status, out_headers)

        if result.charged_by_handler:
            out_headers.update(window.headers(resource))
            log(
                result.status,
                cost=result.cost,
                counted=result.cost > 0,
                remaining_after=window.remaining,
                violation=result.violation,
            )
            return _finish(body, result.status, out_headers, malformed=fault is not None)

        if window.remaining <= 0:
            out_headers.update(window.headers(resource))
            log(state.config.limited_status, remaining_after=0, violation=True)
            return _json(
                {
                    "message": f"API rate limit exceeded for user ID {member.id}. If you reach "
                    "out to GitHub Support for help, please include the request ID "
                    f"{headers['x-github-request-id']}.",
                    "documentation_url": RATE_LIMIT_DOCS,
                },
                state.config.limited_status,
                out_headers,
            )
        window.used += result.cost
        out_headers.update(window.headers(resource))
        log(result.status, cost=result.cost, counted=True, remaining_after=window.remaining)
        return _finish(body, result.status, out_headers, malformed=fault is not None)


def _finish(body: bytes, status: int, headers: dict[str, str], *, malformed: bool) -> Response:
    if malformed:
        # A truncated body with a success status: what a dropped connection looks like.
        return _raw(body[: max(1, len(body) // 2)], 200, headers)
    return _raw(body, status, headers)


def _raw(body: bytes, status: int, headers: dict[str, str]) -> Response:
    return Response(
        body, status_code=status, headers=headers, media_type="application/json; charset=utf-8"
    )


def _json(body: Any, status: int, headers: dict[str, str]) -> Response:
    return _raw(json_bytes(body), status, headers)
