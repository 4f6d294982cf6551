"""``User.contributionsCollection`` and ``User.repositoriesContributedTo``, as GitHub counts.

Which events count, and on which day, is ``sandbox.truth``'s: the calendar and
``commitContributionsByRepository`` count a commit on its author date.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.data import Member, Repo
from sandbox.graphql_objects import (
    MAX_REPOSITORIES,
    SPAN_ERROR,
    Context,
    Obj,
    connection,
    connection_field,
    gql_error,
    repository_obj,
    ts,
)
from sandbox.truth import counted_commits, counted_items, daily_counts, occurred_at
from shared.activity import parse_timestamp


def _span(args: dict[str, Any], now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    try:
        to = parse_timestamp(args["to"]) if args.get("to") else now
        start = parse_timestamp(args["from"]) if args.get("from") else None
    except (TypeError, ValueError) as exc:
        raise gql_error("'from' and 'to' must be ISO 8601 date-times", "INVALID_ARGUMENTS") from exc
    if start is None:
        start = to - dt.timedelta(days=365)
    try:
        one_year_before = to.replace(year=to.year - 1)
    except ValueError:  # 29 February
        one_year_before = to.replace(year=to.year - 1, day=28)
    if start < one_year_before:
        raise gql_error(SPAN_ERROR, "INVALID_ARGUMENTS")
    if start > to:
        raise gql_error("'from' must be before 'to'", "INVALID_ARGUMENTS")
    return start, to


def _calendar(member: Member, ctx: Context, start: dt.datetime, to: dt.datetime) -> Obj:
    # Whole days: the calendar shows the days the span touches, each with all its contributions.
    whole_days = (
        dt.datetime.combine(start.date(), dt.time(0), tzinfo=dt.UTC),
        dt.datetime.combine(to.date(), dt.time.max, tzinfo=dt.UTC),
    )
    counts = daily_counts(
        member, ctx.now, can_read_private=ctx.can_see_private(member), span=whole_days
    )
    day, last = start.date(), to.date()
    weeks: list[Obj] = []
    total = 0
    while day <= last:
        weekday = (day.weekday() + 1) % 7  # GitHub's weeks start on Sunday (0)
        if weekday == 0 or not weeks:
            weeks.append(
                {
                    "__typename": "ContributionCalendarWeek",
                    "firstDay": day.isoformat(),
                    "contributionDays": [],
                }
            )
        count = counts.get(day, 0)
        total += count
        level = (
            "NONE"
            if count == 0
            else "FIRST_QUARTILE"
            if count < 3
            else (
                "SECOND_QUARTILE"
                if count < 6
                else "THIRD_QUARTILE"
                if count < 10
                else "FOURTH_QUARTILE"
            )
        )
        weeks[-1]["contributionDays"].append(
            {
                "__typename": "ContributionCalendarDay",
                "date": day.isoformat(),
                "contributionCount": count,
                "weekday": weekday,
                "color": "#ebedf0" if count == 0 else "#40c463",
                "contributionLevel": level,
            }
        )
        day += dt.timedelta(days=1)
    return {
        "__typename": "ContributionCalendar",
        "totalContributions": total,
        "weeks": weeks,
        "isHalloween": False,
        "colors": ["#9be9a8", "#40c463", "#30a14e", "#216e39"],
        "months": [],
    }


def contributions_collection(member: Member, ctx: Context, args: dict[str, Any]) -> Obj:
    """The member's contributions in [from, to]: commits on their author date, as GitHub counts."""
    start, to = _span(args, ctx.now)
    private_ok = ctx.can_see_private(member)

    def inside(when: dt.datetime) -> bool:
        return start <= when <= to

    def shown(repo: Repo) -> bool:
        return private_ok or not repo.private

    commits = counted_commits(member, ctx.now, authored=(start, to))
    prs = counted_items(member, "pull_requests", ctx.now, span=(start, to))
    issues = counted_items(member, "issues", ctx.now, span=(start, to))
    reviews = counted_items(member, "reviews", ctx.now, span=(start, to))
    everything: list[Any] = [*commits, *prs, *issues, *reviews]
    # GitHub: "Only non-zero when the user has chosen to share their private contribution counts."
    hidden = sum(1 for item in everything if not shown(item.repo))
    restricted = hidden if member.shows_private_counts else 0
    commits = [c for c in commits if shown(c.repo)]
    prs = [p for p in prs if shown(p.repo)]
    issues = [i for i in issues if shown(i.repo)]
    reviews = [r for r in reviews if shown(r.repo)]
    user_ref = {"__typename": "User", "login": member.login}

    per_repo: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    repos: dict[int, Repo] = {}
    for commit in commits:
        per_repo[commit.repo.id][commit.authored_at.date()] += 1
        repos[commit.repo.id] = commit.repo

    def by_repository(_info: GraphQLResolveInfo, maxRepositories: int = 25) -> list[Obj]:  # noqa: N803
        if maxRepositories > MAX_REPOSITORIES:
            raise gql_error(
                f"maxRepositories must be less than or equal to {MAX_REPOSITORIES}",
                "INVALID_ARGUMENTS",
            )
        ranked = sorted(
            per_repo,
            key=lambda rid: (-sum(per_repo[rid].values()), repos[rid].full_name_at(ctx.now)),
        )[: max(0, maxRepositories)]
        out = []
        for rid in ranked:
            repo = repos[rid]
            repo_obj = repository_obj(repo, ctx)
            url = repo.html_url_at(ctx.now)
            path = f"/{repo.full_name_at(ctx.now)}/commits?author={member.login}"
            days = sorted(per_repo[rid].items(), reverse=True)  # newest first
            nodes = [
                {
                    "__typename": "CreatedCommitContribution",
                    "occurredAt": ts(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)),
                    "commitCount": count,
                    "isRestricted": False,
                    "repository": repo_obj,
                    "user": user_ref,
                    "url": f"{url}/commits?author={member.login}",
                    "resourcePath": path,
                }
                for day, count in days
            ]
            out.append(
                {
                    "__typename": "CommitContributionsByRepository",
                    "repository": repo_obj,
                    "url": f"{url}/commits?author={member.login}",
                    "resourcePath": path,
                    # GitHub: "the total count of commits across days and repositories".
                    "contributions": connection_field(
                        "contributions", nodes, total_count=sum(per_repo[rid].values())
                    ),
                }
            )
        return out

    def issue_obj(item: Any, typename: str) -> Obj:
        return {
            "__typename": typename,
            "id": f"{typename[:2].upper()}_{item.id}",
            "databaseId": item.id,
            "number": item.number,
            "title": item.title,
            "url": item.html_url_at(ctx.now),
            "state": item.state,
            "createdAt": ts(item.created_at),
            "merged": item.state == "MERGED",
            "closed": item.state != "OPEN",
            "repository": repository_obj(item.repo, ctx),
            "author": user_ref,
        }

    def contribution(typename: str, occurred: dt.datetime, repo: Repo, **extra: Any) -> Obj:
        return {
            "__typename": typename,
            "occurredAt": ts(occurred),
            "isRestricted": False,
            "user": user_ref,
            "repository": repository_obj(repo, ctx),
            **extra,
        }

    newest_first = {"reverse": True}

    def issue_nodes() -> list[Obj]:
        return [
            contribution(
                "CreatedIssueContribution",
                i.created_at,
                i.repo,
                issue=issue_obj(i, "Issue"),
                url=i.html_url_at(ctx.now),
            )
            for i in sorted(issues, key=lambda i: i.created_at, **newest_first)
        ]

    def pr_nodes() -> list[Obj]:
        return [
            contribution(
                "CreatedPullRequestContribution",
                p.created_at,
                p.repo,
                pullRequest=issue_obj(p, "PullRequest"),
                url=p.html_url_at(ctx.now),
            )
            for p in sorted(prs, key=lambda p: p.created_at, **newest_first)
        ]

    def review_nodes() -> list[Obj]:
        nodes = []
        for r in sorted(reviews, key=lambda r: r.submitted_at, **newest_first):
            pull = {
                "__typename": "PullRequest",
                "number": r.pull_request,
                "title": r.pull_request_title,
                "url": f"{r.repo.html_url_at(ctx.now)}/pull/{r.pull_request}",
                "repository": repository_obj(r.repo, ctx),
            }
            nodes.append(
                contribution(
                    "CreatedPullRequestReviewContribution",
                    r.submitted_at,
                    r.repo,
                    pullRequest=pull,
                    url=r.html_url_at(ctx.now),
                    pullRequestReview={
                        "__typename": "PullRequestReview",
                        "id": f"PRR_{r.id}",
                        "databaseId": r.id,
                        "url": r.html_url_at(ctx.now),
                        "state": r.state,
                        "submittedAt": ts(r.submitted_at),
                        "createdAt": ts(r.submitted_at),
                        "pullRequest": pull,
                        "repository": repository_obj(r.repo, ctx),
                        "author": user_ref,
                    },
                )
            )
        return nodes

    def all_days() -> Counter[dt.date]:
        return daily_counts(member, ctx.now, can_read_private=private_ok)

    def years() -> list[int]:
        # From the first contribution (which may precede the account) to now.
        first_year = min([member.created_at.year, *(day.year for day in all_days())])
        return list(range(ctx.now.year, first_year - 1, -1))

    in_range = daily_counts(member, ctx.now, can_read_private=private_ok, span=(start, to))
    return {
        "__typename": "ContributionsCollection",
        "startedAt": ts(start),
        "endedAt": ts(to),
        "isSingleDay": start.date() == to.date(),
        "contributionCalendar": lambda _info: _calendar(member, ctx, start, to),
        "commitContributionsByRepository": by_repository,
        "issueContributions": connection_field("issueContributions", issue_nodes),
        "pullRequestContributions": connection_field("pullRequestContributions", pr_nodes),
        "pullRequestReviewContributions": connection_field(
            "pullRequestReviewContributions", review_nodes
        ),
        "totalCommitContributions": len(commits),
        "totalIssueContributions": lambda _info, **_: len(issues),
        "totalPullRequestContributions": lambda _info, **_: len(prs),
        "totalPullRequestReviewContributions": len(reviews),
        "totalRepositoriesWithContributedCommits": len(per_repo),
        "totalRepositoryContributions": lambda _info, **_: 0,
        "restrictedContributionsCount": restricted,
        "hasAnyContributions": lambda _info: any(in_range.values()),
        "hasAnyRestrictedContributions": restricted > 0,
        "hasActivityInThePast": lambda _info: bool(all_days()),
        "contributionYears": lambda _info: years(),
        "user": user_ref,
    }


