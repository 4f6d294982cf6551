"""Per-request context: a request id and the member id bound to every log line, one JSON access
line per request (path only: query strings can carry OAuth codes), and the request metrics.
"""

from __future__ import annotations

import re
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.metrics import Metrics
from shared.logging import get_logger

log = get_logger("gateway.access")

# Sent with every response: no framing (clickjacking), no MIME sniffing, and no Referer to
# other sites (a callback URL carries an OAuth code).
SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
# A request id taken from a proxy's header must look like one (no log injection, bounded size).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Binds ``request_id``/``member_id`` for the request, logs it, counts it, and adds the
    request id and security headers to the response.

    Placed inside SessionMiddleware so the session (and the member id) is already decoded.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        offered = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex
        session = scope.get("session") or {}
        member_id = session.get("member_id")
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    *SECURITY_HEADERS,
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id, member_id=member_id):
            try:
                await self.app(scope, receive, send_with_id)
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
