"""GraphQL: validation against GitHub's schema, calendar consistent with ground truth, limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

CALENDAR_QUERY = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  rateLimit { cost remaining resetAt }
  user(login: $login) {
    databaseId login createdAt
    contributionsCollection(from: $from, to: $to) {
      restrictedContributionsCount
      contributionCalendar {
        totalContributions weeks { contributionDays { date contributionCount } }
      }
      commitContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner isPrivate isFork url defaultBranchRef { name } }
        contributions(first: 100) { totalCount nodes { occurredAt commitCount }
          pageInfo { hasNextPage endCursor } }
      }
      pullRequestContributions(first: 10) { totalCount nodes { occurredAt
        pullRequest { number title url state createdAt repository { nameWithOwner } } } }
    }
  }
}
"""


def _post(
    client: httpx.Client, headers: dict[str, str], query: str, **variables: object
) -> httpx.Response:
    return client.post(
        "/github-api/graphql", headers=headers, json={"query": query, "variables": variables}
    )


def _year(client: httpx.Client) -> tuple[str, str]:
    now = dt.datetime.fromisoformat(
        client.get("/_sandbox/clock").json()["now"].replace("Z", "+00:00")
    )
    start = now - dt.timedelta(days=360)
    return start.strftime("%Y-%m-%dT%H:%M:%SZ"), now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_unknown_field_is_rejected_like_github(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-small")
    answer = _post(client, headers, "{ viewer { login favouriteColour } }")
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert "favouriteColour" in errors[0]["message"] and errors[0]["locations"]
    assert "data" not in answer.json()


def test_calendar_matches_ground_truth(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-typical", "repo,read:user")
    start, end = _year(client)
    answer = _post(
        client, headers, CALENDAR_QUERY, login="octo-typical", **{"from": start, "to": end}
    )
    body = answer.json()
    assert "errors" not in body, body
    collection = body["data"]["user"]["contributionsCollection"]
    days = {
        d["date"]: d["contributionCount"]
        for w in collection["contributionCalendar"]["weeks"]
        for d in w["contributionDays"]
    }
    truth = client.get("/_sandbox/github/users/octo-typical/truth").json()
    truth_days = {
        day: n
        for week in truth["weeks"].values()
        for day, n in week["contributions"].items()
        if day in days
    }
    assert sum(days.values()) == collection["contributionCalendar"]["totalContributions"] > 0
    assert {d: n for d, n in days.items() if n} == {d: n for d, n in truth_days.items() if n}
    by_repo = collection["commitContributionsByRepository"]
    counts = [sum(n["commitCount"] for n in r["contributions"]["nodes"]) for r in by_repo]
    assert counts == sorted(counts, reverse=True)
    assert body["data"]["rateLimit"]["cost"] == 1


def test_private_contributions_are_restricted_without_repo_scope(
    client: httpx.Client, github_token: Any
) -> None:
    start, end = _year(client)
    variables = {"login": "octo-typical", "from": start, "to": end}
    public = _post(client, github_token("octo-typical"), CALENDAR_QUERY, **variables).json()
    full = _post(client, github_token("octo-typical", "repo"), CALENDAR_QUERY, **variables).json()
    pub, ful = (b["data"]["user"]["contributionsCollection"] for b in (public, full))
    assert pub["contributionCalendar"] == ful["contributionCalendar"]
    assert ful["restrictedContributionsCount"] == 0 and pub["restrictedContributionsCount"] > 0
    assert not any(r["repository"]["isPrivate"] for r in pub["commitContributionsByRepository"])


def test_span_over_a_year_is_an_error(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-small")
    query = (
        "query($from: DateTime!, $to: DateTime!) { viewer {"
        " contributionsCollection(from: $from, to: $to) { totalCommitContributions } } }"
    )
    answer = _post(
        client, headers, query, **{"from": "2020-01-01T00:00:00Z", "to": "2022-01-01T00:00:00Z"}
    )
    assert "must not exceed 1 year" in answer.json()["errors"][0]["message"]


def test_graphql_limit_exhausted_is_200_rate_limited(
    client: httpx.Client, github_token: Any
) -> None:
    client.post("/_sandbox/config", json={"graphql_limit": 1})
    headers = github_token("octo-small")
    assert "errors" not in _post(client, headers, "{ viewer { login } }").json()
    limited = _post(client, headers, "{ viewer { login } }")
    assert limited.status_code == 200
    assert limited.json()["errors"][0]["type"] == "RATE_LIMITED"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert client.get("/_sandbox/stats?login=octo-small").json()["violations"] == 1
