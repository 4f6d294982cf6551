"""What GitHub counts, and ground truth: what a perfect sync of a member would store.

Pure functions over a ``Member`` and the sandbox time; GraphQL's contribution data is computed
with the same functions, so the two can never disagree. GitHub's rules, as modelled here:

- a commit is a contribution when its repository is not a fork, still exists, and the member has
  standing there (owner, collaborator, organisation member, or opened an issue or pull request);
  the calendar counts it on its **author** date, while the REST commit listing filters on the
  **committer** date;
- issues, pull requests and reviews count on the day they were opened or submitted, while their
  repository exists;
- contributions appear in the contribution data up to a day late (``counted_from``);
- contributions in private repositories the viewer cannot read count in the calendar only when
  the member's profile shows private contribution counts.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sandbox.data import CommitEvent, IssueEvent, Member, Repo, ReviewEvent
from shared.activity import WeekActivity, empty_activity, sort_activity, utc_timestamp
from shared.isoweek import IsoWeek

Item = IssueEvent | ReviewEvent


def occurred_at(item: Item) -> dt.datetime:
    return item.submitted_at if isinstance(item, ReviewEvent) else item.created_at


def credited(repo: Repo, now: dt.datetime) -> bool:
    """Whether activity in ``repo`` counts for the member at ``now``."""
    return (
        not repo.fork
        and repo.standing
        and repo.created_at <= now
        and (repo.deleted_at is None or now < repo.deleted_at)
    )


Span = tuple[dt.datetime, dt.datetime]  # inclusive


def counted_commits(
    member: Member, now: dt.datetime, *, settled: bool = False, authored: Span | None = None
) -> list[CommitEvent]:
    """The member's commit contributions known at ``now`` (``settled``: ignoring GitHub's lag),
    all of them or those ``authored`` in a span."""
    if authored is None:
        pool = member.commits_until(now)
    else:
        pool = [c for c in member.commits_authored(*authored) if c.committed_at <= now]
    return [
        c
        for c in pool
        if credited(c.repo, now) and (settled or not c.lag_s or c.counted_from <= now)
    ]


def counted_items(
    member: Member, kind: str, now: dt.datetime, *, settled: bool = False, span: Span | None = None
) -> list[Any]:
    """The member's ``kind`` ("pull_requests", "issues", "reviews") that count at ``now``."""
    start, end = span or (dt.datetime.min.replace(tzinfo=dt.UTC), now)
    return [
        item
        for item in member.opened(kind, start, min(end, now))
        if credited(item.repo, now) and (settled or not item.lag_s or item.counted_from <= now)
    ]


ITEM_KINDS = ("pull_requests", "issues", "reviews")


def in_calendar(member: Member, repo: Repo, *, can_read_private: bool) -> bool:
    """Whether a contribution in ``repo`` shows in the calendar this viewer gets."""
    return not repo.private or can_read_private or member.shows_private_counts


def daily_counts(
    member: Member,
    now: dt.datetime,
    *,
    can_read_private: bool,
    settled: bool = False,
    span: Span | None = None,
) -> Counter[dt.date]:
    """Contributions per UTC day, as the calendar counts them for this viewer."""
    counts: Counter[dt.date] = Counter()
    for commit in counted_commits(member, now, settled=settled, authored=span):
        if in_calendar(member, commit.repo, can_read_private=can_read_private):
            counts[commit.authored_at.date()] += 1
    for kind in ITEM_KINDS:
        for item in counted_items(member, kind, now, settled=settled, span=span):
            if in_calendar(member, item.repo, can_read_private=can_read_private):
                counts[occurred_at(item).date()] += 1
    return counts


