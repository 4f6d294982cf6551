"""The activity of one ISO week, the unit the fetcher stages and the uploader merges.

Plain dicts (JSON-ready) with ``TypedDict`` shapes so that the fetcher, the uploader, the sandbox's
ground truth and the file format all speak the same structure. Times are UTC ISO 8601 strings with
a ``Z`` suffix and second precision (``2024-04-29T10:00:00Z``), dates are ``YYYY-MM-DD``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypedDict

from shared.isoweek import IsoWeek


class Commit(TypedDict):
    sha: str
    repository: str  # "owner/name"
    authored_at: str
    committed_at: str  # the commit's week is the ISO week of this time
    message: str
    url: str  # html url of the commit


class PullRequest(TypedDict):
    repository: str
    number: int
    title: str
    state: str  # OPEN, CLOSED, MERGED
    created_at: str  # the week it belongs to
    url: str


class Issue(TypedDict):
    repository: str
    number: int
    title: str
    state: str  # OPEN, CLOSED
    created_at: str
    url: str


class Review(TypedDict):
    repository: str
    pull_request: int  # number of the reviewed pull request
    state: str  # APPROVED, CHANGES_REQUESTED, COMMENTED, DISMISSED, PENDING
    submitted_at: str
    url: str


class WeekActivity(TypedDict):
    commits: list[Commit]
    pull_requests: list[PullRequest]
    issues: list[Issue]
    reviews: list[Review]
    contributions: dict[str, int]  # date -> count, all seven days of the week


class Week(WeekActivity):
    start: str  # Monday
    end: str  # Sunday
    complete: bool  # fetched after the week had ended
    fetched_at: str


ACTIVITY_KINDS = ("commits", "pull_requests", "issues", "reviews")


def utc_timestamp(when: dt.datetime) -> str:
    """``2024-04-29T10:00:00Z`` for an aware datetime."""
    return when.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def empty_activity(week: IsoWeek) -> WeekActivity:
    return {
        "commits": [],
        "pull_requests": [],
        "issues": [],
        "reviews": [],
        "contributions": {day.isoformat(): 0 for day in week.days()},
    }


def sort_activity(activity: WeekActivity) -> WeekActivity:
    """Stable order for every list, so the same data always serialises to the same bytes."""
    activity["commits"].sort(key=lambda c: (c["committed_at"], c["repository"], c["sha"]))
    activity["pull_requests"].sort(key=lambda p: (p["created_at"], p["repository"], p["number"]))
    activity["issues"].sort(key=lambda i: (i["created_at"], i["repository"], i["number"]))
    activity["reviews"].sort(key=lambda r: (r["submitted_at"], r["url"]))
    return activity


def make_week(
    week: IsoWeek,
    activity: WeekActivity,
    *,
    fetched_at: dt.datetime,
    settles_after: dt.timedelta = dt.timedelta(0),
) -> Week:
    """A staged week: its activity plus its dates and whether it was complete when fetched,
    that is, had ended at least ``settles_after`` before (the time its data may still change)."""
    return {
        "start": week.start.isoformat(),
        "end": week.end.isoformat(),
        "complete": fetched_at >= week.ends_at + settles_after,
        "fetched_at": utc_timestamp(fetched_at),
        **sort_activity(activity),
    }


def activity_of(week: Week | dict[str, Any]) -> WeekActivity:
    """Only the activity of a week (what ground truth is compared with)."""
    return {
        "commits": week["commits"],
        "pull_requests": week["pull_requests"],
        "issues": week["issues"],
        "reviews": week["reviews"],
        "contributions": week["contributions"],
    }
