"""The gateway's ASGI middleware, outermost first after Starlette's SessionMiddleware:

- ``LoginSessionMiddleware`` checks the cookie's login against Redis once per request and leaves
  the member id (or None) in the scope; a login that no longer holds clears the cookie session.
  The same Redis script counts the request against its rate budget (``gateway.ratelimit``).
- ``RequestContextMiddleware`` binds a request id and the member id to every log line, logs one
  JSON access line per request (path only: query strings can carry OAuth codes), counts the
  request, and adds the security headers to every response.
- ``BodySizeLimitMiddleware`` answers 413 to a body larger than ``MAX_REQUEST_BYTES``, whether
  it announces its length or streams it.
- ``gateway.ratelimit.RateLimitMiddleware`` (innermost) answers 429 to a request the check found
  over its budget.
"""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import urlsplit

import redis
import redis.asyncio
import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import Metrics
from gateway.ratelimit import SCOPE_OVER_BUDGET, RateLimits
from gateway.sessions import (
    LEFT_KEY,
    SCOPE_MEMBER_ID,
    claimed_login,
    end_login,
    login_record,
)
from shared import keys
from shared.erasure import LEFT
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger("gateway.access")

# A request id taken from a proxy's header must look like one (no log injection, bounded size).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# HSTS: browsers keep to https for a year once they have seen the site over https.
HSTS_MAX_AGE_S = 365 * 86400


def _origin(url: str) -> str:
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower()


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """Headers sent with every response.

    The Content-Security-Policy allows only the gateway's own scripts, styles, images and
    requests (no inline script or style, nothing from a CDN); pages may not be framed
    (clickjacking); forms may submit only to the gateway, and its redirects only lead on to
    Open Humans and GitHub. No MIME sniffing, no Referer to other sites (a callback URL carries
    an OAuth code), and HSTS when the site is served over https.
    """
    form_targets = " ".join(
        sorted({_origin(settings.openhumans_url), _origin(settings.github_web_url)})
    )
    policy = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors 'none'; form-action 'self' {form_targets}"
    )
    headers = [
        (b"content-security-policy", policy.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"cross-origin-opener-policy", b"same-origin"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    ]
    if settings.uses_https:
        headers.append((b"strict-transport-security", f"max-age={HSTS_MAX_AGE_S}".encode()))
    return headers


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


# One round trip per request: read the login the cookie claims, and count the request against
# the budget it falls under, the member's if the login holds (gateway.ratelimit). Returns the
# login's record ('' if none) and the counter's value and seconds left (0 and 0 if not counted).
LOGIN_CHECK_SCRIPT = """
local record = ''
if KEYS[1] ~= '' then record = redis.call('GET', KEYS[1]) or '' end
local key, window = KEYS[3], ARGV[3]
if record ~= '' and record == ARGV[1] then key, window = KEYS[2], ARGV[2] end
if key == '' then return {record, 0, 0} end
local count = redis.call('INCR', key)
if count == 1 then redis.call('EXPIRE', key, window) end
return {record, count, redis.call('TTL', key)}
"""


class LoginSessionMiddleware:
    """Puts the member id of a login that still holds in ``scope[SCOPE_MEMBER_ID]``, and the
    budget and seconds to wait of a request over its rate budget in ``scope[SCOPE_OVER_BUDGET]``.

    One Redis script per request that claims a login or is counted. A login ended (log out,
    leaving, erasure) or made for another Open Humans member is dropped from the cookie session:
    the browser is logged out (a login it has under way goes on).
    """

    def __init__(
        self, app: ASGIApp, *, redis_client: redis.asyncio.Redis, limits: RateLimits
    ) -> None:
        self.app = app
        self.limits = limits
        self.check = redis_client.register_script(LOGIN_CHECK_SCRIPT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._check(scope)
        await self.app(scope, receive, send)

    async def _check(self, scope: Scope) -> None:
        session: dict[str, object] | None = scope.get("session")
        claim = claimed_login(session) if session else None
        holds, fails = self.limits.counters_of(scope, None if claim is None else claim[0])
        scope[SCOPE_MEMBER_ID] = None
        if claim is None and fails is None:
            return
        expected = "" if claim is None else login_record(claim[0], claim[1])
        try:
            record, count, ttl_s = await self.check(
                keys=[
                    "" if claim is None else keys.login_session(claim[2]),
                    "" if holds is None else holds.key,
                    "" if fails is None else fails.key,
                ],
                args=[
                    expected,
                    0 if holds is None else holds.window_s,
                    0 if fails is None else fails.window_s,
                ],
            )
        except redis.exceptions.RedisError as error:
            # Not known now, not ended either: the cookie is kept for when Redis is back, and
            # the request is let through uncounted.
            log.warning("login_session_unchecked", error=type(error).__name__)
            return
        held = claim is not None and record == expected.encode()
        counter = holds if held else fails
        if counter is not None and count > counter.amount:
            scope[SCOPE_OVER_BUDGET] = (counter.budget, max(1, ttl_s))
        if held:
            scope[SCOPE_MEMBER_ID] = claim[0]  # type: ignore[index]
        elif claim is not None and session is not None:
            end_login(session)
            if record == LEFT:  # the next page tells the browser why it was logged out
                session[LEFT_KEY] = True
            log.info("login_session_ended", member_id=claim[0])


class RequestContextMiddleware:
    """Binds ``request_id``/``member_id`` for the request, logs it, counts it, and adds the
    request id, the security headers and ``Cache-Control`` to the response.

    Member pages and the API are never stored by a browser or proxy (``no-store``): a shared
    computer's back button must not show the previous member's dashboard.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, settings: Settings) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        member_id = scope.get(SCOPE_MEMBER_ID)
        caching = b"no-store" if not scope["path"].startswith("/static/") else b"max-age=3600"
        status = 500
        started = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                kept = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"cache-control"
                ]
                message["headers"] = [
                    *kept,
                    *self.headers,
                    (b"cache-control", caching),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, member_id=member_id):
            try:
                await self.app(scope, receive, send_with_headers)
            finally:
                duration_s = time.perf_counter() - started
                route = _route_of(scope)
                self.metrics.requests.labels(route, scope["method"], str(status)).inc()
                self.metrics.duration.labels(route).observe(duration_s)
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    route=route,
                    status=status,
                    duration_ms=round(duration_s * 1000, 1),
                )


class BodySizeLimitMiddleware:
    """413 for a request body over ``max_bytes``: at once when ``Content-Length`` says so, or
    as soon as a streamed body passes the limit (the handler's read then raises a 413)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, counted_receive, send)

    async def _too_large(self, send: Send) -> None:
        body = b"Request body too large"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
