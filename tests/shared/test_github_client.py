"""The GitHub client: GitHub's rate-limit rules, bounded retries, Link pagination and ETags."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import httpx
import pytest
import redis
import respx

from shared.errors import MalformedResponse, RateLimited, TokenRevoked, UpstreamUnavailable
from shared.github.client import (
    ETAG_MAX_BODY_BYTES,
    MAX_ATTEMPTS,
    SECONDARY_LIMIT_WAIT_S,
    EtagCache,
    GitHubClient,
    fetch_user,
)
from shared.github.ratelimit import RateLimiter

API = "https://api.github.test"
TOKEN = "gho_" + "t" * 36
USER_ID = 583231
SINCE = dt.datetime(2024, 4, 29, tzinfo=dt.UTC)
UNTIL = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)


@pytest.fixture
def github() -> Iterator[respx.Router]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> Iterator[GitHubClient]:
    with GitHubClient(api_url=API, token=TOKEN, sleep=sleeps.append) as github_client:
        yield github_client


def user_body() -> dict[str, object]:
    return {"id": USER_ID, "login": "octocat", "created_at": "2011-01-25T18:44:36Z"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def commit(sha: str) -> dict[str, object]:
    return {"sha": sha * 40, "commit": {"message": sha}}


# ---- /user ----------------------------------------------------------------------------------


def test_get_user_parses_the_body_and_the_granted_scopes(
    github: respx.Router, client: GitHubClient
) -> None:
    route = github.get("/user").respond(
        200, json=user_body(), headers={"x-oauth-scopes": "repo, read:user"}
    )
    user = client.get_user()
    assert user.id == USER_ID
    assert user.login == "octocat"
    assert user.created_at == dt.datetime(2011, 1, 25, 18, 44, 36, tzinfo=dt.UTC)
    assert user.scopes == ["repo", "read:user"]
    assert user.can_read_private
    request = route.calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Accept"] == "application/vnd.github+json"
    assert client.counter.sent == 1


def test_get_user_without_scopes_reads_public_data_only(github: respx.Router) -> None:
    github.get("/user").respond(200, json=user_body(), headers={"x-oauth-scopes": ""})
    user = fetch_user(api_url=API, token=TOKEN)
    assert user.scopes == []
    assert not user.can_read_private


def test_get_user_with_an_unexpected_body_is_malformed(
    github: respx.Router, client: GitHubClient
) -> None:
    github.get("/user").respond(200, json={"message": "hello"})
    with pytest.raises(MalformedResponse):
        client.get_user()


def test_401_means_the_token_was_revoked(github: respx.Router, client: GitHubClient) -> None:
    route = github.get("/user").respond(401, json={"message": "Bad credentials"})
    with pytest.raises(TokenRevoked):
        client.get_user()
    assert route.call_count == 1  # never retried


# ---- limited responses ----------------------------------------------------------------------


def test_403_with_no_remaining_waits_until_the_reset(
    github: respx.Router, client: GitHubClient
) -> None:
    reset = int(now().timestamp()) + 1234
    route = github.get("/user").respond(
        403,
        json={"message": "API rate limit exceeded"},
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    assert raised.value.resets_at == dt.datetime.fromtimestamp(reset, dt.UTC)
    assert raised.value.resource == "core"
    assert route.call_count == 1  # a limited response is not retried


def test_a_skewed_server_clock_is_cancelled_by_its_date_header(
    github: respx.Router, client: GitHubClient
) -> None:
    import email.utils

    server_now = now() + dt.timedelta(hours=2)  # GitHub's clock two hours ahead of ours
    github.get("/user").respond(
        403,
        json={"message": "API rate limit exceeded"},
        headers={
            "date": email.utils.format_datetime(server_now, usegmt=True),
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(int(server_now.timestamp()) + 600),
        },
    )
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    wait_s = (raised.value.resets_at - now()).total_seconds()
    assert 598 <= wait_s <= 601  # ten minutes on any clock, not two hours and ten minutes


def test_retry_after_wins_over_the_reset_header(github: respx.Router, client: GitHubClient) -> None:
    reset = int(now().timestamp()) + 3000
    github.get("/user").respond(
        403,
        json={"message": "You have exceeded a secondary rate limit"},
        headers={
            "retry-after": "120",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": str(reset),
        },
    )
    before = now()
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    assert before + dt.timedelta(seconds=119) <= raised.value.resets_at
    assert raised.value.resets_at <= now() + dt.timedelta(seconds=121)


def test_secondary_limit_without_headers_waits_at_least_a_minute(
    github: respx.Router, client: GitHubClient
) -> None:
    github.get("/user").respond(
        403,
        json={
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again."
        },
    )
    before = now()
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    assert raised.value.resets_at >= before + dt.timedelta(seconds=SECONDARY_LIMIT_WAIT_S)
    assert SECONDARY_LIMIT_WAIT_S >= 60


def test_429_without_headers_is_a_limit(github: respx.Router, client: GitHubClient) -> None:
    github.get("/user").respond(429, text="Too Many Requests")
    before = now()
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    assert raised.value.resets_at >= before + dt.timedelta(seconds=60)


def test_429_with_no_remaining_waits_until_the_reset(
    github: respx.Router, client: GitHubClient
) -> None:
    reset = int(now().timestamp()) + 500
    github.get("/user").respond(
        429, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}
    )
    with pytest.raises(RateLimited) as raised:
        client.get_user()
    assert raised.value.resets_at == dt.datetime.fromtimestamp(reset, dt.UTC)


def test_graphql_rate_limited_error_with_status_200(
    github: respx.Router, client: GitHubClient
) -> None:
    reset = int(now().timestamp()) + 900
    github.post("/graphql").respond(
        200,
        json={
            "data": None,
            "errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded"}],
        },
        headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)},
    )
    with pytest.raises(RateLimited) as raised:
        client.graphql("query { viewer { login } }", {})
    assert raised.value.resets_at == dt.datetime.fromtimestamp(reset, dt.UTC)
    assert raised.value.resource == "graphql"


def test_graphql_other_errors_are_malformed(github: respx.Router, client: GitHubClient) -> None:
    github.post("/graphql").respond(
        200,
        json={
            "data": None,
            "errors": [{"type": "NOT_FOUND", "message": "Could not resolve to a User"}],
        },
    )
    with pytest.raises(MalformedResponse, match="NOT_FOUND"):
        client.graphql("query { viewer { login } }", {})


def test_graphql_sends_query_and_variables_and_returns_data(
    github: respx.Router, client: GitHubClient
) -> None:
    route = github.post("/graphql").respond(200, json={"data": {"viewer": {"login": "octocat"}}})
    data = client.graphql("query($a: Int) { viewer { login } }", {"a": 1})
    assert data == {"viewer": {"login": "octocat"}}
    sent = json.loads(route.calls.last.request.content)
    assert sent == {"query": "query($a: Int) { viewer { login } }", "variables": {"a": 1}}


def test_graphql_without_data_is_malformed(github: respx.Router, client: GitHubClient) -> None:
    github.post("/graphql").respond(200, json={"data": None})
    with pytest.raises(MalformedResponse):
        client.graphql("query { viewer { login } }", {})


# ---- retries --------------------------------------------------------------------------------


def test_5xx_then_200_succeeds_after_a_retry(
    github: respx.Router, client: GitHubClient, sleeps: list[float]
) -> None:
    route = github.get("/user").mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=user_body())]
    )
    assert client.get_user().login == "octocat"
    assert route.call_count == 2
    assert len(sleeps) == 1 and sleeps[0] > 0


def test_5xx_forever_gives_up_after_max_attempts(
    github: respx.Router, client: GitHubClient, sleeps: list[float]
) -> None:
    route = github.get("/user").respond(503)
    with pytest.raises(UpstreamUnavailable):
        client.get_user()
    assert route.call_count == MAX_ATTEMPTS
    assert len(sleeps) == MAX_ATTEMPTS - 1
    assert sleeps == sorted(sleeps) and sleeps[-1] > sleeps[0]  # exponential back-off


def test_timeouts_are_retried(github: respx.Router, client: GitHubClient) -> None:
    route = github.get("/user").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json=user_body())]
    )
    assert client.get_user().id == USER_ID
    assert route.call_count == 2


def test_timeouts_forever_are_unavailable(github: respx.Router, client: GitHubClient) -> None:
    route = github.get("/user").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(UpstreamUnavailable):
        client.get_user()
    assert route.call_count == MAX_ATTEMPTS


def test_malformed_json_is_retried_then_malformed(
    github: respx.Router, client: GitHubClient
) -> None:
    route = github.get("/user").respond(200, text="<html>unicorn</html>")
    with pytest.raises(MalformedResponse):
        client.get_user()
    assert route.call_count == MAX_ATTEMPTS


def test_malformed_json_then_good_json_succeeds(github: respx.Router, client: GitHubClient) -> None:
    github.get("/user").mock(
        side_effect=[httpx.Response(200, text="{trunc"), httpx.Response(200, json=user_body())]
    )
    assert client.get_user().login == "octocat"


# ---- commit listings ------------------------------------------------------------------------


def test_iter_commits_follows_link_next_exactly_as_given(
    github: respx.Router, client: GitHubClient
) -> None:
    # GitHub's next URLs need not look like the first one: the client must not build its own.
    next_url = f"{API}/repositories/1296269/commits?author=octocat&per_page=100&page=2&cursor=xyz"
    first = github.get("/repos/octocat/hello/commits").respond(
        200,
        json=[commit("a"), commit("b")],
        headers={"Link": f'<{next_url}>; rel="next", <{next_url}&last=1>; rel="last"'},
    )
    second = github.get(next_url).respond(200, json=[commit("c")])
    shas = [
        c["sha"][0]
        for c in client.iter_commits("octocat/hello", author="octocat", since=SINCE, until=UNTIL)
    ]
    assert shas == ["a", "b", "c"]
    assert first.call_count == 1 and second.call_count == 1
    params = first.calls.last.request.url.params
    assert params["author"] == "octocat"
    assert params["since"] == "2024-04-29T00:00:00Z"
    assert params["until"] == "2024-05-06T00:00:00Z"
    assert params["per_page"] == "100"
    assert str(second.calls.last.request.url) == next_url


def test_iter_commits_of_an_empty_repository(github: respx.Router, client: GitHubClient) -> None:
    route = github.get("/repos/octocat/empty/commits").respond(
        409, json={"message": "Git Repository is empty."}
    )
    commits = client.iter_commits("octocat/empty", author="octocat", since=SINCE, until=UNTIL)
    assert list(commits) == []
    assert route.call_count == 1


def test_iter_commits_rejects_a_body_that_is_not_a_list(
    github: respx.Router, client: GitHubClient
) -> None:
    github.get("/repos/octocat/hello/commits").respond(200, json={"message": "?"})
    with pytest.raises(MalformedResponse):
        list(client.iter_commits("octocat/hello", author="octocat", since=SINCE, until=UNTIL))


# ---- ETags ----------------------------------------------------------------------------------


@pytest.fixture
def etag_client(redis_client: redis.Redis, sleeps: list[float]) -> Iterator[GitHubClient]:
    etags = EtagCache(redis_client, USER_ID, namespace="test")
    with GitHubClient(api_url=API, token=TOKEN, etags=etags, sleep=sleeps.append) as github_client:
        yield github_client


def conditional(body: object, etag: str, link: str = "") -> object:
    """A GitHub endpoint that answers 304 to a matching If-None-Match."""

    def respond(request: httpx.Request) -> httpx.Response:
        if request.headers.get("If-None-Match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        headers = {"etag": etag}
        if link:
            headers["Link"] = link
        return httpx.Response(200, json=body, headers=headers)

    return respond


def test_second_identical_get_sends_if_none_match_and_uses_the_cached_body(
    github: respx.Router, etag_client: GitHubClient
) -> None:
    route = github.get("/user").mock(side_effect=conditional(user_body(), '"abc123"'))
    first = etag_client.get_user()
    assert "If-None-Match" not in route.calls[0].request.headers
    second = etag_client.get_user()
    assert route.calls[1].request.headers["If-None-Match"] == '"abc123"'
    assert route.calls[1].response.status_code == 304
    assert second == first
    assert etag_client.counter.sent == 2
    assert etag_client.counter.not_modified == 1


def test_etags_survive_the_client_and_are_shared_through_redis(
    github: respx.Router, redis_client: redis.Redis, etag_client: GitHubClient
) -> None:
    route = github.get("/user").mock(side_effect=conditional(user_body(), '"v1"'))
    etag_client.get_user()
    etags = EtagCache(redis_client, USER_ID, namespace="test")
    with GitHubClient(api_url=API, token=TOKEN, etags=etags) as another:
        assert another.get_user().login == "octocat"
        assert another.counter.not_modified == 1
    assert route.call_count == 2


def test_etags_are_per_github_user(
    github: respx.Router, redis_client: redis.Redis, etag_client: GitHubClient
) -> None:
    route = github.get("/user").mock(side_effect=conditional(user_body(), '"v1"'))
    etag_client.get_user()
    other_user = EtagCache(redis_client, USER_ID + 1, namespace="test")
    with GitHubClient(api_url=API, token=TOKEN, etags=other_user) as another:
        another.get_user()
    assert "If-None-Match" not in route.calls[1].request.headers


def etag_bytes(redis_client: redis.Redis) -> int:
    """What the user's cached responses hold in Redis."""
    keys = list(redis_client.scan_iter(match=f"test:etag:{USER_ID}:*"))
    return sum(int(redis_client.memory_usage(key) or 0) for key in keys)


