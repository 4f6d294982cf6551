"""The GitHub client follows GitHub's redirects on its own host, and tells refusals apart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import respx

from shared.errors import UpstreamError
from shared.github.client import GitHubClient, NotFound, Unavailable

API = "https://api.github.test"
SINCE = dt.datetime(2024, 4, 29, tzinfo=dt.UTC)
UNTIL = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)


@pytest.fixture
def github() -> Iterator[respx.Router]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client() -> Iterator[GitHubClient]:
    with GitHubClient(api_url=API, token="gho_test", sleep=lambda s: None) as github_client:
        yield github_client


def listing(client: GitHubClient, repository: str) -> list[str]:
    pages = client.iter_commits(repository, author="octocat", since=SINCE, until=UNTIL)
    return [str(item["sha"]) for item in pages]


@pytest.mark.parametrize("status", [301, 302, 307])
def test_a_renamed_repository_is_followed_to_its_new_url(
    github: respx.Router, client: GitHubClient, status: int
) -> None:
    moved = f"{API}/repositories/42/commits?author=octocat&since=x&until=y&per_page=100"
    old = github.get("/repos/octocat/old-name/commits").respond(
        status,
        json={"message": "Moved Permanently", "url": moved},
        headers={"Location": moved},
    )
    new = github.get(moved).respond(200, json=[{"sha": "a"}, {"sha": "b"}])
    assert listing(client, "octocat/old-name") == ["a", "b"]
    assert old.call_count == 1 and new.call_count == 1
    assert str(new.calls.last.request.url) == moved  # the Location, parameters and all


def test_a_redirect_to_another_host_is_not_followed(
    github: respx.Router, client: GitHubClient
) -> None:
    github.get("/repos/octocat/hello/commits").respond(
        301, headers={"Location": "https://elsewhere.test/steal-the-token"}
    )
    with pytest.raises(Unavailable):
        listing(client, "octocat/hello")


def test_a_redirect_loop_ends(github: respx.Router, client: GitHubClient) -> None:
    route = github.get("/repos/octocat/loop/commits").respond(
        301, headers={"Location": f"{API}/repos/octocat/loop/commits"}
    )
    with pytest.raises(Unavailable):
        listing(client, "octocat/loop")
    assert route.call_count == 3


@pytest.mark.parametrize("status", [403, 410, 451])
def test_refusals_that_no_retry_cures_are_unavailable(
    github: respx.Router, client: GitHubClient, status: int
) -> None:
    route = github.get("/repos/octocat/blocked/commits").respond(
        status, json={"message": "Repository access blocked"}
    )
    with pytest.raises(Unavailable) as raised:
        listing(client, "octocat/blocked")
    assert route.call_count == 1  # never retried
    # A NotFound (the sync skips that repository), and an UpstreamError (the gateway shows a
    # page, not a 500, should /user ever answer so).
    assert isinstance(raised.value, NotFound) and isinstance(raised.value, UpstreamError)
