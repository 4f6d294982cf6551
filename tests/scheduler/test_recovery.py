"""Redis losing its data: the scheduler notices once and re-sends every busy member's sync."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import peewee
import redis

from scheduler.recovery import (
    BusyMember,
    lost,
    resend_if_redis_lost_data,
    resend_lost_syncs,
    resend_schedule,
)
from shared import queues
from shared.db import Member, utcnow
from shared.syncstate import SyncState

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def test_a_waiting_member_resumes_at_its_reset_every_other_at_once() -> None:
    busy = [
        BusyMember(1, SyncState.QUEUED, None),
        BusyMember(2, SyncState.SYNCING, None),
        BusyMember(3, SyncState.WAITING, NOW + dt.timedelta(seconds=90)),
        BusyMember(4, SyncState.WAITING, NOW - dt.timedelta(seconds=5)),  # reset passed
        BusyMember(5, SyncState.UPLOADING, None),
    ]

    assert resend_schedule(busy, now=NOW) == [
        (1, None),
        (2, None),
        (3, 90_000),
        (4, None),
        (5, None),
    ]


def test_a_busy_member_is_lost_when_no_message_is_for_them() -> None:
    busy = [BusyMember(1, SyncState.QUEUED, None), BusyMember(2, SyncState.UPLOADING, None)]

    assert lost(busy, with_messages={2, 7}) == [busy[0]]


def member(name: str, state: SyncState, **fields: Any) -> int:
    values: dict[str, Any] = {"github_token": "encrypted-token", "sync_state": state}
    values.update(fields)
    updated_at = values.pop("updated_at", None)
    member_id = int(Member.create(oh_member_id=name, **values).id)
    if updated_at is not None:  # save() stamps its own
        Member.update(updated_at=updated_at).where(Member.id == member_id).execute()
    return member_id


def resent(client: redis.Redis) -> dict[int, int]:
    """Re-sent syncs waiting in the broker: member id -> delay in milliseconds."""
    found = {}
    for key in ("ohgithub:fetch-resumed.msgs", "ohgithub:fetch-resumed.DQ.msgs"):
        for raw in client.hvals(key):
            message = json.loads(raw)
            eta = message["options"].get("eta", message["message_timestamp"])
            found[int(message["args"][0])] = eta - message["message_timestamp"]
    return found


def deletions(client: redis.Redis) -> list[int]:
    """Members whose file deletion waits in the broker."""
    messages = [json.loads(raw) for raw in client.hvals("ohgithub:upload.msgs")]
    return [int(m["args"][0]) for m in messages if m["actor_name"] == queues.DELETE_ACTOR]


def test_busy_members_are_resent_once_per_loss_of_redis_data(
    database: peewee.Database, redis_url: str, redis_client: redis.Redis
) -> None:
    queues.setup_broker(redis_url)
    busy = {
        member("queued", SyncState.QUEUED),
        member("syncing", SyncState.SYNCING),
        member("uploading", SyncState.UPLOADING),
    }
    waiting = member(
        "waiting", SyncState.WAITING, waiting_until=utcnow() + dt.timedelta(minutes=10)
    )
    deleting = member("deleting", SyncState.DELETING, github_token="")
    for state in (SyncState.DONE, SyncState.ERROR, SyncState.NEEDS_LOGIN):
        member(f"at-rest-{state}", state)
    member("disconnected", SyncState.QUEUED, github_token="")

    assert resend_if_redis_lost_data(redis_client) == 5
    sent = resent(redis_client)
    assert set(sent) == busy | {waiting}
    assert all(sent[m] == 0 for m in busy)
    assert 9 * 60_000 < sent[waiting] <= 10 * 60_000
    assert deletions(redis_client) == [deleting]  # their file is deleted, not synced

    # The marker is there: nothing more, however often the scheduler checks.
    assert resend_if_redis_lost_data(redis_client) == 0
    assert len(resent(redis_client)) == 4

    redis_client.flushdb()  # Redis restarted empty: every message is gone, and the marker
    assert resend_if_redis_lost_data(redis_client) == 5
    assert set(resent(redis_client)) == busy | {waiting}
    assert deletions(redis_client) == [deleting]


def test_a_member_busy_for_long_with_no_message_anywhere_is_resent_once(
    database: peewee.Database, redis_url: str, redis_client: redis.Redis
) -> None:
    queues.setup_broker(redis_url)
    long_ago = utcnow() - dt.timedelta(minutes=30)
    lost_one = member("lost", SyncState.SYNCING, updated_at=long_ago)
    queued = member("queued", SyncState.QUEUED, updated_at=long_ago)
    queues.send_sync(queued)  # waits behind a long queue: not lost
    uploading = member("uploading", SyncState.UPLOADING, updated_at=long_ago)
    queues.send_upload(uploading, delay_ms=60_000)  # an upload retried later: not lost
    member("just-queued", SyncState.QUEUED)  # its message is about to be sent
    member("done", SyncState.DONE, updated_at=long_ago)
    deleting = member("deleting", SyncState.DELETING, github_token="", updated_at=long_ago)

    assert resend_lost_syncs(redis_client) == 2
    assert set(resent(redis_client)) == {lost_one}
    assert deletions(redis_client) == [deleting]
    # Its message waits now; and the member is not re-sent again before LOST_AFTER anyway.
    redis_client.delete("ohgithub:fetch-resumed.msgs", "ohgithub:fetch-resumed")
    assert resend_lost_syncs(redis_client) == 0
