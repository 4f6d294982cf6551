"""GraphQL contributionsCollection: parsing, connection pages and the 100-repository cap."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import respx

from fetcher.contributions import MAX_REPOSITORIES, fetch_period
from shared.errors import MalformedResponse, RateLimited
from shared.github.client import GitHubClient
from shared.isoweek import IsoWeek

API = "https://api.github.test"
STARTS_AT = IsoWeek(2024, 1).starts_at  # 2024-01-01
ENDS_AT = IsoWeek(2024, 52).ends_at  # 2024-12-30
Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


@pytest.fixture
def client() -> Iterator[GitHubClient]:
    with GitHubClient(api_url=API, token="gho_test", sleep=lambda s: None) as github:
        yield github


def serve(handler: Handler) -> tuple[respx.Route, list[tuple[str, dict[str, Any]]]]:
    """Answer POST /graphql with ``handler(query, variables)`` as the data."""
    queries: list[tuple[str, dict[str, Any]]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        queries.append((body["query"], body["variables"]))
        data = handler(body["query"], body["variables"])
        return httpx.Response(200, json={"data": {"user": {"contributionsCollection": data}}})

    return respx.post(f"{API}/graphql").mock(side_effect=respond), queries


def connection(nodes: list[Any], *, next_cursor: str | None = None) -> dict[str, Any]:
    return {
        "pageInfo": {"hasNextPage": next_cursor is not None, "endCursor": next_cursor},
        "nodes": nodes,
    }


def issue_node(number: int, created_at: str, kind: str = "issue") -> dict[str, Any]:
    return {
        "occurredAt": created_at,
        kind: {
            "number": number,
            "title": f"{kind} {number}",
            "url": f"https://github.com/octo/cat/{kind}/{number}",
            "state": "OPEN",
            "createdAt": created_at,
            "repository": {"nameWithOwner": "octo/cat"},
        },
    }


def review_node(number: int, submitted_at: str | None) -> dict[str, Any]:
    return {
        "occurredAt": "2024-03-03T03:03:03Z",
        "pullRequestReview": {
            "url": f"https://github.com/octo/dog/pull/{number}#pullrequestreview-{number}",
            "state": "APPROVED",
            "submittedAt": submitted_at,
            "pullRequest": {"number": number},
            "repository": {"nameWithOwner": "octo/dog"},
        },
    }


def repositories(names: list[str], commits: int = 2) -> list[dict[str, Any]]:
    return [
        {"repository": {"nameWithOwner": name}, "contributions": {"totalCount": commits}}
        for name in names
    ]


def period_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "contributionCalendar": {
            "weeks": [
                {
                    "contributionDays": [
                        {"date": "2024-01-01", "contributionCount": 2},
                        {"date": "2024-01-02", "contributionCount": 0},
                    ]
                },
                {"contributionDays": [{"date": "2024-01-08", "contributionCount": 5}]},
            ]
        },
        "commitContributionsByRepository": repositories(["octo/cat", "octo/dog"]),
        "issueContributions": connection([issue_node(7, "2024-02-01T10:00:00+01:00")]),
        "pullRequestContributions": connection(
            [issue_node(8, "2024-02-02T10:00:00Z", kind="pullRequest")]
        ),
        "pullRequestReviewContributions": connection(
            [review_node(9, "2024-02-03T10:00:00Z"), review_node(10, None)]
        ),
    }
    data.update(overrides)
    return data


@respx.mock
def test_fetch_period_parses_calendar_repositories_and_contributions(
    client: GitHubClient,
) -> None:
    route, queries = serve(lambda query, variables: period_data())
    result = fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT)
    assert route.call_count == 1
    assert queries[0][1] == {
        "login": "octocat",
        "from": "2024-01-01T00:00:00Z",
        "to": "2024-12-29T23:59:59Z",  # the end is exclusive
    }
    assert result.calendar == {"2024-01-01": 2, "2024-01-02": 0, "2024-01-08": 5}
    assert result.repositories == {"octo/cat": 2, "octo/dog": 2}
    assert result.issues == [
        {
            "repository": "octo/cat",
            "number": 7,
            "title": "issue 7",
            "state": "OPEN",
            "created_at": "2024-02-01T09:00:00Z",
            "url": "https://github.com/octo/cat/issue/7",
        }
    ]
    assert [p["number"] for p in result.pull_requests] == [8]
    assert result.pull_requests[0]["created_at"] == "2024-02-02T10:00:00Z"
    assert result.reviews[0] == {
        "repository": "octo/dog",
        "pull_request": 9,
        "state": "APPROVED",
        "submitted_at": "2024-02-03T10:00:00Z",
        "url": "https://github.com/octo/dog/pull/9#pullrequestreview-9",
    }
    # A review without submittedAt falls back to when the contribution occurred.
    assert result.reviews[1]["submitted_at"] == "2024-03-03T03:03:03Z"


@respx.mock
def test_items_the_token_can_no_longer_see_are_skipped(client: GitHubClient) -> None:
    serve(
        lambda query, variables: period_data(
            issueContributions=connection([{"occurredAt": "2024-02-01T00:00:00Z", "issue": None}]),
            pullRequestReviewContributions=connection([{"pullRequestReview": None}]),
        )
    )
    result = fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT)
    assert result.issues == []
    assert result.reviews == []


@respx.mock
def test_fetch_period_follows_has_next_page(client: GitHubClient) -> None:
    def handler(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "contributionCalendar" in query:
            return period_data(
                issueContributions=connection(
                    [issue_node(n, "2024-02-01T00:00:00Z") for n in (1, 2)], next_cursor="c1"
                )
            )
        assert "issueContributions(first: 100, after: $after)" in query
        if variables["after"] == "c1":
            return {
                "issueContributions": connection(
                    [issue_node(3, "2024-02-02T00:00:00Z")], next_cursor="c2"
                )
            }
        assert variables["after"] == "c2"
        return {"issueContributions": connection([issue_node(4, "2024-02-03T00:00:00Z")])}

    route, queries = serve(handler)
    result = fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT)
    assert [issue["number"] for issue in result.issues] == [1, 2, 3, 4]
    assert route.call_count == 3
    for _, variables in queries[1:]:
        assert variables["from"] == "2024-01-01T00:00:00Z"
        assert variables["to"] == "2024-12-29T23:59:59Z"
    # The other connections had no further page: nothing else was asked.
    assert [p["number"] for p in result.pull_requests] == [8]


def names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}/repo-{i:03d}" for i in range(count)]


@respx.mock
def test_hitting_the_repository_cap_splits_the_period_and_unions_the_halves(
    client: GitHubClient,
) -> None:
    early = names("early", 70)
    late = names("late", 60)
    both = ["octo/cat"]

    def handler(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        if "contributionCalendar" in query:
            capped = (both + early + late)[:MAX_REPOSITORIES]
            return period_data(commitContributionsByRepository=repositories(capped))
        assert "issueContributions" not in query
        if variables["from"] == "2024-01-01T00:00:00Z":
            return {"commitContributionsByRepository": repositories(both + early)}
        return {"commitContributionsByRepository": repositories(both + late)}

    route, queries = serve(handler)
    result = fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT)
    assert set(result.repositories) == set(both + early + late)
    assert len(result.repositories) == 131
    # A repository with commits in both halves counts the commits of both.
    assert result.repositories["octo/cat"] == 4 and result.repositories["late/repo-000"] == 2
    assert route.call_count == 3
    halves = [variables for _, variables in queries[1:]]
    # The halves cover the period with no gap and no overlap.
    assert halves[0]["from"] == "2024-01-01T00:00:00Z"
    assert halves[1]["to"] == "2024-12-29T23:59:59Z"
    first_end = dt.datetime.fromisoformat(halves[0]["to"].replace("Z", "+00:00"))
    second_start = dt.datetime.fromisoformat(halves[1]["from"].replace("Z", "+00:00"))
    assert second_start - first_end == dt.timedelta(seconds=1)
    assert STARTS_AT < second_start < ENDS_AT


@respx.mock
def test_a_half_still_at_the_cap_is_split_again(client: GitHubClient) -> None:
    def handler(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        start = dt.datetime.fromisoformat(variables["from"].replace("Z", "+00:00"))
        end = dt.datetime.fromisoformat(variables["to"].replace("Z", "+00:00"))
        days = (end - start).days + 1
        # One new repository per day: anything longer than 99 days hits the cap.
        found = [f"octo/day-{(start + dt.timedelta(days=d)).date()}" for d in range(days)]
        found = found[:MAX_REPOSITORIES]
        if "contributionCalendar" in query:
            return period_data(commitContributionsByRepository=repositories(found))
        return {"commitContributionsByRepository": repositories(found)}

    serve(handler)
    result = fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT)
    expected = {
        f"octo/day-{STARTS_AT.date() + dt.timedelta(days=d)}"
        for d in range((ENDS_AT - STARTS_AT).days)
    }
    assert set(result.repositories) == expected


@respx.mock
def test_an_answer_without_the_collection_is_malformed(client: GitHubClient) -> None:
    respx.post(f"{API}/graphql").respond(200, json={"data": {"user": None}})
    with pytest.raises(MalformedResponse):
        fetch_period(client, login="ghost", starts_at=STARTS_AT, ends_at=ENDS_AT)


class Kept:
    """Answers kept between two runs of one sync (SyncProgress keeps them in Redis)."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}

    def recall(self, query_key: str) -> Any:
        return self.answers.get(query_key)

    def remember(self, query_key: str, answer: Any) -> None:
        self.answers[query_key] = answer


