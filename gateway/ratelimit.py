"""Request rates of the gateway, counted in Redis across every gateway replica.

Three budgets, each in a fixed window that opens with its first request: logging in and the
OAuth callbacks per client IP (a login storm or a code-guessing loop), the status API and the
dashboard's buttons per member (a stuck polling tab), and every other page per client IP. Static
files, probes and the Open Humans webhook (signed, and sent once per leaving member) are not
counted. Past a budget the answer is 429 with ``Retry-After``. If Redis does not answer, requests
are let through: the rate limit protects the service, it must not take it down.

A request is counted by the same Redis script that checks its login
(``gateway.middleware.LoginSessionMiddleware``): one round trip per request instead of two, and
the count goes to the member's budget only if the login holds. The rates are written as the
``limits`` library parses them (``30/minute``); the counting is the script's.

Behind a reverse proxy the client IP is the proxy's unless uvicorn trusts it
(``FORWARDED_ALLOW_IPS``, see the README).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from limits import parse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared import keys
from shared.logging import get_logger
from shared.settings import Settings

log = get_logger(__name__)

# Not counted: files, probes, and the webhook (authenticated by its signature instead).
EXEMPT_PREFIXES = ("/static/", "/healthz", "/readyz", "/webhooks/")
# Counted per IP against the login budget: starting a login and every OAuth callback.
LOGIN_PREFIXES = ("/login", "/auth/", "/github/connect")
# Where the login session middleware leaves, for a request over its budget, the budget's name
# and the seconds to wait.
SCOPE_OVER_BUDGET = "ohgithub.over_budget"


@dataclass(frozen=True)
class Budget:
    name: str
    amount: int
    window_s: int


@dataclass(frozen=True)
class Counter:
    """One identity's count in one budget: its Redis key, and how many requests it allows."""

    budget: str
    key: str
    amount: int
    window_s: int


def _budget(name: str, rate: str) -> Budget | None:
    if rate == "off":
        return None
    item = parse(rate)
    return Budget(name, item.amount, int(item.get_expiry()))


class RateLimits:
    """Which counter a request counts against, depending on whether its login holds."""

    def __init__(self, settings: Settings) -> None:
        self.login = _budget("login", settings.rate_limit_login)
        self.member = _budget("member", settings.rate_limit_member)
        self.ip = _budget("ip", settings.rate_limit_ip)

    def counters_of(
        self, scope: Scope, claimed_member_id: int | None
    ) -> tuple[Counter | None, Counter | None]:
        """(the counter if the claimed login holds, the counter if it does not)."""
        path: str = scope["path"]
        if path.startswith(EXEMPT_PREFIXES):
            return None, None
        client = scope.get("client")
        ip = str(client[0]) if client else "unknown"
        if path.startswith(LOGIN_PREFIXES):
            login = _counter(self.login, ip)
            return login, login
        by_ip = _counter(self.ip, ip)
        member_request = path.startswith("/api/") or scope["method"] == "POST"
        if member_request and claimed_member_id is not None:
            return _counter(self.member, str(claimed_member_id)), by_ip
        return by_ip, by_ip


def _counter(budget: Budget | None, identity: str) -> Counter | None:
    if budget is None:
        return None
    key = f"{keys.HTTP_RATE_LIMIT_PREFIX}:{budget.name}:{budget.window_s}:{identity}"
    return Counter(budget.name, key, budget.amount, budget.window_s)


class RateLimitMiddleware:
    """429 with ``Retry-After`` for a request the login check found over its budget (JSON under
    ``/api/``). Innermost, so that the answer is logged and carries the usual headers."""

    def __init__(
        self, app: ASGIApp, *, error_page: Callable[[Request, int], Awaitable[Response]]
    ) -> None:
        self.app = app
        self.error_page = error_page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        over_budget: tuple[str, int] | None = scope.get(SCOPE_OVER_BUDGET)
        if over_budget is None:
            await self.app(scope, receive, send)
            return
        budget, retry_after_s = over_budget
        log.info("rate_limited", budget=budget, path=scope["path"])
        request = Request(scope, receive)
        if scope["path"].startswith("/api/"):
            response: Response = JSONResponse(
                {"error": "too many requests", "retry_after_s": retry_after_s}, status_code=429
            )
        else:
            response = await self.error_page(request, retry_after_s)
        response.headers["Retry-After"] = str(retry_after_s)
        await response(scope, receive, send)