# GitHub's repositoriesContributedTo lists repositories "recently" contributed to: the last year.
RECENT = dt.timedelta(days=365)
ALL_CONTRIBUTION_TYPES = ("COMMIT", "ISSUE", "PULL_REQUEST", "PULL_REQUEST_REVIEW", "REPOSITORY")
_REPOSITORY_ORDER: dict[str, Callable[[Repo, Context], Any]] = {
    "CREATED_AT": lambda repo, _ctx: repo.created_at,
    "UPDATED_AT": lambda repo, ctx: ctx.pushed_at(repo),
    "PUSHED_AT": lambda repo, ctx: ctx.pushed_at(repo),
    "NAME": lambda repo, ctx: repo.name_at(ctx.now).lower(),
    "STARGAZERS": lambda repo, _ctx: repo.id % 17,
}


def repositories_contributed_to(member: Member, ctx: Context, args: dict[str, Any]) -> Obj:
    """Repositories with the member's contributions of the given types in the last year."""
    types = set(args.get("contributionTypes") or ALL_CONTRIBUTION_TYPES)
    since = ctx.now - RECENT
    found: dict[int, Repo] = {}

    def add(repo: Repo, when: dt.datetime) -> None:
        if since <= when <= ctx.now:
            found[repo.id] = repo

    if "COMMIT" in types:
        for commit in counted_commits(member, ctx.now, authored=(since, ctx.now)):
            add(commit.repo, commit.authored_at)
    for kind, items in (
        ("ISSUE", "issues"),
        ("PULL_REQUEST", "pull_requests"),
        ("PULL_REQUEST_REVIEW", "reviews"),
    ):
        if kind in types:
            for item in counted_items(member, items, ctx.now, span=(since, ctx.now)):
                add(item.repo, occurred_at(item))
    if "REPOSITORY" in types:
        for repo in member.repos:
            if repo.exists_at(ctx.now):
                add(repo, repo.created_at)
    repos = [
        repo
        for repo in found.values()
        if (args.get("includeUserRepositories") or repo.owner_at(ctx.now) != member.login)
        and (ctx.can_see_private(member) or not repo.private)
        and args.get("privacy") in (None, "PRIVATE" if repo.private else "PUBLIC")
    ]
    order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
    key = _REPOSITORY_ORDER[order["field"]]
    repos.sort(key=lambda repo: (key(repo, ctx), repo.id), reverse=order["direction"] == "DESC")
    nodes = [repository_obj(repo, ctx) for repo in repos]
    return connection("repositoriesContributedTo", nodes, args)


def user_obj(member: Member, ctx: Context) -> Obj:
    return {
        "__typename": "User",
        "id": "U_" + base64.b64encode(str(member.id).encode()).decode(),
        "databaseId": member.id,
        "login": member.login,
        "name": member.name,
        "email": "",
        "createdAt": ts(member.created_at),
        "url": f"https://github.com/{member.login}",
        "contributionsCollection": lambda _info, **args: contributions_collection(
            member, ctx, args
        ),
        "repositoriesContributedTo": lambda _info, **args: repositories_contributed_to(
            member, ctx, args
        ),
    }
