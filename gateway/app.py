"""The gateway's Starlette app, built explicitly by ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import jinja2
import peewee
import redis
import redis.asyncio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.templating import Jinja2Templates

from gateway import members
from gateway.context import Gateway
from gateway.errors import http_exception, server_error, service_unavailable, too_many_requests
from gateway.metrics import Metrics
from gateway.middleware import (
    BodySizeLimitMiddleware,
    LoginSessionMiddleware,
    RequestContextMiddleware,
)
from gateway.oauth_clients import build_oauth
from gateway.ratelimit import RateLimitMiddleware, RateLimits
from gateway.routes import routes
from gateway.sessions import SESSION_MAX_AGE_S
from shared import runtime
from shared.db import close_database
from shared.logging import get_logger
from shared.queues import setup_broker
from shared.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "ohgithub_session"
# Threads running sync endpoints and database work (anyio's default, made explicit): the
# database pool gets one connection per thread, so no request waits for a connection.
THREADS = 40

log = get_logger(__name__)


def _templates(settings: Settings) -> Jinja2Templates:
    """Jinja templates whose ``url_for`` gives paths under APP_BASE_URL, never built from the
    request's Host header (which the client chooses)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(),
        # Templates are loaded once, as the code is: by default Jinja checks each template
        # file's mtime whenever a page uses it (seven lookups a dashboard, 19 µs against 4 µs,
        # each a system call that hands the GIL to another of the gateway's threads).
        auto_reload=False,
    )
    templates = Jinja2Templates(env=environment)
    base_path = urlsplit(settings.app_base_url).path.rstrip("/")

    @jinja2.pass_context
    def url_for(context: dict[str, Any], name: str, /, **path_params: Any) -> str:
        app: Starlette = context["request"].app
        return base_path + str(app.url_path_for(name, **path_params))

    templates.env.globals["url_for"] = url_for
    return templates


def create_app(settings: Settings | None = None) -> Starlette:
    """Configure logging, the database and the broker from ``settings`` and build the app."""
    settings = settings or Settings.from_env()
    started = runtime.start("gateway", settings, database_pool=THREADS)
    setup_broker(settings.redis_url)
    metrics = Metrics(count_by_state=members.count_by_state)
    # The event loop's own Redis client: login checks and request counts never block it.
    # Unlike the blocking client, the asyncio one does not retry a pooled connection that a
    # Redis restart left dead: without this, each such connection fails one request (a login
    # check that fails keeps a stale cookie, whose next check then wipes the OAuth state).
    async_redis = redis.asyncio.Redis.from_url(
        settings.redis_url, retry_on_error=[redis.exceptions.ConnectionError]
    )
    rate_limits = RateLimits(settings)
    gateway = Gateway(
        settings=settings,
        cipher=started.cipher,
        redis=started.redis,
        oauth=build_oauth(settings),
        templates=_templates(settings),
        metrics=metrics,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        for problem in settings.production_problems():
            log.warning("insecure_setting", problem=problem)
        log.info("gateway_started", base_url=settings.app_base_url)
        yield
        await async_redis.aclose()
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
                https_only=settings.uses_https,
            ),
            Middleware(LoginSessionMiddleware, redis_client=async_redis, limits=rate_limits),
            Middleware(RequestContextMiddleware, metrics=metrics, settings=settings),
            Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_bytes),
            Middleware(RateLimitMiddleware, error_page=too_many_requests),
        ],
        exception_handlers={
            HTTPException: http_exception,
            redis.exceptions.ConnectionError: service_unavailable,
            redis.exceptions.TimeoutError: service_unavailable,
            peewee.OperationalError: service_unavailable,
            peewee.InterfaceError: service_unavailable,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.state.gateway = gateway
    return app
