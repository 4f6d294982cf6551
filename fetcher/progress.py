"""What an unfinished sync has read so far, kept in Redis across rate-limit waits.

A resumed sync follows the same plan as the run it continues (same periods, same commit
listings), takes each query already answered and each commit page already read from here, and
continues a half-read listing from the next page GitHub gave. Without this record, a sync that
waits would read again after every reset what it had read before, and one whose first period
needs more than a budget would never finish.

Everything lives in one Redis hash per member (``shared.keys.sync_progress``), and every write
is proportional to what it adds: a commit page is one field of its own, never a rewrite of the
listing read so far.
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


@dataclasses.dataclass(frozen=True)
class ListingProgress:
    """A listing's pages read so far: their commits, and where GitHub said the next one is."""

    commits: list[Commit]
    pages: int
    next_url: str | None  # None: not started, or finished (see ``finished``)
    finished: bool


def listing_key(repository: str, since: str, until: str) -> str:
    """A listing is the same listing only with the same repository and time range."""
    return f"{repository}|{since}|{until}"


class SyncProgress:
    """One member's unfinished sync: its plan, the answers to its queries, its listings."""

    def __init__(self, client: redis.Redis, member_id: int) -> None:
        self._redis = client
        self._key = keys.sync_progress(member_id)

    def _get(self, field: str) -> Any:
        raw = self._redis.hget(self._key, field)
        return None if raw is None else json.loads(raw)

    def _set(self, values: dict[str, Any]) -> None:
        pipe = self._redis.pipeline()  # one MULTI: a page and its count are written together
        pipe.hset(self._key, mapping={field: json.dumps(v) for field, v in values.items()})
        pipe.expire(self._key, PROGRESS_TTL_S)
        pipe.execute()

    def stored_plan(self) -> Plan | None:
        stored = self._get("plan")
        if stored is None:
            return None
        return Plan(
            first=IsoWeek.parse(stored["first"]),
            last=IsoWeek.parse(stored["last"]),
            fetched_at=parse_timestamp(stored["fetched_at"]),
        )

    def resume_or_start(self, plan: Plan) -> Plan:
        """The unfinished plan this sync continues, or ``plan`` recorded as a new one.

        An unfinished plan is continued when it started at or before ``plan.first`` (weeks it
        staged since are simply not staged again) and ends in the same week.
        """
        earlier = self.stored_plan()
        if earlier is not None and earlier.first <= plan.first and earlier.last == plan.last:
            return earlier
        self.clear()
        record = {
            "first": str(plan.first),
            "last": str(plan.last),
            "fetched_at": utc_timestamp(plan.fetched_at),
        }
        self._set({"plan": record})
        return plan

    # ---- answers to queries (GraphQL, search), one field each --------------------------------

    def recall(self, query_key: str) -> Any:
        """What GitHub answered to the query ``query_key`` earlier in this sync, or None."""
        return self._get(f"answer:{query_key}")

    def remember(self, query_key: str, answer: Any) -> None:
        self._set({f"answer:{query_key}": answer})

    def period(self, index: int) -> PeriodContributions | None:
        stored = self._get(f"period:{index}")
        return None if stored is None else PeriodContributions(**stored)

    def save_period(self, index: int, contributions: PeriodContributions) -> None:
        self._set({f"period:{index}": dataclasses.asdict(contributions)})

    # ---- commit listings, page by page --------------------------------------------------------

    def listing(self, key: str) -> ListingProgress:
        pages = int(self._get(f"pages:{key}") or 0)
        if not pages:
            return ListingProgress(commits=[], pages=0, next_url=None, finished=False)
        raw = self._redis.hmget(self._key, [f"page:{key}:{n}" for n in range(pages)])
        read = [json.loads(page) for page in raw if page is not None]
        if len(read) != pages:  # a page lost its field: read the listing again from the start
            return ListingProgress(commits=[], pages=0, next_url=None, finished=False)
        commits = [commit for page in read for commit in page["commits"]]
        next_url = read[-1]["next_url"]
        return ListingProgress(
            commits=commits, pages=pages, next_url=next_url, finished=next_url is None
        )

    def save_page(self, key: str, index: int, commits: list[Commit], next_url: str | None) -> None:
        """Page ``index`` of a listing; ``next_url`` None marks the listing finished."""
        self._set(
            {
                f"page:{key}:{index}": {"commits": commits, "next_url": next_url},
                f"pages:{key}": index + 1,
            }
        )

    def clear(self) -> None:
        """The sync finished (everything read is staged) or its plan no longer applies."""
        self._redis.delete(self._key)
