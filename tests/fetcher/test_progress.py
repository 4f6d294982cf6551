"""An unfinished sync's record in Redis: what it keeps, and what each write costs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import redis

from fetcher.progress import Plan, SyncProgress
from shared import keys
from shared.isoweek import IsoWeek

MEMBER = 7


def page(number: int) -> list[Any]:
    return [
        {
            "sha": f"{number:04d}{n:036d}",
            "repository": "o/r",
            "authored_at": "2024-01-01T00:00:00Z",
            "committed_at": "2024-01-01T00:00:00Z",
            "message": "A message of a realistic length, more or less",
            "url": f"https://github.com/o/r/commit/{number:03d}-{n:03d}",
        }
        for n in range(100)
    ]


def test_a_listing_is_kept_page_by_page_and_each_write_adds_one_page(
    redis_client: redis.Redis,
) -> None:
    progress = SyncProgress(redis_client, MEMBER)
    key = "o/r|2024-01-01T00:00:00Z|2024-12-29T23:59:59Z"
    assert progress.listing(key).pages == 0
    sizes = []
    for number in range(60):
        progress.save_page(key, number, page(number), f"https://api.github.test/next/{number:03d}")
        sizes.append(
            max(
                redis_client.hstrlen(keys.sync_progress(MEMBER), field)
                for field in redis_client.hkeys(keys.sync_progress(MEMBER))
            )
        )
    # No field grows with the listing: the 60th page costs what the first did.
    assert max(sizes) == sizes[0]
    read = progress.listing(key)
    assert (read.pages, read.finished) == (60, False)
    assert read.next_url == "https://api.github.test/next/059"
    assert [c["sha"] for c in read.commits] == [c["sha"] for n in range(60) for c in page(n)]
    progress.save_page(key, 60, [], None)
    assert progress.listing(key).finished


def test_answers_and_plan_survive_until_the_sync_clears_them(redis_client: redis.Redis) -> None:
    progress = SyncProgress(redis_client, MEMBER)
    plan = Plan(IsoWeek(2024, 1), IsoWeek(2024, 9), dt.datetime(2024, 3, 1, tzinfo=dt.UTC))
    assert progress.resume_or_start(plan) == plan
    progress.remember("period:x", {"user": None})
    later = Plan(IsoWeek(2024, 5), IsoWeek(2024, 9), dt.datetime(2024, 3, 2, tzinfo=dt.UTC))
    assert progress.resume_or_start(later) == plan  # continued, with what it had read
    assert progress.recall("period:x") == {"user": None}
    assert redis_client.ttl(keys.sync_progress(MEMBER)) > 0
    progress.clear()
    assert progress.recall("period:x") is None and progress.stored_plan() is None
