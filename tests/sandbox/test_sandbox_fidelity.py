"""The sandbox is never kinder than GitHub: dates, names, deletions, standing, lag, privacy.

Responses are checked with githubkit's models (generated from GitHub's OpenAPI description);
what the sandbox should answer is derived here from the member's raw events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from githubkit_schemas.latest.models import Commit, FullRepository, SearchCommitsGetResponse200

from sandbox.data import BUILTIN_MEMBERS, Directory, anchor_for

EDGE = "octo-edge"
PRIVATE = "repo,read:user"


def events(client: httpx.Client, login: str, until: str | None = None) -> dict[str, Any]:
    params = {"until": until} if until else {}
    result: dict[str, Any] = client.get(
        f"/_sandbox/github/users/{login}/events", params=params
    ).json()
    return result


def graphql(
    client: httpx.Client, headers: dict[str, str], query: str, **variables: Any
) -> dict[str, Any]:
    answer = client.post(
        "/github-api/graphql", headers=headers, json={"query": query, "variables": variables}
    ).json()
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def at(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


CALENDAR = """
query($login: String!, $from: DateTime!, $to: DateTime!) {
  user(login: $login) {
    contributionsCollection(from: $from, to: $to) {
      restrictedContributionsCount
      contributionYears
      contributionCalendar { weeks { contributionDays { date contributionCount } } }
      commitContributionsByRepository(maxRepositories: 100) {
        repository { nameWithOwner } contributions(first: 1) { totalCount }
      }
    }
  }
}
"""


def calendar_of(data: dict[str, Any]) -> dict[str, int]:
    collection = data["user"]["contributionsCollection"]
    return {
        day["date"]: day["contributionCount"]
        for week in collection["contributionCalendar"]["weeks"]
        for day in week["contributionDays"]
    }


def test_every_members_repository_ids_are_distinct() -> None:
    directory = Directory(seed=1, anchor=anchor_for(dt.datetime.now(dt.UTC)))
    for login in BUILTIN_MEMBERS:
        member = directory.get(login)
        assert member is not None
        ids = [repo.id for repo in member.all_repos()]
        assert len(ids) == len(set(ids)), login
        assert max(ids) < 2**31  # GraphQL's databaseId is a 32-bit Int


def test_calendar_counts_the_author_date_and_listing_filters_the_committer_date(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token(EDGE, PRIVATE)
    raw = events(client, EDGE)
    repos = {repo["id"]: repo for repo in raw["repositories"]}
    commit = next(
        c
        for c in raw["commits"]
        if at(c["committed_at"]) - at(c["authored_at"]) > dt.timedelta(days=300)
    )
    repo = repos[commit["repository_id"]]
    authored, committed = at(commit["authored_at"]), at(commit["committed_at"])
    # The contribution data names the repository in the author date's span, not the other.
    for span_start, found in ((authored, True), (committed, False)):
        data = graphql(
            client,
            headers,
            CALENDAR,
            login=EDGE,
            **{
                "from": iso(span_start - dt.timedelta(hours=1)),
                "to": iso(span_start + dt.timedelta(hours=1)),
            },
        )
        names = [
            entry["repository"]["nameWithOwner"]
            for entry in data["user"]["contributionsCollection"]["commitContributionsByRepository"]
        ]
        assert (repo["name"] in names) is found
    # The listing finds it by its committer date only.
    for since, found in ((committed, True), (authored, False)):
        page = client.get(
            f"/github-api/repos/{repo['name']}/commits",
            params={"since": iso(since), "until": iso(since)},
            headers=headers,
        )
        assert (commit["sha"] in [c["sha"] for c in page.json()]) is found


def test_a_former_name_answers_301_to_the_repository_id(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token(EDGE, PRIVATE)
    repo = next(r for r in events(client, EDGE)["repositories"] if r["renames"])
    old = f"/github-api/repos/{repo['created_as']}/commits?author={EDGE}&per_page=5"
    moved = client.get(old, headers=headers)
    assert moved.status_code == 301
    location = moved.headers["location"]
    assert location.endswith(
        f"/github-api/repositories/{repo['id']}/commits?author={EDGE}&per_page=5"
    )
    assert moved.json()["message"] == "Moved Permanently"
    page = client.get(location, headers=headers)
    assert page.status_code == 200 and page.json()
    for item in page.json():
        assert Commit.model_validate(item).html_url.startswith(
            f"https://github.com/{repo['name']}/"
        )
    same = client.get(f"/github-api/repositories/{repo['id']}", headers=headers)
    assert FullRepository.model_validate(same.json()).full_name == repo["name"]
    current = client.get(f"/github-api/repos/{repo['name']}", headers=headers)
    assert current.status_code == 200


def test_a_deleted_repository_is_gone_with_its_contributions(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token(EDGE, PRIVATE)
    raw = events(client, EDGE)
    repo = next(r for r in raw["repositories"] if r["deleted_at"])
    assert (
        client.get(f"/github-api/repos/{repo['name']}/commits", headers=headers).status_code == 404
    )
    listed = client.get("/github-api/user/repos?per_page=100", headers=headers).json()
    assert repo["name"] not in {r["full_name"] for r in listed}
    commit = next(c for c in raw["commits"] if c["repository_id"] == repo["id"])
    day = at(commit["authored_at"])
    data = graphql(
        client,
        headers,
        CALENDAR,
        login=EDGE,
        **{"from": iso(day - dt.timedelta(days=1)), "to": iso(day)},
    )
    names = {
        e["repository"]["nameWithOwner"]
        for e in data["user"]["contributionsCollection"]["commitContributionsByRepository"]
    }
    assert repo["name"] not in names


def test_private_contributions_count_only_if_the_profile_shares_them(
    client: httpx.Client, github_token: Any
) -> None:
    now = dt.datetime.fromisoformat(
        client.get("/_sandbox/clock").json()["now"].replace("Z", "+00:00")
    )
    span = {"from": iso(now - dt.timedelta(days=360)), "to": iso(now)}
    for login, shares in (("octo-typical", True), (EDGE, False)):
        raw = events(client, login)
        assert raw["shows_private_counts"] is shares
        public = graphql(client, github_token(login), CALENDAR, login=login, **span)
        full = graphql(client, github_token(login, PRIVATE), CALENDAR, login=login, **span)
        hidden = sum(calendar_of(full).values()) - sum(calendar_of(public).values())
        restricted = public["user"]["contributionsCollection"]["restrictedContributionsCount"]
        if shares:  # counted, anonymously
            assert hidden == 0 and restricted > 0
        else:  # left out of the calendar altogether
            assert hidden > 0 and restricted == 0
        assert full["user"]["contributionsCollection"]["restrictedContributionsCount"] == 0


def test_commits_count_only_where_the_member_has_standing(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token(EDGE, PRIVATE)
    raw = events(client, EDGE)
    repo = next(r for r in raw["repositories"] if not r["member_has_standing"])
    commit = next(c for c in raw["commits"] if c["repository_id"] == repo["id"])
    day = at(commit["authored_at"])
    data = graphql(
        client,
        headers,
        CALENDAR,
        login=EDGE,
        **{"from": iso(day - dt.timedelta(hours=1)), "to": iso(day + dt.timedelta(hours=1))},
    )
    names = {
        e["repository"]["nameWithOwner"]
        for e in data["user"]["contributionsCollection"]["commitContributionsByRepository"]
    }
    assert repo["name"] not in names
    # GitHub still serves the commits: they are just not the member's contributions.
    page = client.get(f"/github-api/repos/{repo['name']}/commits?author={EDGE}", headers=headers)
    assert commit["sha"] in {c["sha"] for c in page.json()}


def test_contribution_years_go_back_before_the_account(
    client: httpx.Client, github_token: Any
) -> None:
    raw = events(client, EDGE)
    created = at(raw["created_at"])
    earliest = min(at(c["authored_at"]) for c in raw["commits"])
    assert earliest.year < created.year
    data = graphql(
        client,
        github_token(EDGE),
        "query($login: String!) { user(login: $login) "
        "{ contributionsCollection { contributionYears } } }",
        login=EDGE,
    )
    years = data["user"]["contributionsCollection"]["contributionYears"]
    assert min(years) == earliest.year


def test_contributions_appear_up_to_a_day_late(client: httpx.Client, github_token: Any) -> None:
    now = at(client.get("/_sandbox/clock").json()["now"])
    future = events(client, EDGE, until=iso(now + dt.timedelta(days=200)))
    repos = {repo["id"]: repo for repo in future["repositories"]}
    issue = next(
        i
        for i in future["issues"] + future["pull_requests"]
        if at(i["created_at"]) > now + dt.timedelta(days=1)
        and i["counted_after_s"] > 3600
        and not repos[i["repository_id"]]["private"]
    )
    created = at(issue["created_at"])
    client.post("/_sandbox/clock", json={"advance_seconds": (created - now).total_seconds() + 60})
    span = {"from": iso(created - dt.timedelta(hours=1)), "to": iso(created + dt.timedelta(days=2))}
    before = calendar_of(graphql(client, github_token(EDGE), CALENDAR, login=EDGE, **span))
    client.post("/_sandbox/clock", json={"advance_seconds": issue["counted_after_s"]})
    after = calendar_of(graphql(client, github_token(EDGE), CALENDAR, login=EDGE, **span))
    day = issue["created_at"][:10]
    assert after[day] == before[day] + 1


PUSHED = """
query($login: String!) {
  user(login: $login) {
    repositoriesContributedTo(first: 100, contributionTypes: [COMMIT], includeUserRepositories: %s,
                              orderBy: {field: PUSHED_AT, direction: DESC}) {
      totalCount nodes { nameWithOwner pushedAt isFork }
    }
  }
}
"""


def test_repositories_contributed_to_are_those_of_the_last_year(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token("octo-wideday", PRIVATE)
    raw = events(client, "octo-wideday")
    now = at(raw["now"])
    repos = {repo["id"]: repo for repo in raw["repositories"]}
    recent = {
        repos[c["repository_id"]]["name"]
        for c in raw["commits"]
        if now - at(c["authored_at"]) <= dt.timedelta(days=365)
    }
    data = graphql(client, headers, PUSHED % "true", login="octo-wideday")
    nodes = data["user"]["repositoriesContributedTo"]["nodes"]
    assert {n["nameWithOwner"] for n in nodes} == recent
    pushed = [n["pushedAt"] for n in nodes]
    assert pushed == sorted(pushed, reverse=True)
    # The wide day, over a year ago, is not "recent": GitHub would not list its repositories.
    assert len(recent) < 100 < len(repos)
    others = graphql(client, headers, PUSHED % "false", login="octo-wideday")
    assert all(
        not n["nameWithOwner"].startswith("octo-wideday/")
        for n in others["user"]["repositoriesContributedTo"]["nodes"]
    )


def test_commit_search_by_author_date_parses_as_githubs_and_stops_at_1000(
    client: httpx.Client, github_token: Any
) -> None:
    headers = github_token("octo-wideday", PRIVATE)
    raw = events(client, "octo-wideday")
    per_day: dict[str, int] = {}
    for commit in raw["commits"]:
        per_day[commit["authored_at"][:10]] = per_day.get(commit["authored_at"][:10], 0) + 1
    day = max(per_day, key=lambda d: per_day[d])
    query = f"author:octo-wideday author-date:{day}T00:00:00Z..{day}T23:59:59Z"
    answer = client.get(
        "/github-api/search/commits",
        params={"q": query, "sort": "author-date", "order": "asc", "per_page": 100},
        headers=headers,
    )
    assert answer.status_code == 200
    assert answer.headers["x-ratelimit-resource"] == "search"
    page = SearchCommitsGetResponse200.model_validate(answer.json())
    assert page.total_count == per_day[day] > 100
    authored = {item["commit"]["author"]["date"][:10] for item in answer.json()["items"]}
    assert authored == {day} and len(page.items) == 100
    assert 'rel="next"' in answer.headers["link"]
    beyond = client.get(
        "/github-api/search/commits",
        params={"q": "author:octo-wideday", "per_page": 100, "page": 11},
        headers=headers,
    )
    assert beyond.status_code == 422
