"""The session holds only the member's id, a CSRF token and flash messages, never a token.

Starlette's SessionMiddleware signs the cookie but does not encrypt it, so nothing secret may go
in; authlib adds its OAuth ``state`` entries while a login is under way.
"""

from __future__ import annotations

import hmac
import secrets

import structlog
from starlette.requests import Request

MEMBER_KEY = "member_id"
CSRF_KEY = "csrf"
FLASH_KEY = "flash"
CSRF_FIELD = "csrf_token"


def member_id_of(request: Request) -> int | None:
    """The logged-in member's id from the session (and bound to the request's log lines)."""
    value = request.session.get(MEMBER_KEY)
    if not isinstance(value, int):
        return None
    structlog.contextvars.bind_contextvars(member_id=value)
    return value


def log_in(request: Request, member_id: int) -> None:
    """Start a fresh session for ``member_id`` (a new CSRF token, no leftovers)."""
    request.session.clear()
    request.session[MEMBER_KEY] = member_id
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use; every POST form carries it."""
    token = request.session.get(CSRF_KEY)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_KEY] = token
    return token


def csrf_valid(request: Request, submitted: object) -> bool:
    """Constant-time check of a submitted CSRF token against the session's."""
    expected = request.session.get(CSRF_KEY)
    if not isinstance(expected, str) or not expected or not isinstance(submitted, str):
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def flash(request: Request, message: str, *, category: str = "info") -> None:
    """A message shown once on the next page."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append({"category": category, "message": message})
    request.session[FLASH_KEY] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    messages: list[dict[str, str]] = request.session.pop(FLASH_KEY, [])
    return messages
