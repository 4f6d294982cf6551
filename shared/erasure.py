"""What the project keeps in Redis about a member, and how to forget it.

Disconnecting GitHub and leaving the project (deauthorization) must leave nothing behind:
besides the database rows, Redis holds an unfinished sync's progress (commits read so far),
cached GitHub response bodies (ETags), and the GitHub user's rate-limit state.
"""

from __future__ import annotations

import redis

NAMESPACE = "ohgithub"


def forget_redis_state(client: redis.Redis, *, member_id: int, github_id: int | None) -> int:
    """Delete every Redis key holding the member's data; returns how many were deleted."""
    keys: list[bytes | str] = [f"{NAMESPACE}:sync-progress:{member_id}"]
    if github_id is not None:
        keys.append(f"{NAMESPACE}:secondary:{github_id}")
        for pattern in (f"{NAMESPACE}:etag:{github_id}:*", f"{NAMESPACE}:ratelimit:{github_id}:*"):
            keys.extend(client.scan_iter(match=pattern, count=1000))
    return int(client.delete(*keys))
