"""The member-facing pages: landing, dashboard (and its live fragments), and the POST actions.

Every POST form carries the session's CSRF token; a missing or wrong one gets a 400 page.
Database work runs in sync endpoints, which Starlette runs in its thread pool.

The dashboard is one template whose live part (``_live.html``: the headline and every card) is
also served alone at ``/dashboard/live``: the page's script fetches it when ``/api/status``
says the content changed, so that the whole page changes together when a sync ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from gateway import charts, members
from gateway.context import gateway_of
from gateway.errors import error_page
from gateway.forms import checked_form
from gateway.sessions import (
    CSRF_FIELD,
    csrf_token,
    flash,
    left_the_project,
    log_out,
    member_id_of,
    pop_flashes,
)
from gateway.status import format_size, sync_status
from shared.db import Member, utcnow
from shared.errors import DataSourceError, OpenHumansLoginNeeded
from shared.logging import get_logger
from shared.syncstate import SyncState

# Set in the session by "Delete my data": the dashboard confirms once the file is gone.
DELETION_PENDING_KEY = "deletion_pending"

log = get_logger(__name__)


def _logged_in_member(request: Request) -> Member | None:
    """The session's member, or None (and a cleared session) if they are gone.

    A member who is gone left the project on Open Humans, which erased everything held about
    them: the landing page says so once.
    """
    member_id = member_id_of(request)
    if member_id is None:
        if left_the_project(request):
            flash(
                request,
                "You left this project on Open Humans, so everything it held about you was "
                "erased. Your GitHub activity file on Open Humans is yours to keep or delete "
                "there.",
            )
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


def _chosen_year(request: Request, years: list[int]) -> int:
    """The ``year`` asked for if the history reaches it, else the latest year."""
    try:
        year = int(request.query_params.get("year", ""))
    except ValueError:
        return years[-1]
    return year if year in years else years[-1]


def _history_context(request: Request, member: Member, now: dt.datetime) -> dict[str, Any]:
    history = charts.parse_history(member.file_history)
    if history is None or member.state == SyncState.DELETING:
        return {"history": None}
    years = charts.years_of(history)
    year = _chosen_year(request, years)
    return {
        "history": history,
        "years": years,
        "heatmap": charts.heatmap(history, year, today=now.date()),
        "weekly": charts.weekly_chart(history),
        "totals": charts.year_totals(history),
        "preview": charts.preview_text(history),
    }


def _dashboard_context(request: Request, member: Member) -> dict[str, Any]:
    settings = gateway_of(request).settings
    now = utcnow()
    status = sync_status(
        member,
        now=now,
        cooldown_s=settings.sync_cooldown_s,
        stale_after_s=settings.stale_after_s,
    )
    deleted = False
    if request.session.get(DELETION_PENDING_KEY) and member.state != SyncState.DELETING:
        request.session.pop(DELETION_PENDING_KEY, None)
        deleted = member.state == SyncState.NEW and not member.coverage_first_week
    return {
        "member": member,
        "status": status,
        "file_size": format_size(member.file_size) if member.file_size else "",
        "filename": settings.openhumans_filename,
        "needs_reconnect": member.state == SyncState.NEEDS_RECONNECT,
        "needs_login": member.state == SyncState.NEEDS_LOGIN,
        "deleted": deleted,
        "csrf_field": CSRF_FIELD,
        "csrf_token": csrf_token(request),
        "logged_in": True,
        **_history_context(request, member, now),
    }


def dashboard(request: Request) -> Response:
    member = _logged_in_member(request)
    if member is None:
        return RedirectResponse("/", status_code=303)
    context = _dashboard_context(request, member)
    context["flashes"] = pop_flashes(request)
    return gateway_of(request).templates.TemplateResponse(request, "dashboard.html", context)


def dashboard_live(request: Request) -> Response:
    """The dashboard's live part alone, for the page's script; 401 once logged out."""
    member = _logged_in_member(request)
    if member is None:
        return Response(status_code=401)
    context = _dashboard_context(request, member)
    return gateway_of(request).templates.TemplateResponse(request, "_live.html", context)


def dashboard_heatmap(request: Request) -> Response:
    """One year's heatmap alone, for the year switcher's script."""
    member = _logged_in_member(request)
    if member is None:
        return Response(status_code=401)
    context = _history_context(request, member, utcnow())
    if context["history"] is None:
        return Response(status_code=404)
    return gateway_of(request).templates.TemplateResponse(request, "_heatmap.html", context)


def data_file(request: Request) -> Response:
    """ "View / download on Open Humans": a redirect to the file's fresh download URL there.

    Open Humans' download URLs live an hour, so one is asked for on each click (never on a
    page view); the file itself is served by Open Humans.
    """
    member = _logged_in_member(request)
    if member is None:
        return RedirectResponse("/", status_code=303)
    gateway = gateway_of(request)
    try:
        url = members.file_download_url(
            member.id,
            settings=gateway.settings,
            cipher=gateway.cipher,
            redis_client=gateway.redis,
        )
    except OpenHumansLoginNeeded:
        return RedirectResponse("/dashboard", status_code=303)  # it says "log in again"
    except DataSourceError as error:
        log.warning("file_download_url_failed", error_type=type(error).__name__)
        url = None
        failed = True
    else:
        failed = False
    if url is None:
        return error_page(
            request,
            status_code=503 if failed else 404,
            title="Your file is not available right now" if failed else "No file yet",
            message=(
                "Open Humans did not answer as expected. Please try again in a minute."
                if failed
                else "Your Open Humans account holds no GitHub activity file yet."
            ),
            link_url="/dashboard",
            link_label="Back to your dashboard",
        )
    return RedirectResponse(url, status_code=303)


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
    elif not await run_in_threadpool(members.request_sync, member):
        # Another press (this member's other tab, another gateway) queued a sync meanwhile.
        flash(request, "Sync not started: A sync is already under way.", category="warning")
    return RedirectResponse("/dashboard", status_code=303)


async def _forget(request: Request, action: Callable[..., None], done: str) -> Response | None:
    """A checked form that makes the member's data go away; None when it was done."""
    refused = await checked_form(request)
    if refused is not None:
        return refused
    member_id = member_id_of(request)
    if member_id is None:
        return RedirectResponse("/", status_code=303)
    await run_in_threadpool(action, member_id, redis_client=gateway_of(request).redis)
    flash(request, done)
    return None


async def github_disconnect(request: Request) -> Response:
    refused = await _forget(
        request,
        members.disconnect_github,
        "GitHub disconnected: its token and any data not yet uploaded were deleted. "
        "The file already in your Open Humans account stays there.",
    )
    return refused or RedirectResponse("/dashboard", status_code=303)


async def delete_data(request: Request) -> Response:
    refused = await _forget(
        request,
        members.delete_data,
        "GitHub is disconnected and your file is being deleted from your Open Humans account.",
    )
    if refused is not None:
        return refused
    request.session[DELETION_PENDING_KEY] = True
    return RedirectResponse("/dashboard", status_code=303)


ROUTES = [
    Route("/", landing, methods=["GET"]),
    Route("/dashboard", dashboard, methods=["GET"]),
    Route("/dashboard/live", dashboard_live, methods=["GET"]),
    Route("/dashboard/heatmap", dashboard_heatmap, methods=["GET"]),
    Route("/data/file", data_file, methods=["GET"]),
    Route("/sync", sync_now, methods=["POST"]),
    Route("/github/disconnect", github_disconnect, methods=["POST"]),
    Route("/data/delete", delete_data, methods=["POST"]),
]
