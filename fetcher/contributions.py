"""GraphQL ``contributionsCollection``: what happened in a period, and where commits landed.

One query per period (at most a year) gives the daily calendar, the repositories that received
the member's commits (by the commits' author date, as GitHub counts them), and the issues, pull
requests and reviews the member opened or submitted; further pages follow cursors.

GitHub returns at most 100 repositories per query. When it reports more, the period is halved
until each part fits; a single day with more than 100 is asked of the commit search instead,
which finds commits by author date without that cap.

Every query goes through ``Answers``: a resumed sync takes each answer it already has from
there, so that a period needing more queries than one rate-limit window still finishes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.activity import Issue, PullRequest, Review, utc_timestamp
from shared.errors import MalformedResponse
from shared.github.client import GitHubClient

# GitHub returns at most this many repositories in commitContributionsByRepository.
MAX_REPOSITORIES = 100
# Nodes per page of a contributions connection (GitHub's maximum).
PAGE_SIZE = 100
# GitHub's commit search answers the first 1000 results of a query.
MAX_SEARCH_RESULTS = 1000
ONE_SECOND = dt.timedelta(seconds=1)
ONE_DAY = dt.timedelta(days=1)

_ISSUE_FIELDS = "number title url state createdAt repository { nameWithOwner }"
_CONNECTIONS = {
    "issueContributions": f"occurredAt issue {{ {_ISSUE_FIELDS} }}",
    "pullRequestContributions": f"occurredAt pullRequest {{ {_ISSUE_FIELDS} }}",
    "pullRequestReviewContributions": (
        "occurredAt pullRequestReview { url state submittedAt "
        "pullRequest { number } repository { nameWithOwner } }"
    ),
}
_REPOSITORY_FIELDS = """totalRepositoriesWithContributedCommits
      commitContributionsByRepository(maxRepositories: %d) {
        repository { nameWithOwner }
        contributions(first: 1) { totalCount }
      }""" % (MAX_REPOSITORIES,)

# Repositories the member committed to lately (GitHub's "recently": the last year), the most
# recently pushed first.
_PUSHED_FIELDS = """repositoriesContributedTo(
      first: 100, after: $after, contributionTypes: [COMMIT], includeUserRepositories: true,
      orderBy: {field: PUSHED_AT, direction: DESC}
    ) {
      pageInfo { hasNextPage endCursor }
      nodes { nameWithOwner isFork pushedAt }
    }"""
_PERIOD_FIELDS = """contributionsCollection(from: $from, to: $to) {
      contributionCalendar { weeks { contributionDays { date contributionCount } } }
      %(repositories)s
      %(connections)s
    }""" % {
    "repositories": _REPOSITORY_FIELDS,
    "connections": "\n      ".join(
        "%s(first: %d) { pageInfo { hasNextPage endCursor } nodes { %s } }"
        % (name, PAGE_SIZE, fields)
        for name, fields in _CONNECTIONS.items()
    ),
}
PERIOD_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    %s
  }
}
""" % (_PERIOD_FIELDS,)
# The period that ends now asks, in the same request, which repositories were pushed lately.
PERIOD_AND_PUSHED_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!, $after: String) {
  user(login: $login) {
    %s
    %s
  }
}
""" % (_PERIOD_FIELDS, _PUSHED_FIELDS)

REPOSITORIES_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      %s
    }
  }
}
""" % (_REPOSITORY_FIELDS,)

