"""The member-facing pages: landing, dashboard, and the dashboard's POST actions.

Every POST form carries the session's CSRF token; a missing or wrong one gets a 400 page.
Database work runs in sync endpoints, which Starlette runs in its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import members
from gateway.context import gateway_of
from gateway.forms import checked_form
from gateway.sessions import (
    CSRF_FIELD,
    csrf_token,
    flash,
    log_out,
    member_id_of,
    pop_flashes,
)
from gateway.status import format_size, sync_status
from shared.db import Member, utcnow
from shared.syncstate import SyncState


def _logged_in_member(request: Request) -> Member | None:
    """The session's member, or None (and a cleared session) if they are gone."""
    member_id = member_id_of(request)
    if member_id is None:
        return None
    member = members.get_member(member_id)
    if member is None:
        log_out(request)
    return member


def landing(request: Request) -> Response:
    if _logged_in_member(request) is not None:
        return RedirectResponse("/dashboard", status_code=303)
    return gateway_of(request).templates.TemplateResponse(
        request, "landing.html", {"flashes": pop_flashes(request), "logged_in": False}
    )


def dashboard(request: Request) -> Response:
    member = _logged_in_member(request)
    if member is None:
        return RedirectResponse("/", status_code=303)
    settings = gateway_of(request).settings
    status = sync_status(member, now=utcnow(), cooldown_s=settings.sync_cooldown_s)
    return gateway_of(request).templates.TemplateResponse(
        request,
        "dashboard.html",
        {
            "member": member,
            "status": status,
            "file_size": format_size(member.file_size) if member.file_size else "",
            "needs_reconnect": member.sync_state == SyncState.NEEDS_RECONNECT,
            "needs_login": member.sync_state == SyncState.NEEDS_LOGIN,
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_token(request),
            "flashes": pop_flashes(request),
            "logged_in": True,
        },
    )


async def sync_now(request: Request) -> Response:
    refused = await checked_form(request)
    if refused is not None:
        return refused
    member = await run_in_threadpool(_logged_in_member, request)
    if member is None:
        return RedirectResponse("/", status_code=303)
    settings = gateway_of(request).settings
    status = sync_status(member, now=utcnow(), cooldown_s=settings.sync_cooldown_s)
    if not status.can_sync_now:
        flash(request, f"Sync not started: {status.sync_blocked_reason}", category="warning")
    else:
        await run_in_threadpool(members.request_sync, member)
        flash(request, "Sync queued.")
    return RedirectResponse("/dashboard", status_code=303)


async def _forget(request: Request, action: Callable[..., None], done: str) -> Response:
    """A checked form that makes the member's data go away, then back to the dashboard."""
    refused = await checked_form(request)
    if refused is not None:
        return refused
    member_id = member_id_of(request)
    if member_id is None:
        return RedirectResponse("/", status_code=303)
    await run_in_threadpool(action, member_id, redis_client=gateway_of(request).redis)
    flash(request, done)
    return RedirectResponse("/dashboard", status_code=303)


async def github_disconnect(request: Request) -> Response:
    return await _forget(
        request,
        members.disconnect_github,
        "GitHub disconnected: its token and any data not yet uploaded were deleted. "
        "The file already in your Open Humans account stays there.",
    )


async def delete_data(request: Request) -> Response:
    return await _forget(
        request,
        members.delete_data,
        "GitHub disconnected and your file is being deleted from your Open Humans account. "
        "You can connect GitHub again at any time.",
    )


ROUTES = [
    Route("/", landing, methods=["GET"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/sync", sync_now, methods=["POST"]),
    Route("/github/disconnect", github_disconnect, methods=["POST"]),
    Route("/data/delete", delete_data, methods=["POST"]),
]
