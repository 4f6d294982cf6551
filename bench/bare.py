"""A bare Starlette app, the yardstick of the gateway load run: ``python -m bench.bare PORT``.

Served by uvicorn with the gateway's own settings (``gateway.__main__``); its two routes answer
bodies of the sizes the bench gives (BARE_DASHBOARD_BYTES, BARE_STATUS_BYTES) from memory, with
no session, database, template, logging or metrics. They are synchronous endpoints, run in the
thread pool as the gateway's are; with BARE_ASYNC set they are asynchronous instead
(``bench.gateway_parts`` measures both).

With BARE_LOGIN_CHECK_REDIS_URL set, every request also runs the gateway's login check and rate
count (``gateway.middleware.LOGIN_CHECK_SCRIPT``, one Redis round trip through redis-py's asyncio
client, as the gateway's middleware does): the least any gateway does whose logins can be ended
from another process at once.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.middleware import LOGIN_CHECK_SCRIPT


class LoginCheckOnly:
    """Runs the gateway's login check script once per request, with fixed keys, and nothing
    else."""

    def __init__(self, app: ASGIApp, *, redis_url: str) -> None:
        import redis.asyncio

        self.app = app
        self.check = redis.asyncio.Redis.from_url(redis_url).register_script(LOGIN_CHECK_SCRIPT)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            keys = ["bench:bare:login", "bench:bare:member", "bench:bare:ip"]
            await self.check(keys=keys, args=["1:bare", 60, 60])
        await self.app(scope, receive, send)


def create_app(
    *,
    dashboard_bytes: int,
    status_bytes: int,
    asynchronous: bool = False,
    login_check_redis_url: str = "",
) -> Starlette:
    page = "<!doctype html>" + "x" * max(0, dashboard_bytes - 15)
    status = {"state": "done", "detail": "y" * max(0, status_bytes - 30)}

    def dashboard(request: Request) -> Response:
        return HTMLResponse(page)

    def api_status(request: Request) -> Response:
        return JSONResponse(status, headers={"Cache-Control": "no-store"})

    async def dashboard_async(request: Request) -> Response:
        return dashboard(request)

    async def api_status_async(request: Request) -> Response:
        return api_status(request)

    endpoints = (dashboard_async, api_status_async) if asynchronous else (dashboard, api_status)
    return Starlette(
        routes=[
            Route("/dashboard", endpoints[0], methods=["GET"]),
            Route("/api/status", endpoints[1], methods=["GET"]),
        ],
        middleware=[Middleware(LoginCheckOnly, redis_url=login_check_redis_url)]
        if login_check_redis_url
        else [],
    )


def main() -> None:
    app = create_app(
        dashboard_bytes=int(os.environ.get("BARE_DASHBOARD_BYTES", "4000")),
        status_bytes=int(os.environ.get("BARE_STATUS_BYTES", "600")),
        asynchronous=bool(os.environ.get("BARE_ASYNC")),
        login_check_redis_url=os.environ.get("BARE_LOGIN_CHECK_REDIS_URL", ""),
    )
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


if __name__ == "__main__":
    main()