def test_commit_listings_keep_no_etag_and_no_body(
    github: respx.Router, redis_client: redis.Redis, etag_client: GitHubClient
) -> None:
    """Each sync lists other time ranges: a listing's body kept for a 304 is never used."""
    next_url = f"{API}/repositories/1/commits?page=2"
    first = github.get("/repos/octocat/hello/commits").mock(
        side_effect=conditional([commit("a")], '"p1"', link=f'<{next_url}>; rel="next"')
    )
    github.get(next_url).mock(side_effect=conditional([commit("b")], '"p2"'))
    for _ in range(2):
        listed = etag_client.iter_commits(
            "octocat/hello", author="octocat", since=SINCE, until=UNTIL
        )
        assert [c["sha"][0] for c in listed] == ["a", "b"]
    assert "If-None-Match" not in first.calls[1].request.headers
    assert etag_client.counter.not_modified == 0
    assert etag_bytes(redis_client) == 0


def test_a_body_too_large_to_keep_is_not_kept(
    github: respx.Router, redis_client: redis.Redis, etag_client: GitHubClient
) -> None:
    large = {**user_body(), "bio": "x" * (ETAG_MAX_BODY_BYTES + 1)}
    route = github.get("/user").mock(side_effect=conditional(large, '"big"'))
    etag_client.get_user()
    etag_client.get_user()
    assert "If-None-Match" not in route.calls[1].request.headers
    assert etag_bytes(redis_client) == 0


