"""api.github.com ``GET /search/commits``: commits on default branches, found by qualifiers.

The qualifiers the project may use are understood (``author:``, ``author-date:``,
``committer-date:``, ``repo:``, ``is:public``/``is:private``); other words must appear in the
message. Like GitHub, it searches default branches of repositories the token can read, leaves
forks out, answers at most the first 1000 results (422 beyond), and costs the ``search``
budget (30 requests a minute).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sandbox.data import CommitEvent, Member
from sandbox.github_gate import DOCS, ApiCall, ApiResult
from sandbox.github_rest import commit_json, paginate, repository_json
from shared.activity import parse_timestamp

# GitHub's search answers the first 1000 results of a query, whatever the page size.
MAX_RESULTS = 1000
SEARCH_DOCS = f"{DOCS}/search/search#search-commits"

Bound = tuple[dt.datetime | None, dt.datetime | None]  # inclusive start, exclusive end


def _side(text: str, *, upper: bool) -> dt.datetime:
    """A date (the whole day) or a date-time; ``upper`` gives the exclusive end of a date."""
    if "T" in text:
        when = parse_timestamp(text)
        return when + dt.timedelta(seconds=1) if upper else when
    day = dt.date.fromisoformat(text)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1) if upper else start


def parse_range(text: str) -> Bound:
    """GitHub's date qualifier syntax: ``D``, ``A..B``, ``*..B``, ``>=D``, ``>D``, ``<=D``..."""
    if ".." in text:
        low, high = text.split("..", 1)
        return (
            None if low in ("", "*") else _side(low, upper=False),
            None if high in ("", "*") else _side(high, upper=True),
        )
    for prefix, bound in (
        (">=", lambda d: (_side(d, upper=False), None)),
        ("<=", lambda d: (None, _side(d, upper=True))),
        (">", lambda d: (_side(d, upper=True), None)),
        ("<", lambda d: (None, _side(d, upper=False))),
    ):
        if text.startswith(prefix):
            result: Bound = bound(text[len(prefix) :])
            return result
    return _side(text, upper=False), _side(text, upper=True)


def _within(bound: Bound, when: dt.datetime) -> bool:
    start, end = bound
    return (start is None or when >= start) and (end is None or when < end)


def _unprocessable(message: str) -> ApiResult:
    return ApiResult(422, {"message": message, "documentation_url": SEARCH_DOCS, "status": "422"})


@dataclass
class _Query:
    """A parsed ``q``: the author searched, and what every result must satisfy."""

    author: str | None = None
    authored: list[Bound] = field(default_factory=list)
    committed: list[Bound] = field(default_factory=list)
    repositories: list[str] = field(default_factory=list)
    visibility: str | None = None
    words: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> _Query:
        query = cls()
        for word in text.split():
            name, _, value = word.partition(":")
            if name == "author":
                query.author = value
            elif name == "author-date":
                query.authored.append(parse_range(value))
            elif name == "committer-date":
                query.committed.append(parse_range(value))
            elif name == "repo":
                query.repositories.append(value.lower())
            elif name == "is" and value in ("public", "private"):
                query.visibility = value
            else:
                query.words.append(word.lower())
        return query

    def matches(self, commit: CommitEvent, now: dt.datetime) -> bool:
        repo = commit.repo
        return (
            all(_within(b, commit.authored_at) for b in self.authored)
            and all(_within(b, commit.committed_at) for b in self.committed)
            and all(repo.full_name_at(now).lower() == r for r in self.repositories)
            and self.visibility in (None, "private" if repo.private else "public")
            and all(w in commit.message.lower() for w in self.words)
        )


async def search_commits(call: ApiCall) -> ApiResult:
    query = call.request.query_params
    if not query.get("q", "").split():
        return _unprocessable("Validation Failed")
    now = call.state.clock.now()
    try:
        parsed = _Query.parse(query.get("q", ""))
    except ValueError:
        return _unprocessable("Validation Failed: a date is not valid")
    author = call.state.directory.get(parsed.author) if parsed.author else call.member
    if author is None:
        return ApiResult(200, {"total_count": 0, "incomplete_results": False, "items": []})
    readable = call.token.can_read_private and author.id == call.member.id
    found = [
        c
        for c in author.commits_until(now)
        if c.repo.exists_at(now)
        and not c.repo.fork
        and (readable or not c.repo.private)
        and parsed.matches(c, now)
    ]
    sort = query.get("sort")
    descending = query.get("order", "desc") != "asc"
    if sort == "committer-date":
        found.sort(key=lambda c: (c.committed_at, c.sha), reverse=descending)
    else:  # author-date, and "best match" (no text score here)
        found.sort(key=lambda c: (c.authored_at, c.sha), reverse=descending)
    per_page = int(query.get("per_page", 30) or 30)
    page = int(query.get("page", 1) or 1)
    if page * min(per_page, 100) > MAX_RESULTS:
        return _unprocessable("Only the first 1000 search results are available")
    paged = paginate(call, found[:MAX_RESULTS])
    if isinstance(paged, ApiResult):
        return paged
    chunk, headers = paged
    items = [_item(call, c, author) for c in chunk]
    body = {"total_count": len(found), "incomplete_results": False, "items": items}
    return ApiResult(200, body, headers)


def _item(call: ApiCall, commit: CommitEvent, author: Member) -> dict[str, Any]:
    base = commit_json(call, commit, author)
    return {
        "url": base["url"],
        "sha": base["sha"],
        "node_id": base["node_id"],
        "html_url": base["html_url"],
        "comments_url": base["comments_url"],
        "commit": {
            key: base["commit"][key]
            for key in ("author", "committer", "message", "tree", "url", "comment_count")
        },
        "author": base["author"],
        "committer": {
            "name": author.name,
            "email": author.email,
            "date": base["commit"]["committer"]["date"],
        },
        "parents": base["parents"],
        "repository": repository_json(call, commit.repo, author),
        "score": 1.0,
    }
