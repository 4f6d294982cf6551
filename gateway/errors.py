"""Friendly error pages: every failure a member can cause or meet ends on a page with a way back.

No traceback is ever shown; unexpected exceptions are logged (with the request id) and answered
with a plain 500 page.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.context import gateway_of
from gateway.sessions import member_id_of
from shared.logging import get_logger

log = get_logger(__name__)

# Without the database or Redis the normal page (which reads the session's member) may fail.
_FALLBACK_503 = (
    "<!doctype html><title>Temporarily unavailable</title><h1>Temporarily unavailable</h1>"
    "<p>Part of the service is not answering. Please try again in a minute.</p>"
    '<p><a href="/">Back to the start</a></p>'
)
_FALLBACK_500 = (
    "<!doctype html><title>Something went wrong</title><h1>Something went wrong</h1>"
    '<p>Please try again in a moment.</p><p><a href="/">Back to the start</a></p>'
)


def error_page(
    request: Request,
    *,
    status_code: int,
    title: str,
    message: str,
    link_url: str = "/",
    link_label: str = "Back to the start",
) -> Response:
    """Render ``error.html``: what went wrong in words and a link back."""
    templates = gateway_of(request).templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "title": title,
            "message": message,
            "link_url": link_url,
            "link_label": link_label,
            "logged_in": "session" in request.scope and member_id_of(request) is not None,
        },
        status_code=status_code,
    )


async def http_exception(request: Request, exc: Exception) -> Response:
    """404, 405 and other HTTP errors raised by routing, as pages (JSON under ``/api/``)."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    if exc.status_code == 404:
        return error_page(
            request,
            status_code=404,
            title="Page not found",
            message="There is no page at this address.",
        )
    return error_page(
        request, status_code=exc.status_code, title=str(exc.detail), message=str(exc.detail)
    )


async def too_many_requests(request: Request, retry_after_s: int) -> Response:
    """The page of a request past its rate (see ``gateway.ratelimit``)."""
    return error_page(
        request,
        status_code=429,
        title="Too many requests",
        message=f"Please wait {retry_after_s} seconds, then try again.",
    )


async def service_unavailable(request: Request, exc: Exception) -> Response:
    """The database or Redis does not answer: a 503 the member can retry, not a 500."""
    log.warning("dependency_unavailable", path=request.url.path, error=type(exc).__name__)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
    return HTMLResponse(_FALLBACK_503, status_code=503, headers={"Retry-After": "30"})


async def server_error(request: Request, exc: Exception) -> Response:
    """Unexpected exceptions: log them, show a page without any detail of the failure."""
    log.error("unhandled_exception", path=request.url.path, exc_info=exc)
    try:
        return error_page(
            request,
            status_code=500,
            title="Something went wrong",
            message="An unexpected error happened on our side. Please try again in a moment.",
        )
    except Exception:  # the page itself failed: fall back to a fixed one
        log.error("error_page_failed", exc_info=True)
        return HTMLResponse(_FALLBACK_500, status_code=500)
