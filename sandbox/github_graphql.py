"""api.github.com ``POST /graphql``: validation against GitHub's schema, cost, and execution.

graphql-core executes against plain dicts: a callable value receives the field's arguments, and
``__typename`` tells interfaces and unions which type a dict is. Fields not implemented are null.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    execute,
    parse,
    validate,
)

from sandbox.data import Member, Repo
from sandbox.github_gate import ApiCall, ApiResult
from sandbox.graphql_schema import load_schema, query_cost
from sandbox.truth import (
    daily_counts,
    visible_commits,
    visible_issues,
    visible_pull_requests,
    visible_reviews,
)
from shared.activity import parse_timestamp, utc_timestamp

MAX_PAGE = 100  # GitHub's limit on first/last
MAX_REPOSITORIES = 100  # cap of commitContributionsByRepository
MAX_NODES = 500_000  # GitHub refuses queries that may return more nodes
SPAN_ERROR = "The total time spanned by 'from' and 'to' must not exceed 1 year"

Obj = dict[str, Any]


def _ts(when: dt.datetime) -> str:
    return utc_timestamp(when)


def _error(message: str, type_: str | None = None) -> GraphQLError:
    return GraphQLError(message, extensions={"type": type_} if type_ else None)


@dataclass
class Context:
    call: ApiCall
    now: dt.datetime

    def can_see_private(self, member: Member) -> bool:
        return self.call.token.can_read_private and member.id == self.call.member.id


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise _error(
            f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
        ) from exc


def connection(name: str, nodes: Sequence[Obj], args: dict[str, Any]) -> Obj:
    """A Relay connection over ``nodes`` with first/after/last/before, as GitHub pages."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise _error(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )
    for label, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise _error(
                f"Requesting {value} records on the `{name}` connection exceeds the `{label}` "
                f"limit of {MAX_PAGE} records.",
                "EXCESSIVE_PAGINATION",
            )
    start, end = 0, len(nodes)
    after, before = _offset(args.get("after")), _offset(args.get("before"))
    if after is not None:
        start = after + 1
    if before is not None:
        end = min(end, before)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    indices = range(start, max(start, end))
    page = [nodes[i] for i in indices]
    return {
        "totalCount": len(nodes),
        "nodes": page,
        "edges": [{"cursor": _cursor(i), "node": nodes[i]} for i in indices],
        "pageInfo": {
            "hasNextPage": end < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(indices[0]) if page else None,
            "endCursor": _cursor(indices[-1]) if page else None,
        },
    }


def _connection_field(
    name: str, nodes: Sequence[Obj], *, total_count: int | None = None
) -> Callable[..., Obj]:
    """A connection resolver; ``total_count`` overrides the node count where GitHub counts
    something else (commits, not days, for a repository's commit contributions)."""

    def resolve(_info: GraphQLResolveInfo, **args: Any) -> Obj:
        order = args.get("orderBy") or {}
        ordered = list(nodes) if order.get("direction", "DESC") == "DESC" else list(nodes)[::-1]
        result = connection(name, ordered, args)
        if total_count is not None:
            result["totalCount"] = total_count
        return result

    return resolve


def repository_obj(repo: Repo, has_commits: bool = True) -> Obj:
    return {
        "__typename": "Repository",
        "id": "R_" + base64.b64encode(str(repo.id).encode()).decode(),
        "databaseId": repo.id,
        "name": repo.name,
        "nameWithOwner": repo.full_name,
        "isPrivate": repo.private,
        "isFork": repo.fork,
        "url": repo.html_url,
        "createdAt": _ts(repo.created_at),
        "description": repo.description,
        "owner": {
            "__typename": "Organization" if repo.owner.endswith("-org") else "User",
            "login": repo.owner,
        },
        "defaultBranchRef": {"__typename": "Ref", "name": repo.default_branch}
        if has_commits
        else None,
        "visibility": "PRIVATE" if repo.private else "PUBLIC",
    }


