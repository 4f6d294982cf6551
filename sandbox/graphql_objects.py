"""The objects GitHub's GraphQL API answers with, as plain dicts: connections (cursors, pages),
repositories, and the context of one request.

graphql-core executes against plain dicts: a callable value receives the field's arguments, and
``__typename`` tells interfaces and unions which type a dict is. Fields not implemented are null.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.data import Member, Repo
from sandbox.github_gate import ApiCall
from shared.activity import utc_timestamp

MAX_PAGE = 100  # GitHub's limit on first/last
MAX_REPOSITORIES = 100  # cap of commitContributionsByRepository
MAX_NODES = 500_000  # GitHub refuses queries that may return more nodes
SPAN_ERROR = "The total time spanned by 'from' and 'to' must not exceed 1 year"

Obj = dict[str, Any]


def ts(when: dt.datetime) -> str:
    """A GraphQL DateTime, as GitHub writes it."""
    return utc_timestamp(when)


def gql_error(message: str, type_: str | None = None) -> GraphQLError:
    """An error with GitHub's ``type`` (NOT_FOUND, INVALID_ARGUMENTS...)."""
    return GraphQLError(message, extensions={"type": type_} if type_ else None)


@dataclass
class Context:
    """One request: who asks (their token decides what is private to them) and when."""

    call: ApiCall
    now: dt.datetime
    _pushed: dict[int, dt.datetime] | None = None

    def can_see_private(self, member: Member) -> bool:
        return self.call.token.can_read_private and member.id == self.call.member.id

    def pushed_at(self, repo: Repo) -> dt.datetime:
        """The repository's last push: its newest commit, else its creation."""
        if self._pushed is None:
            self._pushed = {}
            for member in (self.call.member,):
                for commit in member.commits_until(self.now):
                    self._pushed[commit.repo.id] = commit.committed_at  # sorted: last wins
        return max(self._pushed.get(repo.id, repo.created_at), repo.created_at)


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _offset(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(base64.b64decode(cursor).decode().split(":", 1)[1])
    except (ValueError, IndexError) as exc:
        raise gql_error(
            f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS"
        ) from exc


def connection(name: str, nodes: Sequence[Obj], args: dict[str, Any]) -> Obj:
    """A Relay connection over ``nodes`` with first/after/last/before, as GitHub pages."""
    first, last = args.get("first"), args.get("last")
    if first is None and last is None:
        raise gql_error(
            f"You must provide a `first` or `last` value to properly paginate the `{name}` "
            "connection.",
            "MISSING_PAGINATION_BOUNDARIES",
        )
    for label, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise gql_error(
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


def connection_field(
    name: str,
    nodes: Sequence[Obj] | Callable[[], Sequence[Obj]],
    *,
    total_count: int | None = None,
) -> Callable[..., Obj]:
    """A connection resolver over ``nodes`` (or a function building them, when asked);
    ``total_count`` overrides the node count where GitHub counts something else (commits, not
    days, for a repository's commit contributions)."""

    def resolve(_info: GraphQLResolveInfo, **args: Any) -> Obj:
        built = nodes() if callable(nodes) else nodes
        order = args.get("orderBy") or {}
        ordered = list(built) if order.get("direction", "DESC") == "DESC" else list(built)[::-1]
        result = connection(name, ordered, args)
        if total_count is not None:
            result["totalCount"] = total_count
        return result

    return resolve


def repository_obj(repo: Repo, ctx: Context) -> Obj:
    """The repository as GitHub describes it at ``ctx.now`` (its current name)."""
    return {
        "__typename": "Repository",
        "id": "R_" + base64.b64encode(str(repo.id).encode()).decode(),
        "databaseId": repo.id,
        "name": repo.name_at(ctx.now),
        "nameWithOwner": repo.full_name_at(ctx.now),
        "isPrivate": repo.private,
        "isFork": repo.fork,
        "url": repo.html_url_at(ctx.now),
        "createdAt": ts(repo.created_at),
        "pushedAt": ts(ctx.pushed_at(repo)),
        "updatedAt": ts(ctx.pushed_at(repo)),
        "description": repo.description,
        "owner": {
            "__typename": "Organization" if repo.owner_at(ctx.now).endswith("-org") else "User",
            "login": repo.owner_at(ctx.now),
        },
        "defaultBranchRef": {"__typename": "Ref", "name": repo.default_branch},
        "visibility": "PRIVATE" if repo.private else "PUBLIC",
    }
