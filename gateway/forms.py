"""The check every POST form of the gateway passes: the session's CSRF token."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import error_page
from gateway.sessions import CSRF_FIELD, csrf_valid


async def checked_form(request: Request) -> Response | None:
    """None when the POST carries the session's CSRF token, else a 400 page."""
    async with request.form() as form:
        submitted = form.get(CSRF_FIELD)
    if csrf_valid(request, submitted):
        return None
    return error_page(
        request,
        status_code=400,
        title="This form has expired",
        message="The page you sent this from is out of date. Please reload it and try again.",
        link_url="/dashboard",
        link_label="Back to your dashboard",
    )
