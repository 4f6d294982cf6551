"""Which members the scheduler refreshes, and how a tick's sends are spread."""

from __future__ import annotations

import datetime as dt
from typing import Any

import peewee
import pytest

from scheduler.stale import STUCK_AFTER, spread_delays_ms, stale_members
from shared.db import Member
from shared.syncstate import ACTIVE, SyncState

NOW = dt.datetime(2024, 5, 8, 12, tzinfo=dt.UTC)
STALE_AFTER_S = 4 * 86400


@pytest.fixture(params=["database", "pg_database"])
def any_database(request: pytest.FixtureRequest) -> peewee.Database:
    database: peewee.Database = request.getfixturevalue(request.param)
    return database


def member(name: str, **fields: Any) -> int:
    values: dict[str, Any] = {
        "github_token": "encrypted-token",
        "sync_state": SyncState.DONE,
        "last_synced_at": NOW - dt.timedelta(days=5),
    }
    values.update(fields)
    created = Member.create(oh_member_id=name, **values)
    # save() stamps updated_at with the real clock: set it explicitly afterwards when asked.
    if "updated_at" in fields:
        Member.update(updated_at=fields["updated_at"]).where(Member.id == created.id).execute()
    return int(created.id)


def stale(**kwargs: Any) -> list[int]:
    return stale_members(now=NOW, stale_after_s=STALE_AFTER_S, **kwargs)


def test_picks_connected_members_older_than_stale_after(any_database: peewee.Database) -> None:
    old = member("old", last_synced_at=NOW - dt.timedelta(days=5))
    never = member("never", last_synced_at=None, sync_state=SyncState.IDLE)
    member("fresh", last_synced_at=NOW - dt.timedelta(days=3))
    member("just-inside", last_synced_at=NOW - dt.timedelta(seconds=STALE_AFTER_S - 1))
    errored = member("errored", sync_state=SyncState.ERROR)
    assert sorted(stale()) == sorted([old, never, errored])


def test_never_synced_members_come_first_then_the_oldest(any_database: peewee.Database) -> None:
    recent = member("recent", last_synced_at=NOW - dt.timedelta(days=5))
    oldest = member("oldest", last_synced_at=NOW - dt.timedelta(days=50))
    never = member("never", last_synced_at=None, sync_state=SyncState.IDLE)
    assert stale() == [never, oldest, recent]
    assert stale(limit=2) == [never, oldest]


@pytest.mark.parametrize(
    "fields",
    [
        {"github_token": ""},  # not connected
        {"sync_state": SyncState.NEW},
        {"sync_state": SyncState.NEEDS_RECONNECT},
        {"sync_state": SyncState.NEEDS_LOGIN},
        {"sync_state": SyncState.QUEUED},
        {"sync_state": SyncState.SYNCING},
        {"sync_state": SyncState.WAITING},
        {"sync_state": SyncState.UPLOADING},
    ],
)
def test_skips_members_not_connected_needing_action_or_busy(
    database: peewee.Database, fields: dict[str, Any]
) -> None:
    member("skipped", **fields)
    assert stale() == []


@pytest.mark.parametrize("state", ACTIVE)
def test_includes_members_stuck_busy_for_more_than_a_day(
    database: peewee.Database, state: str
) -> None:
    stuck = member("stuck", sync_state=state, updated_at=NOW - STUCK_AFTER - dt.timedelta(hours=1))
    member("busy", sync_state=state, updated_at=NOW - STUCK_AFTER + dt.timedelta(hours=1))
    assert stale() == [stuck]


def test_a_stuck_member_needing_reconnect_is_still_skipped(database: peewee.Database) -> None:
    member(
        "revoked",
        sync_state=SyncState.NEEDS_RECONNECT,
        updated_at=NOW - dt.timedelta(days=30),
    )
    assert stale() == []


def test_spread_delays_cover_the_interval_evenly() -> None:
    delays = spread_delays_ms(10, interval_s=300)
    assert len(delays) == 10
    assert delays[0] == 0
    assert delays == sorted(delays)
    assert len(set(delays)) == 10
    assert delays[-1] < 300_000  # all sent before the next tick
    assert delays[-1] >= 300_000 * 0.5  # spread over most of it, not a burst
    gaps = {b - a for a, b in zip(delays, delays[1:], strict=False)}
    assert max(gaps) - min(gaps) <= 1


def test_spread_delays_for_nothing_and_one() -> None:
    assert spread_delays_ms(0, interval_s=300) == []
    assert spread_delays_ms(-1, interval_s=300) == []
    assert spread_delays_ms(1, interval_s=300) == [0]


def test_spread_delays_are_in_milliseconds() -> None:
    delays = spread_delays_ms(2, interval_s=60)
    assert delays[1] > 1000  # seconds would give at most 60
