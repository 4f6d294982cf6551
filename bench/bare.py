"""A bare Starlette app, the yardstick of the gateway load run: ``python -m bench.bare PORT``.

Served by uvicorn with the gateway's own settings (``gateway.__main__``); its two routes answer
bodies of the sizes the bench gives (BARE_DASHBOARD_BYTES, BARE_STATUS_BYTES) from memory, with
no session, database, template, logging or metrics.
"""

from __future__ import annotations

import os
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route


def create_app(*, dashboard_bytes: int, status_bytes: int) -> Starlette:
    page = "<!doctype html>" + "x" * max(0, dashboard_bytes - 15)
    status = {"state": "done", "detail": "y" * max(0, status_bytes - 30)}

    def dashboard(request: Request) -> Response:
        return HTMLResponse(page)

    def api_status(request: Request) -> Response:
        return JSONResponse(status, headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/dashboard", dashboard, methods=["GET"]),
            Route("/api/status", api_status, methods=["GET"]),
        ]
    )


def main() -> None:
    app = create_app(
        dashboard_bytes=int(os.environ.get("BARE_DASHBOARD_BYTES", "4000")),
        status_bytes=int(os.environ.get("BARE_STATUS_BYTES", "600")),
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
