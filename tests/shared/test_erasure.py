"""Forgetting a member in Redis: whatever the writers stored about them, the eraser finds.

The writers are the real ones (rate limiter, ETag cache, sync progress, the busy marker), so a
key renamed in one place but not in the other fails here instead of leaking after "Delete my data".
"""

from __future__ import annotations

import datetime as dt

import redis

from fetcher.progress import Plan, SyncProgress
from shared import keys
from shared.erasure import forget_redis_state
from shared.github.client import EtagCache
from shared.github.ratelimit import RateLimiter
from shared.isoweek import IsoWeek

MEMBER_ID = 41
GITHUB_ID = 583231
OTHER_MEMBER_ID = 42
OTHER_GITHUB_ID = 999


def _write_everything(client: redis.Redis, member_id: int, github_id: int) -> None:
    limiter = RateLimiter(client)
    limiter.record(
        github_id,
        {
            "x-ratelimit-remaining": "10",
            "x-ratelimit-reset": "2000000000",
            "x-ratelimit-resource": "core",
        },
    )
    limiter.record(
        github_id,
        {
            "x-ratelimit-remaining": "9",
            "x-ratelimit-reset": "2000000000",
            "x-ratelimit-resource": "graphql",
        },
    )
    limiter.secondary_strike(github_id)
    EtagCache(client, github_id).put("https://api.github.test/user", None, '"e"', b"{}", "")
    progress = SyncProgress(client, member_id)
    week = IsoWeek.parse("2024-W18")
    progress.resume_or_start(Plan(first=week, last=week, fetched_at=dt.datetime.now(dt.UTC)))
    progress.save_page("owner/repo|a|b", 0, [], "https://api.github.test/next")
    client.set(keys.sync_pending(member_id), "1")


def test_every_key_written_about_a_member_is_forgotten(redis_client: redis.Redis) -> None:
    _write_everything(redis_client, MEMBER_ID, GITHUB_ID)
    _write_everything(redis_client, OTHER_MEMBER_ID, OTHER_GITHUB_ID)
    with RateLimiter(redis_client).serial(GITHUB_ID):  # the mutex, as a crashed request leaves it
        before = {key.decode() for key in redis_client.keys("*")}
        assert any(str(GITHUB_ID) in key for key in before)

        deleted = forget_redis_state(redis_client, member_id=MEMBER_ID, github_id=GITHUB_ID)

    left = {key.decode() for key in redis_client.keys("*")}
    assert deleted == len(before - left)
    about_member = [key for key in left if f":{MEMBER_ID}" in key or f":{GITHUB_ID}" in key]
    assert about_member == []
    # The other member keeps everything.
    assert any(f":{OTHER_GITHUB_ID}:" in key for key in left)
    assert keys.sync_progress(OTHER_MEMBER_ID) in left
    assert keys.sync_pending(OTHER_MEMBER_ID) in left


def test_a_member_without_github_loses_their_sync_keys_only(redis_client: redis.Redis) -> None:
    _write_everything(redis_client, MEMBER_ID, GITHUB_ID)

    forget_redis_state(redis_client, member_id=MEMBER_ID, github_id=None)

    left = {key.decode() for key in redis_client.keys("*")}
    assert keys.sync_progress(MEMBER_ID) not in left
    assert keys.sync_pending(MEMBER_ID) not in left
    assert any(f":{GITHUB_ID}:" in key for key in left)
