"""The uploaded file equals what GitHub holds, for GitHub as it really behaves.

Each test syncs a sandbox member (the real fetcher and uploader, in-process) and compares the
file on Open Humans with the weeks derived in ``tests.e2e.expected`` from the member's raw
events, never with the sandbox's own ground truth or the project's code.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fetcher.sync import Outcome, sync_member
from shared.db import Member
from shared.fileformat import parse
from shared.runtime import Runtime
from tests.e2e.expected import (
    complete_weeks,
    differences,
    expected_weeks,
    week_key,
)
from tests.e2e.expected import (
    parse as parse_time,
)
from uploader.publish import publish

PRIVATE = "repo read:user"
PUBLIC = "read:user"


def sync_until_done(
    member_id: int, runtime: Runtime, *, between: Callable[[], None] = lambda: None
) -> int:
    """Run syncs as the re-sent messages would; returns how many times it waited."""
    waits = 0
    outcome: Outcome = sync_member(member_id, runtime)
    while outcome.kind == "waiting":
        waits += 1
        assert waits < 200, "the sync makes no progress across resets"
        between()
        time.sleep(outcome.retry_in_s or 1)
        outcome = sync_member(member_id, runtime)
    assert outcome.kind == "done", outcome
    return waits


def the_file(sandbox: httpx.Client, login: str) -> dict[str, Any]:
    files = sandbox.get(f"/_sandbox/openhumans/members/{login}/files").json()["files"]
    assert len(files) == 1, files
    content = sandbox.get(f"/_sandbox/openhumans/files/{files[0]['id']}/content").content
    return parse(content)


def events_of(sandbox: httpx.Client, login: str, until: str | None = None) -> dict[str, Any]:
    params = {"until": until} if until else {}
    answer = sandbox.get(f"/_sandbox/github/users/{login}/events", params=params)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def assert_file_holds(document: dict[str, Any], expected: dict[str, Any]) -> None:
    """Every complete week equals the raw events' week; only the last two may be incomplete
    (the current week, and the one before while GitHub may still add to it)."""
    ordered = sorted(document["weeks"])
    incomplete = [key for key in ordered if not document["weeks"][key]["complete"]]
    assert incomplete and set(incomplete) <= set(ordered[-2:]), incomplete
    settled = [key for key in expected if key < ordered[-2]]
    assert set(settled) <= set(document["weeks"]), "weeks with activity are missing"
    problems = differences(document, expected, weeks=complete_weeks(document))
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("scope", [PRIVATE, PUBLIC])
def test_every_edge_of_github_ends_up_in_the_file(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], scope: str
) -> None:
    """Commits committed long after (or a little before) they were authored, a history older
    than the account, organisations' repositories, a repository without standing, deleted,
    renamed and transferred repositories, late contributions, and private contributions the
    profile does not share."""
    member = connect("octo-edge", scope=scope)
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    document = the_file(sandbox, "octo-edge")
    events = events_of(sandbox, "octo-edge")
    private = scope == PRIVATE
    expected = expected_weeks(events, private=private)
    assert_file_holds(document, expected)

    repos = {repo["id"]: repo for repo in events["repositories"]}
    commits = {c["sha"]: c for week in document["weeks"].values() for c in week["commits"]}
    by_repo = {c["sha"]: repos[c["repository_id"]] for c in events["commits"]}
    # The history starts with the first contribution GitHub counts, before the account.
    created = parse_time(events["created_at"])
    early = [c for c in events["commits"] if parse_time(c["authored_at"]) < created]
    assert early and all(c["sha"] in commits for c in early)
    first = min(parse_time(c["authored_at"]) for c in early).date()
    assert document["coverage"]["first_week"] == week_key(first)
    # Rebased: committed more than a year after it was authored; skewed: committed before.
    rebased = [
        c
        for c in events["commits"]
        if parse_time(c["committed_at"]) - parse_time(c["authored_at"]) > dt.timedelta(days=300)
    ]
    skewed = [c for c in events["commits"] if c["committed_at"] < c["authored_at"]]
    assert rebased and skewed
    assert all(c["sha"] in commits for c in rebased + skewed)
    # Organisations' repositories count (the private one only with access); a repository where
    # the member has no standing, and a deleted one, do not.
    org = [c for c in events["commits"] if by_repo[c["sha"]]["name"].split("/")[0].endswith("-org")]
    assert org
    for sha, repo in by_repo.items():
        visible = private or not repo["private"]
        credited = repo["member_has_standing"] and not repo["deleted_at"] and not repo["fork"]
        assert (sha in commits) == (credited and visible), (repo["name"], sha)
        if sha in commits:
            assert commits[sha]["repository"] == repo["name"]  # renamed: the current name
    assert any(repo["renames"] for repo in repos.values())
    # Private contributions: counted in the calendar only with access, since this member's
    # profile does not share private contribution counts.
    private_days = {
        c["authored_at"][:10]
        for c in events["commits"]
        if by_repo[c["sha"]]["private"] and by_repo[c["sha"]]["member_has_standing"]
    }
    assert private_days


def test_public_access_counts_private_contributions_the_profile_shares(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect("octo-typical", scope=PUBLIC)
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    events = events_of(sandbox, "octo-typical")
    assert events["shows_private_counts"] is True
    document = the_file(sandbox, "octo-typical")
    assert_file_holds(document, expected_weeks(events, private=False))
    listed = {c["repository"] for week in document["weeks"].values() for c in week["commits"]}
    assert not listed & {repo["name"] for repo in events["repositories"] if repo["private"]}


def test_a_day_with_commits_in_more_than_100_repositories_loses_none(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect("octo-wideday")
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    events = events_of(sandbox, "octo-wideday")
    document = the_file(sandbox, "octo-wideday")
    assert_file_holds(document, expected_weeks(events, private=True))
    per_day: dict[str, set[int]] = {}
    for commit in events["commits"]:
        per_day.setdefault(commit["authored_at"][:10], set()).add(commit["repository_id"])
    day, repositories = max(per_day.items(), key=lambda item: len(item[1]))
    assert len(repositories) > 100  # over what GitHub's contribution query returns
    held = {
        c["repository"]
        for c in document["weeks"][week_key(dt.date.fromisoformat(day))]["commits"]
        if c["authored_at"][:10] == day
    }
    assert len(held) == len(repositories)
    searches = [
        r
        for r in requests_of(sandbox, "octo-wideday")
        if r["path"].startswith("/github-api/search/")
    ]
    assert searches and all(r["status"] == 200 for r in searches)


def requests_of(sandbox: httpx.Client, login: str) -> list[dict[str, Any]]:
    return list(sandbox.get("/_sandbox/requests", params={"login": login}).json()["requests"])


def fast_windows(sandbox: httpx.Client, **limits: int) -> None:
    """Budgets of ``limits`` per window, windows of one real second."""
    sandbox.post("/_sandbox/config", json={**limits, "rate_limit_time_scale": 3600})


def test_a_repository_renamed_while_the_sync_waits_is_followed(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    login = "octo-small"
    member = connect(login)
    # Two core requests per window: a commit page of the renamed repository takes both (the
    # 301, then the page), and every other page waits for a reset.
    fast_windows(sandbox, core_limit=2)
    first = sync_member(member.id, runtime)
    assert first.kind == "waiting"  # the contribution data is read, no commit page yet
    repo = max(
        events_of(sandbox, login)["repositories"],
        key=lambda r: sum(
            1 for c in events_of(sandbox, login)["commits"] if c["repository_id"] == r["id"]
        ),
    )
    new_name = f"{login}-org/{repo['name'].split('/')[1]}-moved"
    sandbox.post(
        f"/_sandbox/github/users/{login}/repos",
        json={"repository": repo["name"], "rename_to": new_name},
    ).raise_for_status()
    time.sleep(first.retry_in_s or 1)
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    document = the_file(sandbox, login)
    events = events_of(sandbox, login)
    renamed = next(r for r in events["repositories"] if r["id"] == repo["id"])
    read_at = parse_time(renamed["renames"][-1]["at"]) - dt.timedelta(seconds=1)
    # Pull requests, issues and reviews were read before the rename (their former name);
    # commits after it, through GitHub's 301 (their new name).
    assert_file_holds(document, expected_weeks(events, private=True, items_read_at=read_at))
    moved = [r for r in requests_of(sandbox, login) if r["status"] == 301]
    assert moved and all(f"/repos/{repo['name']}/commits" in r["path"] for r in moved)
    names = {c["repository"] for week in document["weeks"].values() for c in week["commits"]}
    assert new_name in names and repo["name"] not in names


def test_a_repository_github_refuses_costs_only_its_own_commits(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    login = "octo-typical"
    events = events_of(sandbox, login)
    refused = next(r["name"] for r in events["repositories"] if not r["fork"] and not r["private"])
    fault = {"kind": "refuse", "login": login, "path_contains": f"/repos/{refused}/", "count": None}
    sandbox.post("/_sandbox/faults", json=fault).raise_for_status()
    member = connect(login)
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    document = the_file(sandbox, login)
    events = events_of(sandbox, login)
    assert_file_holds(document, expected_weeks(events, private=True, unavailable=[refused]))
    assert any(r["status"] == 451 for r in requests_of(sandbox, login))


def test_a_period_needing_more_queries_than_a_budget_finishes_asking_each_once(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    login = "octo-wideday"
    member = connect(login)
    # Two GraphQL points per one-second window: the wide day's period alone needs far more
    # (its halves, down to the day, then the commit search).
    fast_windows(sandbox, graphql_limit=2)
    waits = sync_until_done(member.id, runtime)
    assert waits >= 3
    asked = [
        r["body_digest"]
        for r in requests_of(sandbox, login)
        if r["resource"] == "graphql" and r["counted"]
    ]
    assert len(asked) > 2 * 3 and len(asked) == len(set(asked)), "a query was asked twice"
    publish(member.id, runtime)
    assert_file_holds(
        the_file(sandbox, login), expected_weeks(events_of(sandbox, login), private=True)
    )


def test_a_refresh_that_finds_nothing_new_uploads_nothing(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect("octo-small")
    sync_until_done(member.id, runtime)
    assert publish(member.id, runtime).kind == "uploaded"
    before = sandbox.get("/_sandbox/openhumans/members/octo-small/files").json()["files"]
    sync_until_done(member.id, runtime)  # reads the current week again
    assert publish(member.id, runtime).kind == "unchanged"
    after = sandbox.get("/_sandbox/openhumans/members/octo-small/files").json()["files"]
    assert after == before


def late_contribution(events: dict[str, Any], after: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """A public contribution that happens after ``after`` in the last hours of a week and that
    GitHub counts only after the week ended: (the day it counts on, when its week ends)."""
    repos = {repo["id"]: repo for repo in events["repositories"]}
    happenings = [
        (c["repository_id"], c["authored_at"], c["committed_at"], c["counted_after_s"])
        for c in events["commits"]
    ]
    for kind, field in (("pull_requests", "created_at"), ("issues", "created_at")):
        happenings += [
            (i["repository_id"], i[field], i[field], i["counted_after_s"]) for i in events[kind]
        ]
    happenings += [
        (r["repository_id"], r["submitted_at"], r["submitted_at"], r["counted_after_s"])
        for r in events["reviews"]
    ]
    for repo_id, day_of, happened_at, lag_s in sorted(happenings, key=lambda h: h[2]):
        repo = repos[repo_id]
        if repo["private"] or repo["fork"] or not repo["member_has_standing"]:
            continue
        day, happened = parse_time(day_of).date(), parse_time(happened_at)
        week_ends = dt.datetime.combine(
            day + dt.timedelta(days=7 - day.weekday()), dt.time(0), tzinfo=dt.UTC
        )
        counted = happened + dt.timedelta(seconds=lag_s)
        if after < happened < week_ends < counted - dt.timedelta(minutes=2):
            return day, week_ends
    raise AssertionError("no contribution counted after its week ended in the next 700 days")


def test_a_week_read_before_github_counted_everything_is_read_again(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    """GitHub counts a contribution up to a day late: a week read within a day of its end is
    not complete, and the next sync reads it again."""
    login = "octo-edge"
    now = parse_time(sandbox.get("/_sandbox/clock").json()["now"])
    horizon = (now + dt.timedelta(days=700)).strftime("%Y-%m-%dT%H:%M:%SZ")
    day, week_ends = late_contribution(
        events_of(sandbox, login, until=horizon), now + dt.timedelta(days=1)
    )
    week = week_key(day)
    # A minute after that week ended, GitHub has not counted that contribution yet.
    target = week_ends + dt.timedelta(minutes=1)
    sandbox.post("/_sandbox/clock", json={"advance_seconds": (target - now).total_seconds()})
    member = connect(login)
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    first = the_file(sandbox, login)["weeks"][week]
    settled = expected_weeks(events_of(sandbox, login), private=True)[week]
    assert first["complete"] is False
    assert first["contributions"][day.isoformat()] < settled["contributions"][day.isoformat()]
    # A day later GitHub has counted it: the next sync reads the week again, now complete.
    sandbox.post("/_sandbox/clock", json={"advance_seconds": 86400})
    sync_until_done(member.id, runtime)
    publish(member.id, runtime)
    document = the_file(sandbox, login)
    assert document["weeks"][week]["complete"] is True
    expected = expected_weeks(events_of(sandbox, login), private=True)
    assert not differences(document, expected, weeks=[week])


def test_progress_counts_the_history_before_the_account_and_never_goes_back(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect("octo-edge")
    fast_windows(sandbox, core_limit=4)
    seen: list[tuple[int, int]] = []

    def record() -> None:
        row = Member.get_by_id(member.id)
        seen.append((row.weeks_done, row.weeks_total))

    waits = sync_until_done(member.id, runtime, between=record)
    record()
    assert waits >= 3
    events = events_of(sandbox, "octo-edge")
    first = min(parse_time(c["authored_at"]) for c in events["commits"]).date()
    now = parse_time(events["now"]).date()
    weeks = len({week_key(first + dt.timedelta(days=d)) for d in range((now - first).days + 1)})
    assert {total for _, total in seen} == {weeks}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == weeks