@respx.mock
def test_a_period_resumes_after_a_limit_without_asking_again(client: GitHubClient) -> None:
    limited = {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}]}
    headers = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1900000000"}
    asked: list[str] = []

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append(body["variables"].get("after") or "first")
        if body["variables"].get("after") == "c1" and asked.count("c1") == 1:
            return httpx.Response(200, json=limited, headers=headers)
        data = period_data(
            issueContributions=connection(
                [issue_node(1, "2024-02-01T00:00:00Z")],
                next_cursor="c1" if "contributionCalendar" in body["query"] else None,
            )
        )
        return httpx.Response(200, json={"data": {"user": {"contributionsCollection": data}}})

    respx.post(f"{API}/graphql").mock(side_effect=respond)
    kept = Kept()
    with pytest.raises(RateLimited):
        fetch_period(client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT, answers=kept)
    result = fetch_period(
        client, login="octocat", starts_at=STARTS_AT, ends_at=ENDS_AT, answers=kept
    )
    assert asked == ["first", "c1", "c1"]  # the first page was not asked again
    assert [issue["number"] for issue in result.issues] == [1, 1]


def search_item(repository: str, *, fork: bool = False) -> dict[str, Any]:
    return {"sha": "0" * 40, "repository": {"full_name": repository, "fork": fork}}


