"""Request rates of the gateway, counted in Redis across every gateway replica (``limits``).

Three budgets, each in a fixed window: logging in and the OAuth callbacks per client IP (a
login storm or a code-guessing loop), the status API and the dashboard's buttons per member
(a stuck polling tab), and every other page per client IP. Static files, probes and the Open
Humans webhook (signed, and sent once per leaving member) are not counted. Past a budget the
answer is 429 with ``Retry-After``. If Redis does not answer, requests are let through: the
rate limit protects the service, it must not take it down.

Behind a reverse proxy the client IP is the proxy's unless uvicorn trusts it
(``FORWARDED_ALLOW_IPS``, see the README).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.sessions import SCOPE_MEMBER_ID
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)

# Not counted: files, probes, and the webhook (authenticated by its signature instead).
EXEMPT_PREFIXES = ("/static/", "/healthz", "/readyz", "/webhooks/")
# Counted per IP against the login budget: starting a login and every OAuth callback.
LOGIN_PREFIXES = ("/login", "/auth/", "/github/connect")


@dataclass(frozen=True)
class Budget:
    name: str
    rate: RateLimitItem


def _budget(name: str, rate: str) -> Budget | None:
    return None if rate == "off" else Budget(name, parse(rate))


class RateLimits:
    """Which budget a request counts against, and whether it still has room."""

    def __init__(self, settings: Settings, storage: RedisStorage) -> None:
        self._limiter = FixedWindowRateLimiter(storage)
        self.login = _budget("login", settings.rate_limit_login)
        self.member = _budget("member", settings.rate_limit_member)
        self.ip = _budget("ip", settings.rate_limit_ip)

    def budget_of(self, scope: Scope) -> tuple[Budget, str] | None:
        """The budget and the identity (member id or client IP) a request counts against."""
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return None
        client = scope.get("client")
        ip = str(client[0]) if client else "unknown"
        if path.startswith(LOGIN_PREFIXES):
            return (self.login, ip) if self.login else None
        member_id = scope.get(SCOPE_MEMBER_ID)
        member_request = path.startswith("/api/") or scope["method"] == "POST"
        if member_request and isinstance(member_id, int):
            return (self.member, str(member_id)) if self.member else None
        return (self.ip, ip) if self.ip else None

    async def retry_after_s(self, budget: Budget, identity: str) -> int | None:
        """None while the budget has room (and count this request), else seconds to wait."""
        try:
            if await self._limiter.hit(budget.rate, budget.name, identity):
                return None
            stats = await self._limiter.get_window_stats(budget.rate, budget.name, identity)
        except Exception as error:  # Redis away: let the request through
            log.warning("rate_limit_unavailable", error=type(error).__name__)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))


class RateLimitMiddleware:
    """429 with ``Retry-After`` once a request's budget is spent (JSON under ``/api/``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: RateLimits,
        error_page: Callable[[Request, int], Awaitable[Response]],
    ) -> None:
        self.app = app
        self.limits = limits
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = self.limits.budget_of(scope) if scope["type"] == "http" else None
        retry_after_s = None if counted is None else await self.limits.retry_after_s(*counted)
        if counted is None or retry_after_s is None:
            await self.app(scope, receive, send)
            return
        budget, identity = counted
        log.info("rate_limited", budget=budget.name, path=scope["path"])
        request = Request(scope, receive)
        if scope["path"].startswith("/api/"):
            response: Response = JSONResponse(
                {"error": "too many requests", "retry_after_s": retry_after_s}, status_code=429
            )
        else:
            response = await self.error_page(request, retry_after_s)
        response.headers["Retry-After"] = str(retry_after_s)
        await response(scope, receive, send)
