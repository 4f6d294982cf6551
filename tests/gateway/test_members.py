"""The gateway's changes to member rows: "Sync now" pressed many times at once queues one sync."""

from __future__ import annotations

import datetime as dt
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from gateway.members import request_sync
from shared import queues
from shared.db import Member, connection, utcnow
from shared.syncstate import SyncState

# Presses at once: more than the gateway's thread pool would ever run of one member's.
PRESSES = 16


@pytest.fixture(params=["database", "pg_database"])
def any_database(request: pytest.FixtureRequest) -> None:
    request.getfixturevalue(request.param)


def member_at_rest(state: SyncState = SyncState.DONE) -> int:
    long_ago = utcnow() - dt.timedelta(hours=2)
    row = Member.create(
        oh_member_id="storm",
        github_token="encrypted-token",
        sync_state=state,
        sync_requested_at=long_ago,
        last_synced_at=long_ago,
    )
    return int(row.id)


def queued_syncs(client: redis.Redis) -> list[int]:
    return [int(json.loads(body)["args"][0]) for body in client.hvals("ohgithub:fetch.msgs")]


@pytest.mark.usefixtures("any_database")
def test_presses_at_once_queue_one_sync(redis_url: str, redis_client: redis.Redis) -> None:
    queues.setup_broker(redis_url)
    member_id = member_at_rest()
    # Every press checked the cooldown on the row as it was before any of them queued.
    seen = [Member.get_by_id(member_id) for _ in range(PRESSES)]
    start = threading.Barrier(PRESSES)

    def press(member: Member) -> bool:
        start.wait()
        return request_sync(member)

    with ThreadPoolExecutor(PRESSES) as pool:
        answers = list(pool.map(press, seen))

    assert answers.count(True) == 1
    assert queued_syncs(redis_client) == [member_id]
    with connection():
        assert Member.get_by_id(member_id).sync_state == SyncState.QUEUED


@pytest.mark.usefixtures("any_database")
def test_a_press_read_before_another_queued_is_refused(
    redis_url: str, redis_client: redis.Redis
) -> None:
    queues.setup_broker(redis_url)
    member_id = member_at_rest()
    first, late = Member.get_by_id(member_id), Member.get_by_id(member_id)
    assert request_sync(first)
    # The sync ran and ended before the late press reached the database: still refused, as
    # its cooldown check saw a row from before the first press.
    Member.update(sync_state=SyncState.DONE).where(Member.id == member_id).execute()

    assert not request_sync(late)
    assert queued_syncs(redis_client) == [member_id]


@pytest.mark.usefixtures("any_database")
@pytest.mark.parametrize("state", [SyncState.SYNCING, SyncState.WAITING, SyncState.UPLOADING])
def test_a_busy_member_is_not_queued_again(
    redis_url: str, redis_client: redis.Redis, state: SyncState
) -> None:
    queues.setup_broker(redis_url)
    member_id = member_at_rest(state)

    assert not request_sync(Member.get_by_id(member_id))
    assert queued_syncs(redis_client) == []