def test_a_members_cached_responses_stay_a_few_kilobytes(
    github: respx.Router, redis_client: redis.Redis, etag_client: GitHubClient
) -> None:
    """A sync's /user and thirty pages of a hundred commits leave one small entry."""
    github.get("/user").mock(side_effect=conditional(user_body(), '"me"'))
    pages = [f"{API}/repositories/1/commits?page={n}" for n in range(2, 31)]
    links = [f'<{url}>; rel="next"' for url in pages] + [""]
    routes = [github.get("/repos/octocat/hello/commits"), *(github.get(url) for url in pages)]
    for number, (route, link) in enumerate(zip(routes, links, strict=True)):
        body = [commit(f"{number:02d}{n:02d}") for n in range(100)]
        route.mock(side_effect=conditional(body, f'"page-{number}"', link=link))
    etag_client.get_user()
    listed = etag_client.iter_commits("octocat/hello", author="octocat", since=SINCE, until=UNTIL)
    assert len(list(listed)) == 3000
    assert 0 < etag_bytes(redis_client) < 4096
    assert etag_client.get_user().login == "octocat"
    assert etag_client.counter.not_modified == 1


def test_a_changed_resource_replaces_the_cached_etag(
    github: respx.Router, etag_client: GitHubClient
) -> None:
    bodies = iter([user_body(), {**user_body(), "login": "renamed"}])
    etag_values = iter(['"v1"', '"v2"'])

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(bodies), headers={"etag": next(etag_values)})

    route = github.get("/user").mock(side_effect=respond)
    etag_client.get_user()
    assert etag_client.get_user().login == "renamed"
    route.mock(side_effect=conditional(None, '"v2"'))
    assert etag_client.get_user().login == "renamed"
    assert etag_client.counter.not_modified == 1


