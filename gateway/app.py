"""The gateway's Starlette app, built explicitly by ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates

from gateway import members
from gateway.context import Gateway
from gateway.errors import http_exception, server_error
from gateway.metrics import Metrics
from gateway.middleware import RequestContextMiddleware
from gateway.oauth_clients import build_oauth
from gateway.routes import routes
from shared import runtime
from shared.db import close_database
from shared.logging import get_logger
from shared.queues import setup_broker
from shared.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# A login session lasts two weeks; after that the member logs in with Open Humans again.
SESSION_MAX_AGE_S = 14 * 24 * 3600
SESSION_COOKIE = "ohgithub_session"
# Threads running sync endpoints and database work (anyio's default, made explicit): the
# database pool gets one connection per thread, so no request waits for a connection.
THREADS = 40

log = get_logger(__name__)


def create_app(settings: Settings | None = None) -> Starlette:
    """Configure logging, the database and the broker from ``settings`` and build the app."""
    settings = settings or Settings.from_env()
    started = runtime.start("gateway", settings, database_pool=THREADS)
    setup_broker(settings.redis_url)
    metrics = Metrics(count_by_state=members.count_by_state)
    gateway = Gateway(
        settings=settings,
        cipher=started.cipher,
        redis=started.redis,
        oauth=build_oauth(settings),
        templates=Jinja2Templates(directory=TEMPLATES_DIR),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        for problem in settings.production_problems():
            log.warning("insecure_setting", problem=problem)
        log.info("gateway_started", base_url=settings.app_base_url)
        yield
        gateway.redis.close()
        close_database()

    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=settings.secret_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE_S,
                same_site="lax",  # the OAuth callbacks are top-level GETs from another site
                https_only=settings.app_base_url.startswith("https://"),
            ),
            Middleware(RequestContextMiddleware, metrics=metrics),
        ],
        exception_handlers={HTTPException: http_exception, Exception: server_error},
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app
