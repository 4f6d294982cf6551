"""The gateway's ASGI middleware, outermost first after Starlette's SessionMiddleware:

- ``LoginSessionMiddleware`` checks the cookie's login against Redis once per request and leaves
  the member id (or None) in the scope; a login that no longer holds clears the cookie session.
- ``RequestContextMiddleware`` binds a request id and the member id to every log line, logs one
  JSON access line per request (path only: query strings can carry OAuth codes), counts the
  request, and adds the security headers to every response.
- ``BodySizeLimitMiddleware`` answers 413 to a body larger than ``MAX_REQUEST_BYTES``, whether
  it announces its length or streams it.
- ``gateway.ratelimit.RateLimitMiddleware`` (innermost) answers 429 past the request rates.
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


class LoginSessionMiddleware:
    """Puts the member id of a login that still holds in ``scope[SCOPE_MEMBER_ID]``.

    One Redis GET per request that claims a login. A login ended (log out, leaving, erasure) or
    made for another Open Humans member is dropped from the cookie session: the browser is
    logged out (a login it has under way goes on).
    """

    def __init__(self, app: ASGIApp, *, redis_client: redis.asyncio.Redis) -> None:
        self.app = app
        self.redis = redis_client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[SCOPE_MEMBER_ID] = await self._member_id(scope.get("session"))
        await self.app(scope, receive, send)

    async def _member_id(self, session: dict[str, object] | None) -> int | None:
        if not session:
            return None
        claim = claimed_login(session)
        if claim is None:
            return None
        member_id, oh_member_id, session_id = claim
        try:
            record = await self.redis.get(keys.login_session(session_id))
        except redis.exceptions.RedisError as error:
            # Not known now, not ended either: the cookie is kept for when Redis is back.
            log.warning("login_session_unchecked", error=type(error).__name__)
            return None
        if record == login_record(member_id, oh_member_id).encode():
            return member_id
        end_login(session)
        if record == LEFT:  # the next page tells the browser why it was logged out
            session[LEFT_KEY] = True
        log.info("login_session_ended", member_id=member_id)
        return None


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
