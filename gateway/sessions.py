"""Login sessions: the signed cookie names a login, and Redis says whether that login still holds.

Starlette's SessionMiddleware signs the cookie but does not encrypt it, so nothing secret goes
in: the member's database id, a login session id, a CSRF token, flash messages, and authlib's
OAuth ``state`` while a login is under way. A cookie alone never proves who the browser is: the
login session id must still be in Redis (``shared.keys.login_session``) and name the same member
and Open Humans member id. Logging out or leaving the project deletes every login of the member,
so an old cookie can never open a dashboard again, not even one of a new member who got the same
database id.
"""

from __future__ import annotations

import hmac
import secrets

import redis
import structlog
from starlette.requests import Request

from shared import keys
from shared.db import Member

MEMBER_KEY = "member_id"
OH_MEMBER_KEY = "oh_member_id"
LOGIN_KEY = "login"
CSRF_KEY = "csrf"
FLASH_KEY = "flash"
CSRF_FIELD = "csrf_token"
# A login lasts two weeks; after that the member logs in with Open Humans again.
SESSION_MAX_AGE_S = 14 * 24 * 3600
# Session key kept after a login ended because its member left, until a page says so.
LEFT_KEY = "left"
# Where the login session middleware leaves the member id it checked, for the request's handlers.
SCOPE_MEMBER_ID = "ohgithub.member_id"


def login_record(member_id: int, oh_member_id: str) -> str:
    """What Redis holds for a login: the member and the Open Humans member it was made for."""
    return f"{member_id}:{oh_member_id}"


def start_login(client: redis.Redis, member: Member) -> str:
    """Record a new login of ``member`` in Redis; returns its session id."""
    session_id = secrets.token_urlsafe(32)
    members_set = keys.member_login_sessions(member.id)
    pipe = client.pipeline()
    pipe.set(
        keys.login_session(session_id),
        login_record(member.id, member.oh_member_id),
        ex=SESSION_MAX_AGE_S,
    )
    pipe.sadd(members_set, session_id)
    pipe.expire(members_set, SESSION_MAX_AGE_S)
    pipe.execute()
    return session_id


def log_in(request: Request, member: Member, session_id: str) -> None:
    """Start a fresh cookie session for the login ``session_id`` (new CSRF token, no leftovers)."""
    request.session.clear()
    request.session[MEMBER_KEY] = member.id
    request.session[OH_MEMBER_KEY] = member.oh_member_id
    request.session[LOGIN_KEY] = session_id
    request.session[CSRF_KEY] = secrets.token_urlsafe(32)
    request.scope[SCOPE_MEMBER_ID] = member.id


# What a login puts in the cookie session: ending the login removes these, and only these (an
# OAuth flow under way in the same browser keeps its state and completes).
LOGIN_KEYS = (MEMBER_KEY, OH_MEMBER_KEY, LOGIN_KEY, CSRF_KEY, FLASH_KEY)


def end_login(session: dict[str, object]) -> None:
    """Drop the login a cookie session claims, once the server ended it."""
    for key in LOGIN_KEYS:
        session.pop(key, None)


def log_out(request: Request) -> None:
    """Forget this browser's session (the login records are ended by the caller)."""
    request.session.clear()
    request.scope[SCOPE_MEMBER_ID] = None


def claimed_login(session: dict[str, object]) -> tuple[int, str, str] | None:
    """The (member id, Open Humans member id, login session id) a cookie session claims, if it
    is well formed."""
    member_id = session.get(MEMBER_KEY)
    oh_member_id, session_id = session.get(OH_MEMBER_KEY), session.get(LOGIN_KEY)
    if type(member_id) is int and isinstance(oh_member_id, str) and isinstance(session_id, str):
        return member_id, oh_member_id, session_id
    return None


def member_id_of(request: Request) -> int | None:
    """The logged-in member's id, as checked against Redis by the login session middleware."""
    value = request.scope.get(SCOPE_MEMBER_ID)
    if type(value) is not int:
        return None
    structlog.contextvars.bind_contextvars(member_id=value)
    return value


def left_the_project(request: Request) -> bool:
    """Whether this browser's login ended because its member left the project (told once)."""
    return request.session.pop(LEFT_KEY, False) is True


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
    # "replace": a submitted value that is not valid text can only fail to match, never raise.
    return hmac.compare_digest(expected.encode(), submitted.encode("utf-8", "replace"))


def flash(request: Request, message: str, *, category: str = "info") -> None:
    """A message shown once on the next page."""
    messages = list(request.session.get(FLASH_KEY, []))
    messages.append({"category": category, "message": message})
    request.session[FLASH_KEY] = messages[-5:]


def pop_flashes(request: Request) -> list[dict[str, str]]:
    messages = request.session.pop(FLASH_KEY, [])
    if not isinstance(messages, list):
        return []
    return [m for m in messages if isinstance(m, dict)]