def _span(args: dict[str, Any], now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    try:
        to = parse_timestamp(args["to"]) if args.get("to") else now
        start = parse_timestamp(args["from"]) if args.get("from") else None
    except (TypeError, ValueError) as exc:
        raise _error("'from' and 'to' must be ISO 8601 date-times", "INVALID_ARGUMENTS") from exc
    if start is None:
        start = to - dt.timedelta(days=365)
    try:
        one_year_before = to.replace(year=to.year - 1)
    except ValueError:  # 29 February
        one_year_before = to.replace(year=to.year - 1, day=28)
    if start < one_year_before:
        raise _error(SPAN_ERROR, "INVALID_ARGUMENTS")
    if start > to:
        raise _error("'from' must be before 'to'", "INVALID_ARGUMENTS")
    return start, to


def _calendar(member: Member, ctx: Context, start: dt.datetime, to: dt.datetime) -> Obj:
    counts = daily_counts(member, ctx.now)
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
    start, to = _span(args, ctx.now)
    private_ok = ctx.can_see_private(member)

    def inside(when: dt.datetime) -> bool:
        return start <= when <= to

    def shown(repo: Repo) -> bool:
        return private_ok or not repo.private

    commits = [c for c in visible_commits(member, ctx.now) if inside(c.committed_at)]
    prs = [p for p in visible_pull_requests(member, ctx.now) if inside(p.created_at)]
    issues = [i for i in visible_issues(member, ctx.now) if inside(i.created_at)]
    reviews = [r for r in visible_reviews(member, ctx.now) if inside(r.submitted_at)]
    everything: list[Any] = [*commits, *prs, *issues, *reviews]
    restricted = sum(1 for item in everything if not shown(item.repo))
    commits = [c for c in commits if shown(c.repo)]
    prs = [p for p in prs if shown(p.repo)]
    issues = [i for i in issues if shown(i.repo)]
    reviews = [r for r in reviews if shown(r.repo)]
    user_ref = {"__typename": "User", "login": member.login}

    per_repo: dict[int, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    repos: dict[int, Repo] = {}
    for commit in commits:
        per_repo[commit.repo.id][commit.committed_at.date()] += 1
        repos[commit.repo.id] = commit.repo

    def by_repository(_info: GraphQLResolveInfo, maxRepositories: int = 25) -> list[Obj]:  # noqa: N803
        if maxRepositories > MAX_REPOSITORIES:
            raise _error(
                f"maxRepositories must be less than or equal to {MAX_REPOSITORIES}",
                "INVALID_ARGUMENTS",
            )
        ranked = sorted(
            per_repo, key=lambda rid: (-sum(per_repo[rid].values()), repos[rid].full_name)
        )[: max(0, maxRepositories)]
        out = []
        for rid in ranked:
            repo = repos[rid]
            repo_obj = repository_obj(repo)
            days = sorted(per_repo[rid].items(), reverse=True)  # newest first
            nodes = [
                {
                    "__typename": "CreatedCommitContribution",
                    "occurredAt": _ts(dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)),
                    "commitCount": count,
                    "isRestricted": False,
                    "repository": repo_obj,
                    "user": user_ref,
                    "url": f"{repo.html_url}/commits?author={member.login}",
                    "resourcePath": f"/{repo.full_name}/commits?author={member.login}",
                }
                for day, count in days
            ]
            out.append(
                {
                    "__typename": "CommitContributionsByRepository",
                    "repository": repo_obj,
                    "url": f"{repo.html_url}/commits?author={member.login}",
                    "resourcePath": f"/{repo.full_name}/commits?author={member.login}",
                    # GitHub: "the total count of commits across days and repositories".
                    "contributions": _connection_field(
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
            "url": item.html_url,
            "state": item.state,
            "createdAt": _ts(item.created_at),
            "merged": item.state == "MERGED",
            "closed": item.state != "OPEN",
            "repository": repository_obj(item.repo),
            "author": user_ref,
        }

    def contribution(typename: str, occurred: dt.datetime, repo: Repo, **extra: Any) -> Obj:
        return {
            "__typename": typename,
            "occurredAt": _ts(occurred),
            "isRestricted": False,
            "user": user_ref,
            "repository": repository_obj(repo),
            **extra,
        }

    newest_first = {"reverse": True}
    issue_nodes = [
        contribution(
            "CreatedIssueContribution",
            i.created_at,
            i.repo,
            issue=issue_obj(i, "Issue"),
            url=i.html_url,
        )
        for i in sorted(issues, key=lambda i: i.created_at, **newest_first)
    ]
    pr_nodes = [
        contribution(
            "CreatedPullRequestContribution",
            p.created_at,
            p.repo,
            pullRequest=issue_obj(p, "PullRequest"),
            url=p.html_url,
        )
        for p in sorted(prs, key=lambda p: p.created_at, **newest_first)
    ]
    review_nodes = []
    for r in sorted(reviews, key=lambda r: r.submitted_at, **newest_first):
        pull = {
            "__typename": "PullRequest",
            "number": r.pull_request,
            "title": r.pull_request_title,
            "url": f"{r.repo.html_url}/pull/{r.pull_request}",
            "repository": repository_obj(r.repo),
        }
        review_nodes.append(
            contribution(
                "CreatedPullRequestReviewContribution",
                r.submitted_at,
                r.repo,
                pullRequest=pull,
                url=r.html_url,
                pullRequestReview={
                    "__typename": "PullRequestReview",
                    "id": f"PRR_{r.id}",
                    "databaseId": r.id,
                    "url": r.html_url,
                    "state": r.state,
                    "submittedAt": _ts(r.submitted_at),
                    "createdAt": _ts(r.submitted_at),
                    "pullRequest": pull,
                    "repository": repository_obj(r.repo),
                    "author": user_ref,
                },
            )
        )
    all_days = daily_counts(member, ctx.now)
    any_in_range = any(start.date() <= d <= to.date() and n for d, n in all_days.items())
    first_year = member.created_at.year
    return {
        "__typename": "ContributionsCollection",
        "startedAt": _ts(start),
        "endedAt": _ts(to),
        "isSingleDay": start.date() == to.date(),
        "contributionCalendar": lambda _info: _calendar(member, ctx, start, to),
        "commitContributionsByRepository": by_repository,
        "issueContributions": _connection_field("issueContributions", issue_nodes),
        "pullRequestContributions": _connection_field("pullRequestContributions", pr_nodes),
        "pullRequestReviewContributions": _connection_field(
            "pullRequestReviewContributions", review_nodes
        ),
        "totalCommitContributions": len(commits),
        "totalIssueContributions": lambda _info, **_: len(issues),
        "totalPullRequestContributions": lambda _info, **_: len(prs),
        "totalPullRequestReviewContributions": len(reviews),
        "totalRepositoriesWithContributedCommits": len(per_repo),
        "totalRepositoryContributions": lambda _info, **_: 0,
        "restrictedContributionsCount": restricted,
        "hasAnyContributions": any_in_range,
        "hasAnyRestrictedContributions": restricted > 0,
        "hasActivityInThePast": bool(all_days),
        "contributionYears": list(range(ctx.now.year, first_year - 1, -1)),
        "user": user_ref,
    }


def user_obj(member: Member, ctx: Context) -> Obj:
    return {
        "__typename": "User",
        "id": "U_" + base64.b64encode(str(member.id).encode()).decode(),
        "databaseId": member.id,
        "login": member.login,
        "name": member.name,
        "email": "",
        "createdAt": _ts(member.created_at),
        "url": f"https://github.com/{member.login}",
        "contributionsCollection": lambda _info, **args: contributions_collection(
            member, ctx, args
        ),
    }


def _format(error: GraphQLError) -> Obj:
    formatted: Obj = dict(error.formatted)
    extensions = formatted.pop("extensions", None) or {}
    if "type" in extensions:
        formatted = {"type": extensions["type"], **formatted}
    return formatted


async def graphql_endpoint(call: ApiCall) -> ApiResult:
    try:
        payload = await call.request.json()
    except ValueError:
        return ApiResult(400, {"message": "Problems parsing JSON"}, charged_by_handler=True, cost=0)
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str):
        return ApiResult(
            200,
            {"errors": [{"message": "A query attribute must be specified and must be a string."}]},
            charged_by_handler=True,
            cost=0,
        )
    variables = payload.get("variables") or {}
    schema = load_schema(call.state.config.graphql_schema_path)
    try:
        document: DocumentNode = parse(query)
    except GraphQLError as error:
        return ApiResult(200, {"errors": [_format(error)]}, charged_by_handler=True, cost=0)
    errors = validate(schema, document)
    if errors:
        return ApiResult(
            200, {"errors": [_format(e) for e in errors]}, charged_by_handler=True, cost=0
        )
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    name = payload.get("operationName")
    operation = next(
        (o for o in operations if name is None or (o.name and o.name.value == name)), operations[0]
    )
    cost = query_cost(operation, fragments, variables)
    if cost.node_count > MAX_NODES:
        message = (
            f"By the time this query traverses to the {cost.node_count} nodes, it would exceed "
            f"the limit of {MAX_NODES} nodes."
        )
        return ApiResult(
            200,
            {"errors": [{"message": message, "type": "MAX_NODE_LIMIT_EXCEEDED"}]},
            charged_by_handler=True,
            cost=0,
        )
    window = call.window
    if window.remaining < cost.cost:
        return ApiResult(
            200,
            {
                "errors": [
                    {
                        "type": "RATE_LIMITED",
                        "message": f"API rate limit exceeded for user ID {call.member.id}.",
                    }
                ]
            },
            charged_by_handler=True,
            cost=0,
            violation=window.remaining == 0,
        )
    window.used += cost.cost
    ctx = Context(call=call, now=call.state.clock.now())
    state = call.state

    def user(_info: GraphQLResolveInfo, login: str) -> Obj | None:
        member = state.directory.get(login)
        if member is None or member.created_at > ctx.now:
            raise _error(f"Could not resolve to a User with the login of '{login}'.", "NOT_FOUND")
        return user_obj(member, ctx)

    root = {
        "viewer": lambda _info: user_obj(call.member, ctx),
        "user": user,
        "rateLimit": lambda _info, **_: {
            "__typename": "RateLimit",
            "cost": cost.cost,
            "limit": window.limit,
            "remaining": window.remaining,
            "used": window.used,
            "resetAt": _ts(dt.datetime.fromtimestamp(window.reported_reset_s, tz=dt.UTC)),
            "nodeCount": cost.node_count,
        },
    }
    result = execute(
        schema,
        document,
        root_value=root,
        variable_values=variables,
        operation_name=name,
        type_resolver=lambda value, _info, _type: (
            value.get("__typename") if isinstance(value, dict) else None
        ),
    )
    if not isinstance(result, tuple) and hasattr(result, "__await__"):
        result = await result
    body: Obj = {}
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = [_format(e) for e in result.errors]  # type: ignore[union-attr]
    body["data"] = result.data  # type: ignore[union-attr]
    return ApiResult(200, body, charged_by_handler=True, cost=cost.cost)
