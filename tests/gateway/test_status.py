"""The words, progress and "Sync now" rule shown for each sync state (pure, no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.status import format_duration, format_size, grants_private, sync_status
from shared.db import Member
from shared.syncstate import SyncState

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
HOUR_S = 3600


def member(**fields: object) -> Member:
    values: dict[str, object] = {
        "oh_member_id": "12345678",
        "github_token": "encrypted",
        "github_login": "octo",
        "github_scopes": "read:user",
        "sync_state": SyncState.IDLE,
    }
    values.update(fields)
    return Member(**values)


def test_syncing_shows_progress_in_weeks_and_percent() -> None:
    status = sync_status(
        member(sync_state=SyncState.SYNCING, weeks_done=30, weeks_total=120),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.percent == 25
    assert status.headline == "Syncing: 30 of 120 weeks (25%)."
    assert not status.can_sync_now
    assert status.sync_blocked_reason == "A sync is already under way."


def test_waiting_names_the_time_github_resets() -> None:
    status = sync_status(
        member(sync_state=SyncState.WAITING, waiting_until=NOW + dt.timedelta(minutes=35)),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline == "Waiting for GitHub until 12:35 UTC (rate limit)."
    assert status.waiting_until == "2026-11-22T12:35:00+00:00"


def test_cooldown_refuses_and_says_how_long() -> None:
    status = sync_status(
        member(sync_state=SyncState.DONE, sync_requested_at=NOW - dt.timedelta(minutes=20)),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert not status.can_sync_now
    assert status.cooldown_remaining_s == 40 * 60
    assert status.sync_blocked_reason == "Available again in 40 min."


def test_sync_allowed_once_the_cooldown_is_over() -> None:
    status = sync_status(
        member(sync_state=SyncState.DONE, sync_requested_at=NOW - dt.timedelta(hours=2)),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.can_sync_now
    assert status.cooldown_remaining_s == 0
    assert status.sync_blocked_reason == ""


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"github_token": ""}, "Connect GitHub first."),
        ({"sync_state": SyncState.NEEDS_RECONNECT}, "Reconnect GitHub first."),
        ({"sync_state": SyncState.NEEDS_LOGIN}, "Log in with Open Humans again first."),
        ({"sync_state": SyncState.QUEUED}, "A sync is already under way."),
    ],
)
def test_sync_refused_when_it_cannot_help(fields: dict[str, object], reason: str) -> None:
    status = sync_status(member(**fields), now=NOW, cooldown_s=HOUR_S)
    assert not status.can_sync_now
    assert status.sync_blocked_reason == reason


def test_done_reports_last_sync_and_coverage() -> None:
    status = sync_status(
        member(
            sync_state=SyncState.DONE,
            last_synced_at=NOW,
            coverage_first_week="2019-W02",
            coverage_last_week="2026-W47",
            coverage_last_complete_week="2026-W46",
            file_size=2048,
        ),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline == "Up to date: last synced 2026-11-22 12:00 UTC."
    assert status.coverage == {
        "first_week": "2019-W02",
        "last_week": "2026-W47",
        "last_complete_week": "2026-W46",
    }
    body = status.as_json()
    assert body["last_synced_at"] == "2026-11-22T12:00:00+00:00"
    assert body["file_size"] == 2048


def test_error_keeps_the_detail() -> None:
    status = sync_status(
        member(sync_state=SyncState.ERROR, sync_detail="Open Humans upload failed"),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline == "The last sync failed."
    assert status.detail == "Open Humans upload failed"
    assert status.can_sync_now


def test_scopes_with_repo_mean_private_access() -> None:
    assert grants_private("read:user repo")
    assert grants_private("repo, read:user")
    assert not grants_private("read:user")
    assert not grants_private("")


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (61, "2 min"),
        (3600, "60 min"),
        (9000, "2 h 30 min"),
    ],
)
def test_format_duration(seconds: float, words: str) -> None:
    assert format_duration(seconds) == words


def test_format_size() -> None:
    assert format_size(900) == "900 bytes"
    assert format_size(1536) == "1.5 KB"
    assert format_size(3 * 1024 * 1024) == "3.0 MB"


def test_contents_are_described_in_words() -> None:
    from gateway.status import describe_contents

    summary = '{"weeks": 158, "commits": 1204, "pull_requests": 1, "issues": 0, "reviews": 40}'
    assert describe_contents(summary) == (
        "1,204 commits, 1 pull request, 0 issues and 40 reviews over 158 weeks"
    )
    assert describe_contents("") == ""
    assert describe_contents("not json") == ""
