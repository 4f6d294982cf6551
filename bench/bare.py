"""A bare Starlette app, the yardstick of the gateway load run: ``python -m bench.bare PORT``.

Served by uvicorn with the gateway's own settings (``gateway.__main__``); its two routes answer
bodies of the sizes the bench gives (BARE_DASHBOARD_BYTES, BARE_STATUS_BYTES) from memory, with
no session, database, template, logging or metrics. They are synchronous endpoints, run in the
thread pool as the gateway's are; with BARE_ASYNC set they are asynchronous instead
(``bench.gateway_parts`` measures both).
"""

from __future__ import annotations

import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


def create_app(*, dashboard_bytes: int, status_bytes: int, asynchronous: bool = False) -> Starlette:
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
        ]
    )


def main() -> None:
    app = create_app(
        dashboard_bytes=int(os.environ.get("BARE_DASHBOARD_BYTES", "4000")),
        status_bytes=int(os.environ.get("BARE_STATUS_BYTES", "600")),
        asynchronous=bool(os.environ.get("BARE_ASYNC")),
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
