"""One member's sync against the sandbox: what gets staged, what the member sees, what it costs."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fetcher.sync import Outcome, sync_member
from shared.activity import activity_of, parse_timestamp
from shared.db import Member, StagedWeek
from shared.errors import UpstreamUnavailable
from shared.isoweek import IsoWeek
from shared.runtime import Runtime
from shared.syncstate import SyncState
from tests.fetcher.conftest import queued

LOGIN = "octo-small"


def staged_weeks(member_id: int) -> dict[str, Any]:
    return {
        row.week: row.payload for row in StagedWeek.select().where(StagedWeek.member == member_id)
    }


def requests_of(sandbox: httpx.Client, login: str) -> list[dict[str, Any]]:
    body = sandbox.get("/_sandbox/requests", params={"login": login}).json()
    return list(body["requests"] if isinstance(body, dict) else body)


def assert_equals_truth(staged: dict[str, Any], truth: dict[str, Any]) -> None:
    assert set(truth["weeks"]) <= set(staged)
    for key, week in staged.items():
        expected = truth["weeks"].get(key)
        if expected is not None:
            assert activity_of(week) == expected, key
        else:
            assert not any(week[k] for k in ("commits", "pull_requests", "issues", "reviews")), key


def test_backfill_stages_every_week_equal_to_ground_truth(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect(LOGIN)
    outcome = sync_member(member.id, runtime)
    assert outcome.kind == "done"
    staged = staged_weeks(member.id)
    truth = sandbox.get(f"/_sandbox/github/users/{LOGIN}/truth?private=true").json()
    assert_equals_truth(staged, truth)
    assert max(staged, key=IsoWeek.parse) == str(IsoWeek.current())
    assert staged[str(IsoWeek.current())]["complete"] is False
    refreshed = Member.get_by_id(member.id)
    assert refreshed.sync_state == SyncState.UPLOADING
    assert refreshed.weeks_done == refreshed.weeks_total == len(staged)
    assert queued(redis_url, "upload") == [member.id]


def test_without_repo_scope_private_activity_stays_out(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect("octo-typical", scope="read:user")
    assert sync_member(member.id, runtime).kind == "done"
    public = sandbox.get("/_sandbox/github/users/octo-typical/truth?private=false").json()
    staged = staged_weeks(member.id)
    for key, expected in public["weeks"].items():
        assert staged[key]["commits"] == expected["commits"], key


def test_refresh_fetches_only_the_weeks_not_held_complete(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect(LOGIN)
    sync_member(member.id, runtime)
    first_run = len(requests_of(sandbox, LOGIN))
    # The uploader would now have written the file and recorded its coverage.
    last_complete = IsoWeek.current().previous()
    StagedWeek.delete().execute()
    Member.update(
        coverage_first_week="2020-W01",
        coverage_last_week=str(IsoWeek.current()),
        coverage_last_complete_week=str(last_complete),
        sync_state=SyncState.DONE,
    ).execute()
    assert sync_member(member.id, runtime).kind == "done"
    assert sorted(staged_weeks(member.id)) == [str(IsoWeek.current())]
    refresh = requests_of(sandbox, LOGIN)[first_run:]
    # /user (an ETag makes it free), one contribution query, commit pages of active repos only.
    assert any(r["status"] == 304 and r["path"].startswith("/github-api/user") for r in refresh)
    assert sum(1 for r in refresh if r["counted"]) <= 2 + 3, refresh


def test_rate_limit_waits_for_the_reset_and_never_reads_a_page_twice(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect("octo-typical")
    # A budget far smaller than the history needs, in windows of one real second.
    sandbox.post(
        "/_sandbox/config", json={"core_limit": 8, "rate_limit_time_scale": 3600}
    ).raise_for_status()
    outcome = sync_member(member.id, runtime)
    assert outcome.kind == "waiting" and outcome.resets_at is not None
    waiting = Member.get_by_id(member.id)
    assert waiting.sync_state == SyncState.WAITING
    assert waiting.waiting_until == outcome.resets_at
    assert queued(redis_url, "fetch-resumed") == [member.id]  # re-sent, delayed until the reset

    resumes = 0
    while outcome.kind == "waiting":
        resumes += 1
        assert resumes < 30, "the sync makes no progress across resets"
        time.sleep(outcome.retry_in_s or 1)  # as the re-sent message is delayed
        outcome = sync_member(member.id, runtime)
    assert outcome.kind == "done"
    assert resumes >= 2
    served = [
        r["path"]
        for r in requests_of(sandbox, "octo-typical")
        if "/commits" in r["path"] and r["status"] == 200
    ]
    assert len(served) == len(set(served)), "a commit page was read twice"
    stats = sandbox.get("/_sandbox/stats", params={"login": "octo-typical"}).json()
    assert stats["violations"] == 0, "no request may be sent once the budget is spent"
    truth = sandbox.get("/_sandbox/github/users/octo-typical/truth?private=true").json()
    assert_equals_truth(staged_weeks(member.id), truth)


def test_revoked_token_marks_member_needs_reconnect_without_retry(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect(LOGIN)
    sandbox.post("/_sandbox/faults", json={"kind": "revoke", "login": LOGIN}).raise_for_status()
    assert sync_member(member.id, runtime).kind == "revoked"
    assert Member.get_by_id(member.id).sync_state == SyncState.NEEDS_RECONNECT
    assert queued(redis_url, "fetch") == queued(redis_url, "fetch-resumed") == []
    # A later message (the scheduler, a redelivery) does nothing until the member reconnects.
    assert sync_member(member.id, runtime).kind == "skipped"


def test_a_short_5xx_burst_is_retried_within_the_sync(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect(LOGIN)
    fault = {"kind": "5xx", "login": LOGIN, "path_contains": "/commits", "count": 2}
    sandbox.post("/_sandbox/faults", json=fault).raise_for_status()
    assert sync_member(member.id, runtime).kind == "done"
    truth = sandbox.get(f"/_sandbox/github/users/{LOGIN}/truth?private=true").json()
    assert_equals_truth(staged_weeks(member.id), truth)


def test_a_long_outage_fails_the_message_and_keeps_staged_weeks(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect("octo-typical")
    assert sync_member(member.id, runtime).kind == "done"
    held = staged_weeks(member.id)
    Member.update(sync_state=SyncState.DONE).execute()
    fault = {"kind": "5xx", "login": "octo-typical", "count": None}
    sandbox.post("/_sandbox/faults", json=fault).raise_for_status()
    runtime.redis.delete("ohgithub:upload.msgs", "ohgithub:upload")  # the first sync's upload
    with pytest.raises(UpstreamUnavailable):
        sync_member(member.id, runtime)  # Dramatiq retries it with back-off
    assert Member.get_by_id(member.id).sync_state == SyncState.ERROR
    assert staged_weeks(member.id) == held
    # What was staged goes to the member now, whether or not the retries ever succeed.
    assert queued(redis_url, "upload") == [member.id]


def test_the_same_message_twice_at_once_runs_one_sync(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect(LOGIN)
    sandbox.post("/_sandbox/config", json={"latency_ms": 20}).raise_for_status()
    outcomes: list[Outcome] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(sync_member(member.id, runtime)))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.kind for o in outcomes) == ["busy", "done"]
    stats = sandbox.get("/_sandbox/stats", params={"login": LOGIN}).json()
    assert stats["secondary_limited"] == 0
    # The busy one comes back once the lock is free; a third delivery adds nothing more.
    assert queued(redis_url, "fetch-resumed") == [member.id]
    runtime.redis.set(f"ohgithub:sync:{member.id}", "held by a crashed fetcher", px=60_000)
    assert sync_member(member.id, runtime).kind == "busy"
    assert queued(redis_url, "fetch-resumed") == [member.id]


def test_lost_database_reads_coverage_from_the_files_metadata(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    from uploader.publish import publish

    member = connect(LOGIN)
    sync_member(member.id, runtime)
    publish(member.id, runtime)
    # The database is lost: the member logs in and connects again, with no coverage cached.
    Member.update(
        coverage_first_week="", coverage_last_week="", coverage_last_complete_week=""
    ).execute()
    seen = len(requests_of(sandbox, LOGIN))
    assert sync_member(member.id, runtime).kind == "done"
    assert sorted(staged_weeks(member.id)) == [str(IsoWeek.current())]
    graphql = [r for r in requests_of(sandbox, LOGIN)[seen:] if "graphql" in r["path"]]
    assert len(graphql) == 1


def test_weeks_end_by_githubs_clock_not_ours(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect(LOGIN)
    sync_member(member.id, runtime)
    this_week = IsoWeek.current()
    # Into the next week, more than a day after this one ended: GitHub has counted it all.
    now = parse_timestamp(sandbox.get("/_sandbox/clock").json()["now"])
    later = this_week.next().starts_at + dt.timedelta(hours=25)
    sandbox.post(
        "/_sandbox/clock", json={"advance_seconds": (later - now).total_seconds()}
    ).raise_for_status()
    assert sync_member(member.id, runtime).kind == "done"
    staged = staged_weeks(member.id)
    assert staged[str(this_week)]["complete"] is True
    assert staged[str(this_week.next())]["complete"] is False
    truth = sandbox.get(f"/_sandbox/github/users/{LOGIN}/truth?private=true").json()
    assert_equals_truth(staged, truth)


def test_a_sync_finding_a_dead_fetchers_lock_comes_back_when_it_lapses(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member], redis_url: str
) -> None:
    member = connect(LOGIN)
    runtime.redis.set(f"ohgithub:sync:{member.id}", "held by a crashed fetcher", px=30_000)
    assert sync_member(member.id, runtime).kind == "busy"
    delayed = runtime.redis.hvals("ohgithub:fetch-resumed.DQ.msgs")  # a resumed sync's queue
    assert len(delayed) == 1
    assert json.loads(delayed[0])["actor_name"] == "resume_sync_member"
    eta_ms = json.loads(delayed[0])["options"]["eta"]
    assert 30_000 <= eta_ms - time.time() * 1000 <= 33_000  # right after the lock lapses