def ground_truth(member: Member, now: dt.datetime, *, private: bool) -> dict[str, Any]:
    """``{"github": {...}, "weeks": {"2024-W18": WeekActivity}}`` for every week with activity.

    Settled contributions (GitHub's lag over), named as at ``now``. A commit goes to the week
    of its committer date, the date GitHub's commit listing filters on. With ``private=False``
    items in private repositories are left out of the lists, as a token without the ``repo``
    scope cannot see them; the daily counts then include them only if the member's profile
    shows private contribution counts.
    """
    weeks: dict[IsoWeek, WeekActivity] = {}

    def week_of(when: dt.datetime) -> WeekActivity:
        week = IsoWeek.of(when)
        if week not in weeks:
            weeks[week] = empty_activity(week)
        return weeks[week]

    for commit in counted_commits(member, now, settled=True):
        if commit.repo.private and not private:
            continue
        week_of(commit.committed_at)["commits"].append(
            {
                "sha": commit.sha,
                "repository": commit.repo.full_name_at(now),
                "authored_at": utc_timestamp(commit.authored_at),
                "committed_at": utc_timestamp(commit.committed_at),
                "message": commit.message,
                "url": commit.html_url_at(now),
            }
        )
    for key in ("pull_requests", "issues"):
        for item in counted_items(member, key, now, settled=True):
            if item.repo.private and not private:
                continue
            week_of(item.created_at)[key].append(
                {
                    "repository": item.repo.full_name_at(now),
                    "number": item.number,
                    "title": item.title,
                    "state": item.state,
                    "created_at": utc_timestamp(item.created_at),
                    "url": item.html_url_at(now),
                }
            )
    for review in counted_items(member, "reviews", now, settled=True):
        if review.repo.private and not private:
            continue
        week_of(review.submitted_at)["reviews"].append(
            {
                "repository": review.repo.full_name_at(now),
                "pull_request": review.pull_request,
                "state": review.state,
                "submitted_at": utc_timestamp(review.submitted_at),
                "url": review.html_url_at(now),
            }
        )
    calendar = daily_counts(member, now, can_read_private=private, settled=True)
    for day, count in calendar.items():
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


def raw_events(member: Member, now: dt.datetime) -> dict[str, Any]:
    """Everything that happened up to ``now``, uninterpreted: what tests derive truth from."""

    def repo_json(repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "created_as": repo.full_name,
            "name": repo.full_name_at(now),
            "renames": [
                {"at": utc_timestamp(r.at), "to": f"{r.owner}/{r.name}"}
                for r in repo.renames
                if r.at <= now
            ],
            "deleted_at": utc_timestamp(repo.deleted_at)
            if repo.deleted_at and repo.deleted_at <= now
            else None,
            "private": repo.private,
            "fork": repo.fork,
            "owner_is_member": repo.owned,
            "member_has_standing": repo.standing,
            "created_at": utc_timestamp(repo.created_at),
        }

    def lag(event: CommitEvent | Item) -> int:
        return event.lag_s

    return {
        "login": member.login,
        "id": member.id,
        "created_at": utc_timestamp(member.created_at),
        "shows_private_counts": member.shows_private_counts,
        "now": utc_timestamp(now),
        "repositories": [repo_json(r) for r in member.all_repos() if r.created_at <= now],
        "commits": [
            {
                "sha": c.sha,
                "repository_id": c.repo.id,
                "authored_at": utc_timestamp(c.authored_at),
                "committed_at": utc_timestamp(c.committed_at),
                "message": c.message,
                "counted_after_s": lag(c),
            }
            for c in member.commits_until(now)
        ],
        "pull_requests": [_item_json(i, now) for i in member.pull_requests if i.created_at <= now],
        "issues": [_item_json(i, now) for i in member.issues if i.created_at <= now],
        "reviews": [
            {
                "id": r.id,
                "repository_id": r.repo.id,
                "pull_request": r.pull_request,
                "state": r.state,
                "submitted_at": utc_timestamp(r.submitted_at),
                "counted_after_s": r.lag_s,
            }
            for r in member.reviews
            if r.submitted_at <= now
        ],
    }


def _item_json(item: IssueEvent, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "repository_id": item.repo.id,
        "number": item.number,
        "title": item.title,
        "state": item.state,
        "created_at": utc_timestamp(item.created_at),
        "counted_after_s": item.lag_s,
    }
