"""REST fidelity, checked with githubkit's models generated from GitHub's OpenAPI description."""

from __future__ import annotations

import re
from typing import Any

import httpx
from githubkit_schemas.latest.models import Commit, PrivateUser, RateLimitOverview, Repository


def _next(response: httpx.Response) -> str | None:
    match = re.search(r'<([^>]+)>; rel="next"', response.headers.get("link", ""))
    return match.group(1) if match else None


def test_user_parses_as_githubs_private_user(client: httpx.Client, github_token: Any) -> None:
    response = client.get("/github-api/user", headers=github_token("octo-small"))
    assert response.status_code == 200
    user = PrivateUser.model_validate(response.json())
    truth = client.get("/_sandbox/github/users/octo-small/truth").json()["github"]
    assert (user.id, user.login) == (truth["id"], "octo-small")
    assert response.headers["x-oauth-scopes"] == "read:user"
    assert response.headers["x-ratelimit-resource"] == "core"
    assert response.headers["x-ratelimit-remaining"] == "4999"


def test_repos_paginate_with_link_and_hide_private_without_repo_scope(
    client: httpx.Client, github_token: Any
) -> None:
    def all_repos(headers: dict[str, str]) -> list[Repository]:
        url: str | None = "/github-api/user/repos?per_page=5"
        repos: list[Repository] = []
        while url:
            page = client.get(url, headers=headers)
            assert page.status_code == 200
            repos += [Repository.model_validate(r) for r in page.json()]
            url = _next(page)
        return repos

    public = all_repos(github_token("octo-typical"))
    everything = all_repos(github_token("octo-typical", "repo,read:user"))
    assert len(everything) == 12 and len({r.full_name for r in everything}) == 12
    assert [r for r in everything if r.private] and not [r for r in public if r.private]
    assert any(r.fork for r in everything)


def test_commits_filter_paginate_and_match_truth(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-small")
    truth = client.get("/_sandbox/github/users/octo-small/truth?private=false").json()
    expected = {c["sha"] for w in truth["weeks"].values() for c in w["commits"]}
    repos = client.get("/github-api/user/repos", headers=headers).json()
    seen: set[str] = set()
    for repo in repos:
        url: str | None = (
            f"/github-api/repos/{repo['full_name']}/commits?author=octo-small&per_page=30"
        )
        while url:
            page = client.get(url, headers=headers)
            assert page.status_code == 200
            for item in page.json():
                commit = Commit.model_validate(item)
                assert commit.author and commit.author.login == "octo-small"  # type: ignore[union-attr]
                seen.add(commit.sha)
            url = _next(page)
    assert seen == expected


def test_commits_since_until_are_inclusive_on_committer_date(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token("octo-small")
    truth = client.get("/_sandbox/github/users/octo-small/truth").json()
    commit = next(c for w in truth["weeks"].values() for c in w["commits"])
    at = commit["committed_at"]
    page = client.get(
        f"/github-api/repos/{commit['repository']}/commits",
        params={"since": at, "until": at},
        headers=headers,
    )
    assert [c["sha"] for c in page.json()] == [commit["sha"]]


def test_empty_repository_answers_409_and_private_404_without_scope(
    client: httpx.Client, github_token: Any
) -> None:
    full = github_token("octo-typical", "repo")
    repos = client.get("/github-api/user/repos?per_page=100", headers=full).json()
    empty = [r for r in repos if not r["fork"] and r["pushed_at"] == r["created_at"]]
    assert empty
    answer = client.get(f"/github-api/repos/{empty[0]['full_name']}/commits", headers=full)
    assert answer.status_code == 409
    assert answer.json()["message"] == "Git Repository is empty."
    private = next(r for r in repos if r["private"])
    public_token = github_token("octo-typical")
    hidden = client.get(f"/github-api/repos/{private['full_name']}/commits", headers=public_token)
    assert hidden.status_code == 404


def test_bad_credentials_and_revoked_token(client: httpx.Client, github_token: Any) -> None:
    answer = client.get("/github-api/user", headers={"Authorization": "token nope"})
    assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"
    headers = github_token("octo-small")
    client.post("/_sandbox/faults", json={"kind": "revoke", "login": "octo-small"})
    assert client.get("/github-api/user", headers=headers).status_code == 401


def test_etag_304_costs_nothing(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-small")
    first = client.get("/github-api/user", headers=headers)
    again = client.get(
        "/github-api/user", headers={**headers, "If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-ratelimit-remaining"] == first.headers["x-ratelimit-remaining"]
    stats = client.get("/_sandbox/stats?login=octo-small").json()
    assert stats["not_modified"] == 1 and stats["counted"] == 1


def test_exhausted_limit_gives_403_and_counts_violations(
    client: httpx.Client, github_token: Any
) -> None:
    client.post("/_sandbox/config", json={"core_limit": 2})
    headers = github_token("octo-small")
    assert client.get("/github-api/user", headers=headers).status_code == 200
    assert client.get("/github-api/user", headers=headers).status_code == 200
    limited = client.get("/github-api/user", headers=headers)
    assert limited.status_code == 403
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert limited.json()["message"].startswith("API rate limit exceeded for user ID")
    assert client.get("/_sandbox/stats?login=octo-small").json()["violations"] == 1
    # The window resets at x-ratelimit-reset, or when the sandbox clock jumps past it.
    client.post("/_sandbox/clock", json={"advance_seconds": 3601})
    assert client.get("/github-api/user", headers=headers).status_code == 200
    overview = client.get("/github-api/rate_limit", headers=headers)
    RateLimitOverview.model_validate(overview.json())


def test_injected_5xx_and_malformed(client: httpx.Client, github_token: Any) -> None:
    headers = github_token("octo-small")
    client.post("/_sandbox/faults", json={"kind": "5xx", "path_contains": "/user"})
    assert client.get("/github-api/user", headers=headers).status_code == 502
    client.post("/_sandbox/faults", json={"kind": "malformed", "login": "octo-small"})
    broken = client.get("/github-api/user", headers=headers)
    assert broken.status_code == 200
    try:
        broken.json()
        raise AssertionError("the body should be truncated JSON")
    except ValueError:
        pass
    assert client.get("/github-api/user", headers=headers).json()["login"] == "octo-small"
