"""GraphQL ``contributionsCollection``: what happened in a period, and where commits landed.

One query per period (at most a year) gives the daily calendar, the repositories that received
the member's commits, and the issues, pull requests and reviews the member opened or submitted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shared.activity import Issue, PullRequest, Review, utc_timestamp
from shared.errors import MalformedResponse
from shared.github.client import GitHubClient

# GitHub returns at most this many repositories in commitContributionsByRepository.
MAX_REPOSITORIES = 100
# Nodes per page of a contributions connection (GitHub's maximum).
PAGE_SIZE = 100

_ISSUE_FIELDS = "number title url state createdAt repository { nameWithOwner }"
_CONNECTIONS = {
    "issueContributions": f"occurredAt issue {{ {_ISSUE_FIELDS} }}",
    "pullRequestContributions": f"occurredAt pullRequest {{ {_ISSUE_FIELDS} }}",
    "pullRequestReviewContributions": (
        "occurredAt pullRequestReview { url state submittedAt "
        "pullRequest { number } repository { nameWithOwner } }"
    ),
}

PERIOD_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      contributionCalendar { weeks { contributionDays { date contributionCount } } }
      commitContributionsByRepository(maxRepositories: %(max_repos)d) {
        repository { nameWithOwner }
        contributions(first: 1) { totalCount }
      }
      %(connections)s
    }
  }
}
""" % {
    "max_repos": MAX_REPOSITORIES,
    "connections": "\n      ".join(
        "%s(first: %d) { pageInfo { hasNextPage endCursor } nodes { %s } }"
        % (name, PAGE_SIZE, fields)
        for name, fields in _CONNECTIONS.items()
    ),
}

REPOSITORIES_QUERY = (
    """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      commitContributionsByRepository(maxRepositories: %d) {
        repository { nameWithOwner }
        contributions(first: 1) { totalCount }
      }
    }
  }
}
"""
    % MAX_REPOSITORIES
)

_PAGE_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!, $after: String!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      %s(first: %d, after: $after) { pageInfo { hasNextPage endCursor } nodes { %s } }
    }
  }
}
"""


@dataclass
class PeriodContributions:
    """Everything the contribution data says about one period."""

    calendar: dict[str, int] = field(default_factory=dict)  # date -> count
    # Where the member's commits landed, and how many: repository -> commits in the period.
    repositories: dict[str, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)
    pull_requests: list[PullRequest] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)


def fetch_period(
    client: GitHubClient, *, login: str, starts_at: dt.datetime, ends_at: dt.datetime
) -> PeriodContributions:
    """Contributions in ``[starts_at, ends_at)``, following pages and the 100-repository cap."""
    variables = {
        "login": login,
        "from": _iso(starts_at),
        "to": _iso(ends_at - dt.timedelta(seconds=1)),
    }
    collection = _collection(client.graphql(PERIOD_QUERY, variables))
    result = PeriodContributions()
    for week in collection["contributionCalendar"]["weeks"]:
        for day in week["contributionDays"]:
            result.calendar[day["date"]] = int(day["contributionCount"])
    repositories = _repository_names(collection)
    if len(repositories) >= MAX_REPOSITORIES:
        repositories = _repositories_split(
            client, login=login, starts_at=starts_at, ends_at=ends_at
        )
    result.repositories = repositories
    for name in _CONNECTIONS:
        connection = collection[name]
        nodes = list(connection["nodes"])
        while connection["pageInfo"]["hasNextPage"]:
            query = _PAGE_QUERY % (name, PAGE_SIZE, _CONNECTIONS[name])
            page_vars = {**variables, "after": connection["pageInfo"]["endCursor"]}
            connection = _collection(client.graphql(query, page_vars))[name]
            nodes.extend(connection["nodes"])
        _collect(result, name, nodes)
    return result


def _repositories_split(
    client: GitHubClient, *, login: str, starts_at: dt.datetime, ends_at: dt.datetime
) -> dict[str, int]:
    """Repositories with commits when one query hits GitHub's cap: halve the period until not."""
    middle = starts_at + (ends_at - starts_at) / 2
    middle = middle.replace(hour=0, minute=0, second=0, microsecond=0)
    counts: dict[str, int] = {}
    for start, end in ((starts_at, middle), (middle, ends_at)):
        if end <= start:
            continue
        variables = {"login": login, "from": _iso(start), "to": _iso(end - dt.timedelta(seconds=1))}
        found = _repository_names(_collection(client.graphql(REPOSITORIES_QUERY, variables)))
        if len(found) >= MAX_REPOSITORIES and end - start > dt.timedelta(days=1):
            found = _repositories_split(client, login=login, starts_at=start, ends_at=end)
        for name, count in found.items():
            counts[name] = counts.get(name, 0) + count
    return counts


def _collection(data: dict[str, Any]) -> dict[str, Any]:
    try:
        collection: dict[str, Any] = data["user"]["contributionsCollection"]
    except (KeyError, TypeError) as error:
        raise MalformedResponse("GraphQL answered without user.contributionsCollection") from error
    return collection


def _repository_names(collection: dict[str, Any]) -> dict[str, int]:
    """Repository -> the member's commits there (GitHub's totalCount counts commits)."""
    return {
        entry["repository"]["nameWithOwner"]: int(entry["contributions"]["totalCount"])
        for entry in collection["commitContributionsByRepository"]
        if entry.get("repository")
    }


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


def _normal(timestamp: str) -> str:
    return utc_timestamp(dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")))
