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


def forget_login_sessions(client: redis.Redis, *, member_id: int) -> int:
    """End every login session of the member (logging out, leaving); returns how many."""
    members_set = keys.member_login_sessions(member_id)
    session_ids = [raw.decode() for raw in client.smembers(members_set)]  # type: ignore[union-attr]
    found = [keys.login_session(session_id) for session_id in session_ids]
    client.delete(*found, members_set)
    return len(session_ids)
