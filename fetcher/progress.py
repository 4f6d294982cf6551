"""What an unfinished sync has read so far, kept in Redis across rate-limit waits.

A resumed sync follows the same plan as the run it continues (same periods, same commit
listings), takes each period's contribution data and each listing already read from here, and
continues a half-read listing from the next page GitHub gave. Without this record, a sync that
waits would read again after every reset what it had read before, and one whose first period
needs more than a budget would never finish.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import redis

from fetcher.contributions import PeriodContributions
from shared import keys
from shared.activity import Commit, parse_timestamp, utc_timestamp
from shared.isoweek import IsoWeek

# Kept long enough to outlive any wait for GitHub (an hour) with a wide margin.
PROGRESS_TTL_S = 2 * 86400


@dataclasses.dataclass(frozen=True)
class Plan:
    """The weeks a sync set out to fetch, and GitHub's time when it started."""

    first: IsoWeek
    last: IsoWeek
    fetched_at: dt.datetime


def listing_key(repository: str, since: str, until: str) -> str:
    """A listing is the same listing only with the same repository and time range."""
    return f"{repository}|{since}|{until}"


class SyncProgress:
    """One member's unfinished sync: its plan, its periods' contributions, its listings."""

    def __init__(self, client: redis.Redis, member_id: int) -> None:
        self._redis = client
        self._key = keys.sync_progress(member_id)

    def _get(self, field: str) -> Any:
        raw = self._redis.hget(self._key, field)
        return None if raw is None else json.loads(raw)

    def _set(self, field: str, value: Any, *, delete: str | None = None) -> None:
        pipe = self._redis.pipeline()
        pipe.hset(self._key, field, json.dumps(value))
        if delete:
            pipe.hdel(self._key, delete)
        pipe.expire(self._key, PROGRESS_TTL_S)
        pipe.execute()

    def resume_or_start(self, plan: Plan) -> Plan:
        """The unfinished plan this sync continues, or ``plan`` recorded as a new one.

        An unfinished plan is continued when it started at or before ``plan.first`` (weeks it
        staged since are simply not staged again) and ends in the same week.
        """
        stored = self._get("plan")
        if stored is not None:
            earlier = Plan(
                first=IsoWeek.parse(stored["first"]),
                last=IsoWeek.parse(stored["last"]),
                fetched_at=parse_timestamp(stored["fetched_at"]),
            )
            if earlier.first <= plan.first and earlier.last == plan.last:
                return earlier
        self.clear()
        record = {
            "first": str(plan.first),
            "last": str(plan.last),
            "fetched_at": utc_timestamp(plan.fetched_at),
        }
        self._set("plan", record)
        return plan

    def period(self, index: int) -> PeriodContributions | None:
        stored = self._get(f"period:{index}")
        return None if stored is None else PeriodContributions(**stored)

    def save_period(self, index: int, contributions: PeriodContributions) -> None:
        self._set(f"period:{index}", dataclasses.asdict(contributions))

    def done(self, key: str) -> list[Commit] | None:
        stored = self._get(f"done:{key}")
        return None if stored is None else list(stored)

    def partial(self, key: str) -> tuple[str, list[Commit]] | None:
        """The next page's URL and the commits read before it, for a half-read listing."""
        stored = self._get(f"partial:{key}")
        return None if stored is None else (str(stored["next_url"]), list(stored["commits"]))

    def save_partial(self, key: str, next_url: str, commits: list[Commit]) -> None:
        self._set(f"partial:{key}", {"next_url": next_url, "commits": commits})

    def save_done(self, key: str, commits: list[Commit]) -> None:
        self._set(f"done:{key}", commits, delete=f"partial:{key}")

    def clear(self) -> None:
        """The sync finished (everything read is staged) or its plan no longer applies."""
        self._redis.delete(self._key)
