"""What the project keeps in Redis about a member, and how to forget it.

Disconnecting GitHub and leaving the project (deauthorization) must leave nothing behind:
besides the database rows, Redis holds an unfinished sync's progress (commits read so far),
cached GitHub response bodies (ETags), and the GitHub user's rate-limit state. The key names
come from ``shared.keys``, the module every writer uses.
"""

from __future__ import annotations

import redis

from shared import keys


def forget_redis_state(client: redis.Redis, *, member_id: int, github_id: int | None) -> int:
    """Delete every Redis key holding the member's data; returns how many were deleted."""
    found: list[bytes | str] = list(keys.member_keys(member_id))
    if github_id is not None:
        for pattern in keys.github_user_patterns(github_id):
            found.extend(client.scan_iter(match=pattern, count=1000))
    return int(client.delete(*found))


def forget_and_stop_sync(client: redis.Redis, *, member_id: int, github_id: int | None) -> None:
    """Forget the member's Redis state and take their sync lock from the fetcher holding it, if
    any: its next renewal finds the lock gone (``shared.locks``) and the sync stops before its
    next GitHub request.

    Called once the member's row or GitHub token is gone (committed): a sync that writes to
    Redis meanwhile either wrote before this, or finds the member gone when it ends and forgets
    its writes itself (``fetcher.sync``).
    """
    forget_redis_state(client, member_id=member_id, github_id=github_id)
    client.delete(keys.sync_lock(member_id))


# What an ended login of a member who left holds instead of the member: nothing about them,
# just enough for their browser to be told once why it was logged out.
LEFT = b"left"


def forget_login_sessions(
    client: redis.Redis, *, member_id: int, left_for_s: int | None = None
) -> int:
    """End every login session of the member; returns how many.

    Logging out deletes them. Leaving (``left_for_s``) replaces each with ``LEFT`` for that
    long, so that the browser that comes back is told it left rather than simply logged out.
    """
    members_set = keys.member_login_sessions(member_id)
    session_ids = [raw.decode() for raw in client.smembers(members_set)]  # type: ignore[union-attr]
    pipe = client.pipeline()
    for session_id in session_ids:
        if left_for_s:
            pipe.set(keys.login_session(session_id), LEFT, ex=left_for_s)
        else:
            pipe.delete(keys.login_session(session_id))
    pipe.delete(members_set)
    pipe.execute()
    return len(session_ids)