_PAGE_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!, $after: String!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      %s(first: %d, after: $after) { pageInfo { hasNextPage endCursor } nodes { %s } }
    }
  }
}
"""

# The years GitHub counts contributions in (they may begin before the account existed), and
# the calendar of a span: where in those years the first contribution lies.
YEARS_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection { contributionYears }
    early: contributionsCollection(from: $from, to: $to) {
      contributionCalendar { weeks { contributionDays { date contributionCount } } }
    }
  }
}
"""
CALENDAR_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      contributionCalendar { weeks { contributionDays { date contributionCount } } }
    }
  }
}
"""
PUSHED_QUERY = """
query($login: String!, $after: String) {
  user(login: $login) {
    %s
  }
}
""" % (_PUSHED_FIELDS,)


class Answers(Protocol):
    """Where answers to queries are kept across the runs of one sync (``SyncProgress``)."""

    def recall(self, query_key: str) -> Any: ...

    def remember(self, query_key: str, answer: Any) -> None: ...


class Forgetful:
    """Keeps nothing: every query is asked (for a run that cannot be resumed)."""

    def recall(self, query_key: str) -> Any:
        return None

    def remember(self, query_key: str, answer: Any) -> None:
        return None


@dataclass
class PeriodContributions:
    """Everything the contribution data says about one period."""

    calendar: dict[str, int] = field(default_factory=dict)  # date -> count
    # Where the member's commits landed, and how many: repository -> commits authored in the
    # period (GitHub counts a commit on its author date).
    repositories: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    pull_requests: list[PullRequest] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    # The period ending now only: the first page of repositories pushed lately.
    pushed: dict[str, Any] | None = None


def first_contribution_day(
    client: GitHubClient, *, login: str, account_created: dt.datetime, answers: Answers
) -> dt.date | None:
    """The first day GitHub counts a contribution of the member on, if it precedes the account.

    GitHub counts commits dated before the account existed (a history pushed later) on their
    author date. One query tells the years with contributions and the calendar of the account's
    year up to its creation; a second reads the first such year when it is an earlier one.
    """
    year_start = dt.datetime(account_created.year, 1, 1, tzinfo=dt.UTC)
    variables = {"login": login, "from": _iso(year_start), "to": _iso(account_created)}
    data = _ask(client, answers, "years", YEARS_QUERY, variables)
    try:
        years = [int(year) for year in data["user"]["contributionsCollection"]["contributionYears"]]
        calendar = data["user"]["early"]["contributionCalendar"]
    except (KeyError, TypeError) as error:
        raise MalformedResponse("GraphQL answered without contributionYears") from error
    if years and min(years) < account_created.year:
        first_year = dt.datetime(min(years), 1, 1, tzinfo=dt.UTC)
        end = dt.datetime(min(years) + 1, 1, 1, tzinfo=dt.UTC)
        variables = {"login": login, "from": _iso(first_year), "to": _iso(end - ONE_SECOND)}
        data = _ask(client, answers, "first-year", CALENDAR_QUERY, variables)
        calendar = _collection(data)["contributionCalendar"]
        days = _days_with_contributions(calendar)
        return min(days) if days else first_year.date()
    days = _days_with_contributions(calendar)
    return min(days) if days else None


def _days_with_contributions(calendar: dict[str, Any]) -> list[dt.date]:
    return [
        dt.date.fromisoformat(day["date"])
        for week in calendar["weeks"]
        for day in week["contributionDays"]
        if int(day["contributionCount"])
    ]


def pushed_since(
    client: GitHubClient,
    *,
    login: str,
    since: dt.datetime,
    answers: Answers,
    first_page: dict[str, Any] | None = None,
) -> set[str]:
    """Repositories (not forks) the member committed to lately that were pushed since ``since``.

    A commit authored before ``since`` but committed after it (rebased, cherry-picked) counts
    on its old author date, so the contribution data of the weeks from ``since`` does not name
    its repository; the push does. ``first_page`` is the first page when another query brought
    it along.
    """
    found: set[str] = set()
    cursor: str | None = None
    while True:
        connection = first_page if cursor is None else None
        if connection is None:
            variables = {"login": login, "after": cursor}
            data = _ask(client, answers, f"pushed:{cursor}", PUSHED_QUERY, variables)
            connection = _pushed(data)
        older = False
        for node in connection["nodes"]:
            if node["pushedAt"] and _parse(node["pushedAt"]) < since:
                older = True
            elif not node["isFork"]:
                found.add(node["nameWithOwner"])
        if older or not connection["pageInfo"]["hasNextPage"]:
            return found
        cursor = connection["pageInfo"]["endCursor"]


def _pushed(data: dict[str, Any]) -> dict[str, Any]:
    try:
        connection: dict[str, Any] = data["user"]["repositoriesContributedTo"]
    except (KeyError, TypeError) as error:
        raise MalformedResponse("GraphQL answered without repositoriesContributedTo") from error
    return connection


def fetch_period(
    client: GitHubClient,
    *,
    login: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    answers: Answers | None = None,
    with_pushed: bool = False,
) -> PeriodContributions:
    """Contributions in ``[starts_at, ends_at)``, following pages and the 100-repository cap;
    ``with_pushed`` brings along the first page of repositories pushed lately."""
    reader = _PeriodReader(client, login, answers or Forgetful())
    return reader.read(starts_at, ends_at, with_pushed=with_pushed)


class _PeriodReader:
    def __init__(self, client: GitHubClient, login: str, answers: Answers) -> None:
        self.client = client
        self.login = login
        self.answers = answers

    def _variables(self, starts_at: dt.datetime, ends_at: dt.datetime) -> dict[str, Any]:
        return {"login": self.login, "from": _iso(starts_at), "to": _iso(ends_at - ONE_SECOND)}

    def _ask(self, key: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        return _ask(self.client, self.answers, key, query, variables)

    def read(
        self, starts_at: dt.datetime, ends_at: dt.datetime, *, with_pushed: bool
    ) -> PeriodContributions:
        variables = self._variables(starts_at, ends_at)
        span = f"{variables['from']}/{variables['to']}"
        if with_pushed:
            data = self._ask(
                f"period+pushed:{span}", PERIOD_AND_PUSHED_QUERY, {**variables, "after": None}
            )
        else:
            data = self._ask(f"period:{span}", PERIOD_QUERY, variables)
        collection = _collection(data)
        result = PeriodContributions(pushed=_pushed(data) if with_pushed else None)
        for week in collection["contributionCalendar"]["weeks"]:
            for day in week["contributionDays"]:
                result.calendar[day["date"]] = int(day["contributionCount"])
        result.repositories = self._repositories(starts_at, ends_at, collection)
        for name in _CONNECTIONS:
            connection = collection[name]
            nodes = list(connection["nodes"])
            while connection["pageInfo"]["hasNextPage"]:
                cursor = connection["pageInfo"]["endCursor"]
                query = _PAGE_QUERY % (name, PAGE_SIZE, _CONNECTIONS[name])
                data = self._ask(f"{name}:{span}:{cursor}", query, {**variables, "after": cursor})
                connection = _collection(data)[name]
                nodes.extend(connection["nodes"])
            _collect(result, name, nodes)
        return result

    def _repositories(
        self, starts_at: dt.datetime, ends_at: dt.datetime, collection: dict[str, Any]
    ) -> dict[str, int]:
        """Repositories with commits in the span; below GitHub's cap, halve it until it fits."""
        found = _repository_counts(collection)
        if not _capped(found, collection):
            return found
        days = (ends_at - starts_at) // ONE_DAY
        if days < 2:
            return {**found, **self._search(starts_at, ends_at)}
        middle = starts_at + (days // 2) * ONE_DAY
        counts: dict[str, int] = {}
        for start, end in ((starts_at, middle), (middle, ends_at)):
            variables = self._variables(start, end)
            key = f"repositories:{variables['from']}/{variables['to']}"
            part = self._repositories(
                start, end, _collection(self._ask(key, REPOSITORIES_QUERY, variables))
            )
            for name, count in part.items():
                counts[name] = counts.get(name, 0) + count
        return counts

    def _search(self, starts_at: dt.datetime, ends_at: dt.datetime) -> dict[str, int]:
        """Commits per repository by author date in the span, from the commit search.

        A span with more than the search's 1000 results is halved (down to a second).
        """
        span = f"{_iso(starts_at)}..{_iso(ends_at - ONE_SECOND)}"
        query = f"author:{self.login} author-date:{span}"
        counts: dict[str, int] = {}
        url: str | None = None
        page = 0
        while True:
            answer = self.answers.recall(f"search:{span}:{page}")
            if answer is None:
                items, total, next_url = next(
                    iter(self.client.iter_search_commit_pages(query, start_url=url))
                )
                answer = {
                    "total": total,
                    "next_url": next_url,
                    "repositories": [
                        (item["repository"]["full_name"], bool(item["repository"]["fork"]))
                        for item in items
                    ],
                }
                self.answers.remember(f"search:{span}:{page}", answer)
            if answer["total"] > MAX_SEARCH_RESULTS and ends_at - starts_at > ONE_SECOND:
                middle = starts_at + (ends_at - starts_at) / 2
                middle = middle.replace(microsecond=0)
                counts = {}
                for start, end in ((starts_at, middle), (middle, ends_at)):
                    for name, count in self._search(start, end).items():
                        counts[name] = counts.get(name, 0) + count
                return counts
            for name, fork in answer["repositories"]:
                if not fork:  # commits in forks are no contributions
                    counts[name] = counts.get(name, 0) + 1
            url, page = answer["next_url"], page + 1
            if url is None:
                return counts


def _ask(
    client: GitHubClient, answers: Answers, key: str, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The query's data: from ``answers`` if this sync asked it before, else from GitHub."""
    data = answers.recall(key)
    if data is None:
        data = client.graphql(query, variables)
        answers.remember(key, data)
    result: dict[str, Any] = data
    return result


def _collection(data: dict[str, Any]) -> dict[str, Any]:
    try:
        collection: dict[str, Any] = data["user"]["contributionsCollection"]
    except (KeyError, TypeError) as error:
        raise MalformedResponse("GraphQL answered without user.contributionsCollection") from error
    return collection


def _repository_counts(collection: dict[str, Any]) -> dict[str, int]:
    """Repository -> the member's commits there (GitHub's totalCount counts commits)."""
    return {
        entry["repository"]["nameWithOwner"]: int(entry["contributions"]["totalCount"])
        for entry in collection["commitContributionsByRepository"]
        if entry.get("repository")
    }


def _capped(found: dict[str, int], collection: dict[str, Any]) -> bool:
    """Whether GitHub left repositories out: it returned its maximum, or said there are more."""
    total = collection.get("totalRepositoriesWithContributedCommits")
    return len(found) >= MAX_REPOSITORIES or (isinstance(total, int) and total > len(found))


def _collect(result: PeriodContributions, connection: str, nodes: list[dict[str, Any]]) -> None:
    for node in nodes:
        if connection == "pullRequestReviewContributions":
            review = node.get("pullRequestReview")
            if review:
                result.reviews.append(
                    {
                        "repository": review["repository"]["nameWithOwner"],
                        "pull_request": int(review["pullRequest"]["number"]),
                        "state": review["state"],
                        "submitted_at": _normal(review["submittedAt"] or node["occurredAt"]),
                        "url": review["url"],
                    }
                )
            continue
        item = node.get("issue") if connection == "issueContributions" else node.get("pullRequest")
        if not item:
            continue  # GitHub returns null for items the token may no longer see
        record = {
            "repository": item["repository"]["nameWithOwner"],
            "number": int(item["number"]),
            "title": item["title"],
            "state": item["state"],
            "created_at": _normal(item["createdAt"]),
            "url": item["url"],
        }
        if connection == "issueContributions":
            result.issues.append(record)  # type: ignore[arg-type]
        else:
            result.pull_requests.append(record)  # type: ignore[arg-type]


def _iso(when: dt.datetime) -> str:
    return utc_timestamp(when)


def _parse(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _normal(timestamp: str) -> str:
    return utc_timestamp(_parse(timestamp))
