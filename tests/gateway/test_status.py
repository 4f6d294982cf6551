"""The words, progress and "Sync now" rule shown for each sync state (pure, no I/O)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from gateway.status import (
    When,
    format_duration,
    format_size,
    grants_private,
    sync_status,
    text_of,
)
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
    assert status.headline == "Syncing your GitHub history."
    assert status.progress_text == "30 of 120 weeks (25%)"
    assert not status.can_sync_now
    assert status.sync_blocked_reason == "A sync is already under way."


def test_waiting_names_the_time_github_resets() -> None:
    status = sync_status(
        member(sync_state=SyncState.WAITING, waiting_until=NOW + dt.timedelta(minutes=35)),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline == "Paused for GitHub's rate limit until 12:35 UTC."
    assert status.detail == (
        "Nothing is in your file yet; the sync resumes by itself at 12:35 UTC."
    )
    assert status.waiting_until == "2026-11-22T12:35:00+00:00"
    # The page shows the moment as a <time> the browser puts in the member's zone.
    [moment] = [part for part in status.headline_words if isinstance(part, When)]
    assert (moment.iso, moment.style) == ("2026-11-22T12:35:00Z", "time")


def test_waiting_with_partial_data_says_what_the_file_holds_already() -> None:
    status = sync_status(
        member(
            sync_state=SyncState.WAITING,
            waiting_until=NOW + dt.timedelta(minutes=35),
            coverage_first_week="2016-W01",
            coverage_last_week="2019-W20",
            last_uploaded_at=NOW - dt.timedelta(minutes=1),
        ),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.detail == (
        "Partial data uploaded: your file covers 4 Jan 2016 to 19 May 2019; "
        "the sync resumes by itself at 12:35 UTC."
    )


def test_the_file_of_this_week_ends_the_day_it_was_written() -> None:
    status = sync_status(
        member(
            sync_state=SyncState.DONE,
            coverage_first_week="2026-W01",
            coverage_last_week="2026-W47",  # Monday 16 to Sunday 22 November
            last_uploaded_at=dt.datetime(2026, 11, 18, 9, 0, tzinfo=dt.UTC),
        ),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert text_of(status.coverage_words) == "29 Dec 2025 to 18 Nov 2026"


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


def test_done_reports_coverage_and_the_next_refresh() -> None:
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
        stale_after_s=4 * 86400,
    )
    assert status.headline == "Up to date."
    assert status.detail == "Your file is refreshed automatically; next around 26 Nov 2026."
    assert status.coverage == {
        "first_week": "2019-W02",
        "last_week": "2026-W47",
        "last_complete_week": "2026-W46",
    }
    body = status.as_json()
    assert body["last_synced_at"] == "2026-11-22T12:00:00+00:00"
    assert body["file_size"] == 2048
    json.dumps(body)  # the /api/status body is plain JSON


@pytest.mark.parametrize(
    "stored",
    [
        "Sync failed, will retry.",
        "Sync failed, will retry: HTTPConnectionPool(host='127.0.0.1', port=8900): Read timed out",
        "Traceback (most recent call last): ...",
        "",
    ],
)
def test_an_error_is_told_in_plain_words_and_never_locks_sync_now(stored: str) -> None:
    status = sync_status(
        member(
            sync_state=SyncState.ERROR,
            sync_detail=stored,
            sync_requested_at=NOW - dt.timedelta(minutes=2),  # well inside the hour
        ),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline == "The last sync ran into a problem."
    assert "retried automatically" in status.detail
    assert "127.0.0.1" not in status.detail and "Traceback" not in status.detail
    assert status.can_sync_now
    assert status.cooldown_remaining_s == 0


@pytest.mark.parametrize("state", list(SyncState))
def test_every_state_has_words_and_no_internal_detail(state: SyncState) -> None:
    status = sync_status(
        member(
            sync_state=state,
            sync_detail="GitHub core limit reached http://127.0.0.1:8900/github-api",
            waiting_until=NOW,
            last_synced_at=NOW,
        ),
        now=NOW,
        cooldown_s=HOUR_S,
    )
    assert status.headline.endswith(".")
    assert "127.0.0.1" not in status.headline + status.detail
    assert "State:" not in status.headline


def test_the_version_changes_with_the_content_not_with_progress() -> None:
    def version(**fields: object) -> str:
        return sync_status(member(**fields), now=NOW, cooldown_s=HOUR_S).version

    syncing = {"sync_state": SyncState.SYNCING, "weeks_total": 100}
    assert version(**syncing, weeks_done=10) == version(**syncing, weeks_done=60)
    assert version(**syncing) != version(sync_state=SyncState.UPLOADING)
    done = {"sync_state": SyncState.DONE, "coverage_first_week": "2024-W01"}
    assert version(**done, file_size=10) != version(**done, file_size=20)


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
