"""Group a period's activity into ISO weeks (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fetcher.contributions import PeriodContributions
from shared.activity import Commit, Week, empty_activity, make_week, parse_timestamp, utc_timestamp
from shared.isoweek import IsoWeek

# GitHub may count a contribution up to a day after it happened: a week read less than a day
# after its end is not complete, and the next sync reads it again.
CONTRIBUTION_LAG = dt.timedelta(days=1)


def commit_record(raw: dict[str, Any], repository: str) -> Commit:
    """The file's commit fields from a REST ``/repos/{repo}/commits`` item.

    The repository is named as GitHub names it in the commit's URL, which follows renames and
    transfers; ``repository`` (the name the listing asked for) is the fallback.
    """
    detail = raw["commit"]
    return {
        "sha": raw["sha"],
        "repository": _repository_of(str(raw.get("html_url") or "")) or repository,
        "authored_at": utc_timestamp(parse_timestamp(detail["author"]["date"])),
        "committed_at": utc_timestamp(parse_timestamp(detail["committer"]["date"])),
        "message": detail["message"],
        "url": raw["html_url"],
    }


def bucket_weeks(
    weeks: list[IsoWeek],
    contributions: PeriodContributions,
    commits: list[Commit],
    *,
    fetched_at: dt.datetime,
) -> dict[IsoWeek, Week]:
    """One ``Week`` per week of the period, each holding the activity that happened in it."""
    activity = {week: empty_activity(week) for week in weeks}

    def add(kind: str, item: Any, timestamp: str) -> None:
        week = IsoWeek.of(parse_timestamp(timestamp))
        if week in activity:
            activity[week][kind].append(item)  # type: ignore[literal-required]

    seen: set[tuple[str, str]] = set()
    for commit in commits:
        key = (commit["repository"], commit["sha"])
        if key not in seen:  # one commit can be listed twice when pages shift
            seen.add(key)
            add("commits", commit, commit["committed_at"])
    for pull_request in contributions.pull_requests:
        add("pull_requests", pull_request, pull_request["created_at"])
    for issue in contributions.issues:
        add("issues", issue, issue["created_at"])
    for review in contributions.reviews:
        add("reviews", review, review["submitted_at"])
    for day, count in contributions.calendar.items():
        week = IsoWeek.of(dt.date.fromisoformat(day))
        if week in activity:
            activity[week]["contributions"][day] = count
    return {
        week: make_week(week, activity[week], fetched_at=fetched_at, settles_after=CONTRIBUTION_LAG)
        for week in weeks
    }


def _repository_of(html_url: str) -> str | None:
    """``owner/name`` of ``https://github.com/owner/name/commit/sha``, or None."""
    parts = html_url.split("/")
    if len(parts) >= 7 and parts[-2] == "commit" and parts[3] and parts[4]:
        return f"{parts[3]}/{parts[4]}"
    return None
