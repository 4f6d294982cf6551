"""Every Redis key the project writes, in one place: writers and the eraser use the same names.

A key added here that holds a member's data must also be returned by ``member_keys`` or
``github_user_patterns``, so that "Delete my data", disconnecting and leaving the project
forget it (``shared.erasure``); ``tests/shared/test_erasure.py`` checks that every writer's keys
are found by the eraser.
"""

from __future__ import annotations

# Prefix of every key (Dramatiq's queues use it too, see shared.queues).
NAMESPACE = "ohgithub"


# ---- per member (project member id) -----------------------------------------------------------


def sync_lock(member_id: int) -> str:
    """Held by the fetcher running the member's sync (renewed while it works)."""
    return f"{NAMESPACE}:sync:{member_id}"


def sync_pending(member_id: int) -> str:
    """Set while a busy member's sync is re-sent for later, so only one re-send is pending."""
    return f"{NAMESPACE}:sync-pending:{member_id}"


def sync_progress(member_id: int) -> str:
    """What an unfinished sync has read so far (plan, contributions, commit listings)."""
    return f"{NAMESPACE}:sync-progress:{member_id}"


def upload_lock(member_id: int) -> str:
    """Held by the uploader writing or deleting the member's file."""
    return f"{NAMESPACE}:upload:{member_id}"


def openhumans_token_lock(member_id: int) -> str:
    """Held while the member's Open Humans token is refreshed (the refresh token rotates)."""
    return f"{NAMESPACE}:oh-token:{member_id}"


def member_login_sessions(member_id: int) -> str:
    """The set of the member's login session ids (logging out or leaving ends them all)."""
    return f"{NAMESPACE}:login-sessions:{member_id}"


def member_keys(member_id: int) -> list[str]:
    """The member's keys that hold data or state to forget when they leave."""
    return [sync_progress(member_id), sync_pending(member_id)]


# ---- per GitHub user (GitHub account id) ------------------------------------------------------


def etag_prefix(github_id: int, *, namespace: str = NAMESPACE) -> str:
    """Cached GitHub responses (ETag and body) of the user: this prefix, then a hash."""
    return f"{namespace}:etag:{github_id}:"


def rate_limit(github_id: int, resource: str, *, namespace: str = NAMESPACE) -> str:
    """The user's budget for one GitHub resource, as GitHub last reported it."""
    return f"{namespace}:ratelimit:{github_id}:{resource}"


def secondary_strikes(github_id: int, *, namespace: str = NAMESPACE) -> str:
    """How many secondary limits the user met in the last hour."""
    return f"{namespace}:secondary:{github_id}"


def github_user_mutex(github_id: int, *, namespace: str = NAMESPACE) -> str:
    """Held for one request, so one user's requests are serial across every fetcher."""
    return f"{namespace}:github-user:{github_id}:mutex"


def github_user_patterns(github_id: int) -> list[str]:
    """``SCAN`` patterns matching every key held about a GitHub user."""
    return [
        etag_prefix(github_id) + "*",
        rate_limit(github_id, "*"),
        secondary_strikes(github_id),
        github_user_mutex(github_id),
    ]


def rate_limit_pattern(*, namespace: str = NAMESPACE) -> str:
    """``SCAN`` pattern of every GitHub user's budgets (read by the operator CLI)."""
    return f"{namespace}:ratelimit:*"


# ---- fleet-wide -------------------------------------------------------------------------------


def scheduler_tick() -> str:
    """Taken by the scheduler replica that ticks in this interval."""
    return f"{NAMESPACE}:scheduler:tick"


def redis_data_marker() -> str:
    """Written once, never expiring: only Redis losing its data (a restart without persistence,
    a flush, an empty replica promoted) removes it, which tells the scheduler to re-send syncs."""
    return f"{NAMESPACE}:redis-data-marker"


def login_session(session_id: str) -> str:
    """One login: which member (and Open Humans member id) the browser holding it is."""
    return f"{NAMESPACE}:login-session:{session_id}"


def webhook_delivery(digest: str) -> str:
    """A webhook delivery already acted on (its signature's digest), so a replay is refused."""
    return f"{NAMESPACE}:webhook-seen:{digest}"


# Prefix of the gateway's request counters (per client IP or member, one short window each).
HTTP_RATE_LIMIT_PREFIX = f"{NAMESPACE}:http-rate"


# ---- Dramatiq's queues (its Redis broker's layout, read by the operator CLI) -----------------


def queue_ready(queue: str) -> str:
    """List of the ids of the queue's messages waiting for a worker."""
    return f"{NAMESPACE}:{queue}"


def queue_messages(queue: str) -> str:
    """Hash of the queue's messages not yet acknowledged: waiting ones and those being worked."""
    return f"{NAMESPACE}:{queue}.msgs"


def delayed_messages(queue: str) -> str:
    """Hash of the queue's delayed messages (rate-limit waits, retries after a failure)."""
    return f"{NAMESPACE}:{queue}.DQ.msgs"


def dead_messages(queue: str) -> str:
    """Hash of the queue's dead-lettered messages (out of retries)."""
    return f"{NAMESPACE}:{queue}.XQ.msgs"
