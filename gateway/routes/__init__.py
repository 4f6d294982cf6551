"""The gateway's routes, one module per concern; ``routes()`` lists them all for the app."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from gateway.routes import api, health, oauth, pages, webhooks

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def routes() -> list[BaseRoute]:
    return [
        *pages.ROUTES,
        *oauth.ROUTES,
        *api.ROUTES,
        *webhooks.ROUTES,
        *health.ROUTES,
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
    ]
