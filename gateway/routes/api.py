"""``GET /api/status``: the member's sync state as JSON, polled by the dashboard.

Its ``version`` must equal the one the dashboard was rendered with while nothing changed (the
page reloads its live part when they differ), so both call ``sync_status`` with the same
settings.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway import members
from gateway.context import gateway_of
from gateway.sessions import member_id_of
from gateway.status import sync_status
from shared.db import utcnow


def status(request: Request) -> Response:
    member_id = member_id_of(request)
    member = None if member_id is None else members.get_member(member_id)
    if member is None:
        return JSONResponse({"error": "not logged in"}, status_code=401)
    settings = gateway_of(request).settings
    body = sync_status(
        member,
        now=utcnow(),
        cooldown_s=settings.sync_cooldown_s,
        stale_after_s=settings.stale_after_s,
    ).as_json()
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


ROUTES = [Route("/api/status", status, methods=["GET"])]
