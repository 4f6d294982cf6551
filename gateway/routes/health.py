"""Probes: ``/healthz`` (the process answers), ``/readyz`` (database and Redis answer).

Metrics are not here: they are served on their own port (GATEWAY_METRICS_PORT), so that they
are never public.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.context import gateway_of
from shared.db import connection, db
from shared.logging import get_logger

log = get_logger(__name__)


def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        with connection():
            db.execute_sql("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure means "not ready"; the probe must not crash
        log.warning("readyz_database_failed", error=type(error).__name__)
        checks["database"] = "unavailable"
    try:
        gateway_of(request).redis.ping()
        checks["redis"] = "ok"
    except Exception as error:
        log.warning("readyz_redis_failed", error=type(error).__name__)
        checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
