"""Ground truth: what a perfect sync of a member would store, in the project's week format.

Pure functions over a ``Member`` and the sandbox time. The daily counts are the same function
GraphQL's contribution calendar answers with, so the two can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sandbox.data import CommitEvent, IssueEvent, Member, ReviewEvent
from shared.activity import WeekActivity, empty_activity, sort_activity, utc_timestamp
from shared.isoweek import IsoWeek


def visible_commits(member: Member, now: dt.datetime) -> list[CommitEvent]:
    """The member's contributed commits so far (forks never hold the member's commits)."""
    return [c for c in member.commits_until(now) if not c.repo.fork]


def visible_pull_requests(member: Member, now: dt.datetime) -> list[IssueEvent]:
    return [p for p in member.pull_requests if p.created_at <= now]


def visible_issues(member: Member, now: dt.datetime) -> list[IssueEvent]:
    return [i for i in member.issues if i.created_at <= now]


def visible_reviews(member: Member, now: dt.datetime) -> list[ReviewEvent]:
    return [r for r in member.reviews if r.submitted_at <= now]


def daily_counts(member: Member, now: dt.datetime) -> Counter[dt.date]:
    """Contributions per UTC day, private ones included (GitHub's calendar counts them)."""
    counts: Counter[dt.date] = Counter()
    for commit in visible_commits(member, now):
        counts[commit.committed_at.date()] += 1
    for item in (*visible_pull_requests(member, now), *visible_issues(member, now)):
        counts[item.created_at.date()] += 1
    for review in visible_reviews(member, now):
        counts[review.submitted_at.date()] += 1
    return counts


def ground_truth(member: Member, now: dt.datetime, *, private: bool) -> dict[str, Any]:
    """``{"github": {...}, "weeks": {"2024-W18": WeekActivity}}`` for every week with activity.

    With ``private=False`` items in private repositories are left out of the lists, as a token
    without the ``repo`` scope cannot see them; the daily counts still include them.
    """
    weeks: dict[IsoWeek, WeekActivity] = {}

    def week_of(when: dt.datetime) -> WeekActivity:
        week = IsoWeek.of(when)
        if week not in weeks:
            weeks[week] = empty_activity(week)
        return weeks[week]

    for commit in visible_commits(member, now):
        if commit.repo.private and not private:
            continue
        week_of(commit.committed_at)["commits"].append(
            {
                "sha": commit.sha,
                "repository": commit.repo.full_name,
                "authored_at": utc_timestamp(commit.authored_at),
                "committed_at": utc_timestamp(commit.committed_at),
                "message": commit.message,
                "url": commit.html_url,
            }
        )
    for key, items in (
        ("pull_requests", visible_pull_requests(member, now)),
        ("issues", visible_issues(member, now)),
    ):
        for item in items:
            if item.repo.private and not private:
                continue
            week_of(item.created_at)[key].append(  # type: ignore[literal-required]
                {
                    "repository": item.repo.full_name,
                    "number": item.number,
                    "title": item.title,
                    "state": item.state,
                    "created_at": utc_timestamp(item.created_at),
                    "url": item.html_url,
                }
            )
    for review in visible_reviews(member, now):
        if review.repo.private and not private:
            continue
        week_of(review.submitted_at)["reviews"].append(
            {
                "repository": review.repo.full_name,
                "pull_request": review.pull_request,
                "state": review.state,
                "submitted_at": utc_timestamp(review.submitted_at),
                "url": review.html_url,
            }
        )
    for day, count in daily_counts(member, now).items():
        week_of(dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC))["contributions"][
            day.isoformat()
        ] = count
    return {
        "github": {
            "id": member.id,
            "login": member.login,
            "created_at": utc_timestamp(member.created_at),
        },
        "weeks": {str(week): sort_activity(weeks[week]) for week in sorted(weeks)},
    }