# ---- with the shared limiter ----------------------------------------------------------------


def test_responses_update_the_shared_limiter(
    github: respx.Router, redis_client: redis.Redis
) -> None:
    limiter = RateLimiter(redis_client, namespace="test")
    reset = int(now().timestamp()) + 3600
    github.get("/user").respond(
        200,
        json=user_body(),
        headers={
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4321",
            "x-ratelimit-reset": str(reset),
            "x-ratelimit-resource": "core",
        },
    )
    with GitHubClient(api_url=API, token=TOKEN, user_id=USER_ID, limiter=limiter) as limited:
        limited.get_user()
    assert limiter.state(USER_ID, "core") == {"remaining": 4321, "reset": reset, "limit": 5000}


def test_a_spent_budget_sends_no_request(github: respx.Router, redis_client: redis.Redis) -> None:
    limiter = RateLimiter(redis_client, reserve=10, namespace="test")
    reset = int(now().timestamp()) + 600
    limiter.record(USER_ID, {"x-ratelimit-remaining": "10", "x-ratelimit-reset": str(reset)})
    route = github.get("/user").respond(200, json=user_body())
    with (
        GitHubClient(api_url=API, token=TOKEN, user_id=USER_ID, limiter=limiter) as limited,
        pytest.raises(RateLimited) as raised,
    ):
        limited.get_user()
    assert raised.value.resets_at == dt.datetime.fromtimestamp(reset, dt.UTC)
    assert route.call_count == 0