@respx.mock
def test_a_day_over_the_repository_cap_is_asked_of_the_commit_search(
    client: GitHubClient,
) -> None:
    day = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    everyone = names("wide", 150)

    def handler(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        starts = dt.datetime.fromisoformat(variables["from"].replace("Z", "+00:00"))
        ends = dt.datetime.fromisoformat(variables["to"].replace("Z", "+00:00"))
        found = everyone[:MAX_REPOSITORIES] if starts <= day <= ends else []
        data = {
            "commitContributionsByRepository": repositories(found, commits=1),
            "totalRepositoriesWithContributedCommits": 150 if found else 0,
        }
        return period_data(**data) if "contributionCalendar" in query else data

    serve(handler)
    pages = [
        httpx.Response(
            200,
            json={"total_count": 151, "items": [search_item(n) for n in everyone[:100]]},
            headers={"link": f'<{API}/search/commits?q=x&page=2>; rel="next"'},
        ),
        httpx.Response(
            200,
            json={
                "total_count": 151,
                "items": [search_item(n) for n in everyone[100:]]
                + [search_item("a/fork", fork=True)],
            },
        ),
    ]
    search = respx.get(url__startswith=f"{API}/search/commits").mock(side_effect=pages)
    result = fetch_period(
        client,
        login="octocat",
        starts_at=day - dt.timedelta(days=1),
        ends_at=day + dt.timedelta(days=1),
    )
    assert set(result.repositories) == set(everyone)  # no repository lost, no fork added
    first = search.calls[0].request.url.params
    assert first["q"] == "author:octocat author-date:2024-05-01T00:00:00Z..2024-05-01T23:59:59Z"
    assert (first["sort"], first["order"], first["per_page"]) == ("author-date", "asc", "100")
    assert str(search.calls[1].request.url) == f"{API}/search/commits?q=x&page=2"
