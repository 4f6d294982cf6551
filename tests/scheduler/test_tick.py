"""One scheduler tick against real Redis and SQLite: what it enqueues, once, and spread out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import threading
import time
from collections import Counter
from typing import Any

import peewee
import pytest
import redis

import scheduler.__main__ as scheduler_main
from scheduler.__main__ import tick
from shared import queues
from shared.db import TRANSITION_BATCH, Member, utcnow
from shared.runtime import Runtime
from shared.settings import Settings
from shared.syncstate import ACTIVE, SyncState

INTERVAL_S = 60
STALE_AFTER_S = 3600
# Where dramatiq's Redis broker keeps message bodies: sent now, and sent with a delay.
MESSAGE_HASHES = ("ohgithub:fetch.msgs", "ohgithub:fetch.DQ.msgs")


def make_runtime(settings: Settings, redis_url: str, *, interval_s: float = INTERVAL_S) -> Runtime:
    queues.setup_broker(redis_url)
    return Runtime(
        dataclasses.replace(
            settings,
            redis_url=redis_url,
            scheduler_interval_s=interval_s,
            stale_after_s=STALE_AFTER_S,
        )
    )


def member(name: str, **fields: Any) -> int:
    values: dict[str, Any] = {
        "github_token": "encrypted-token",
        "sync_state": SyncState.DONE,
        "last_synced_at": utcnow() - dt.timedelta(seconds=STALE_AFTER_S + 600),
    }
    values.update(fields)
    return int(Member.create(oh_member_id=name, **values).id)


def sent_messages(client: redis.Redis) -> list[dict[str, Any]]:
    """Every sync message waiting in the broker, with its delay in milliseconds added."""
    messages = []
    for key in MESSAGE_HASHES:
        for raw in client.hvals(key):
            message: dict[str, Any] = json.loads(raw)
            eta = message["options"].get("eta", message["message_timestamp"])
            message["delay_ms"] = eta - message["message_timestamp"]
            messages.append(message)
    return messages


def enqueued_member_ids(client: redis.Redis) -> list[int]:
    messages = sent_messages(client)
    # A delayed message sits on the fetch queue's delay queue until it is due.
    routes = {(m["queue_name"], m["actor_name"]) for m in messages}
    assert routes <= {("fetch", "sync_member"), ("fetch.DQ", "sync_member")}
    return [int(m["args"][0]) for m in messages]


def state_of(member_id: int) -> str:
    return str(Member.get_by_id(member_id).sync_state)


def test_enqueues_each_stale_member_once_and_marks_it_queued(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    stale = member("stale")
    never = member("never-synced", sync_state=SyncState.IDLE, last_synced_at=None)
    errored = member("errored", sync_state=SyncState.ERROR)

    assert tick(make_runtime(settings, redis_url)) == 3

    assert sorted(enqueued_member_ids(redis_client)) == sorted([stale, never, errored])
    assert [state_of(m) for m in (stale, never, errored)] == [SyncState.QUEUED] * 3


def test_enqueues_nothing_for_fresh_new_disconnected_needing_action_or_busy_members(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    long_ago = utcnow() - dt.timedelta(days=30)
    skipped = {
        member("fresh", last_synced_at=utcnow() - dt.timedelta(minutes=5)): SyncState.DONE,
        member("new", sync_state=SyncState.NEW, last_synced_at=None): SyncState.NEW,
        member("disconnected", github_token="", sync_state=SyncState.IDLE): SyncState.IDLE,
        member(
            "revoked", sync_state=SyncState.NEEDS_RECONNECT, last_synced_at=long_ago
        ): SyncState.NEEDS_RECONNECT,
        member(
            "logged-out", sync_state=SyncState.NEEDS_LOGIN, last_synced_at=long_ago
        ): SyncState.NEEDS_LOGIN,
    }
    for state in ACTIVE:
        skipped[member(f"busy-{state}", sync_state=state, last_synced_at=long_ago)] = state
    due = member("due")

    assert tick(make_runtime(settings, redis_url)) == 1

    assert enqueued_member_ids(redis_client) == [due]
    assert {member_id: state_of(member_id) for member_id in skipped} == skipped


def test_a_tick_with_nothing_stale_sends_nothing(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    member("fresh", last_synced_at=utcnow())
    assert tick(make_runtime(settings, redis_url)) == 0
    assert sent_messages(redis_client) == []


def test_two_replicas_ticking_in_the_same_interval_enqueue_each_member_once(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    due = [member(f"member-{i}") for i in range(20)]
    replicas = [make_runtime(settings, redis_url), make_runtime(settings, redis_url)]
    assert replicas[0].redis is not replicas[1].redis  # two clients, as two processes have
    start = threading.Barrier(len(replicas))
    results: list[int] = []
    errors: list[BaseException] = []

    def run(runtime: Runtime) -> None:
        try:
            start.wait(timeout=10)
            results.append(tick(runtime))
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(replica,)) for replica in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(results) == [0, len(due)]  # one replica did the work, the other stood down

    counts = Counter(enqueued_member_ids(redis_client))
    assert counts == Counter({member_id: 1 for member_id in due})

    # A replica that ticks a little later in the same interval does nothing either.
    assert tick(make_runtime(settings, redis_url)) == 0
    assert Counter(enqueued_member_ids(redis_client)) == counts


def test_sends_are_spread_over_the_interval(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    for i in range(10):
        member(f"member-{i}")

    assert tick(make_runtime(settings, redis_url)) == 10

    delays = sorted(m["delay_ms"] for m in sent_messages(redis_client))
    assert len(delays) == 10
    assert len(set(delays)) == 10, f"two sends at the same moment: {delays}"
    assert delays[0] >= 0
    assert delays[-1] < INTERVAL_S * 1000, "a send fell into the next interval"
    assert delays[-1] >= INTERVAL_S * 1000 / 2, f"sent as a burst, not spread: {delays}"


def test_the_lock_does_not_outlive_the_interval(
    database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    interval_s = 0.5
    due = member("due")
    runtime = make_runtime(settings, redis_url, interval_s=interval_s)
    assert tick(runtime) == 1
    assert tick(runtime) == 0  # same interval

    # The sync finished and the member went stale again: the next interval's tick sends again.
    Member.update(
        sync_state=SyncState.DONE,
        last_synced_at=utcnow() - dt.timedelta(seconds=STALE_AFTER_S + 1),
    ).where(Member.id == due).execute()
    time.sleep(interval_s)
    assert tick(runtime) == 1
    assert enqueued_member_ids(redis_client) == [due, due]


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest) -> peewee.Database:
    database: peewee.Database = request.getfixturevalue(
        "database" if request.param == "sqlite" else "pg_database"
    )
    return database


def test_a_sync_now_or_a_disconnect_after_the_select_wins(
    any_database: peewee.Database,
    settings: Settings,
    redis_url: str,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batched claim moves a member only if it is still due when the UPDATE reaches it."""
    pressed, left, due = member("pressed"), member("disconnected"), member("due")
    pressed_at = utcnow()
    select = scheduler_main.stale_members

    def select_then_members_act(**kwargs: Any) -> list[int]:
        found = select(**kwargs)
        assert sorted(found) == sorted([pressed, left, due])
        # Between the select and the claim: one member presses "Sync now" (the gateway queues
        # and sends the sync), another disconnects GitHub.
        Member.update(sync_state=SyncState.QUEUED, sync_requested_at=pressed_at).where(
            Member.id == pressed
        ).execute()
        Member.update(github_token="", sync_state=SyncState.NEW).where(Member.id == left).execute()
        return found

    monkeypatch.setattr(scheduler_main, "stale_members", select_then_members_act)
    assert tick(make_runtime(settings, redis_url)) == 1
    assert enqueued_member_ids(redis_client) == [due]
    assert Member.get_by_id(pressed).sync_requested_at == pressed_at  # the member's press stands
    assert state_of(left) == SyncState.NEW


def test_a_tick_claims_a_thousand_members_in_batches_stalest_first(
    any_database: peewee.Database, settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    """More due members than one tick takes and than one UPDATE holds: each of the stalest
    thousand gets exactly one message, the stalest the earliest, and nobody else is touched."""
    assert TRANSITION_BATCH < 1000
    oldest = utcnow() - dt.timedelta(days=30)
    rows = [
        {
            "oh_member_id": f"many-{i:04d}",
            "github_token": "encrypted-token",
            "sync_state": SyncState.DONE.value,
            "last_synced_at": oldest + dt.timedelta(minutes=i),
        }
        for i in range(1200)
    ]
    with any_database.atomic():
        for start in range(0, len(rows), 300):
            Member.insert_many(rows[start : start + 300]).execute()
    by_staleness = [m.id for m in Member.select(Member.id).order_by(Member.last_synced_at)]

    assert tick(make_runtime(settings, redis_url)) == 1000

    messages = sorted(sent_messages(redis_client), key=lambda m: m["delay_ms"])
    assert [int(m["args"][0]) for m in messages] == by_staleness[:1000]
    queued = Member.select(Member.id).where(Member.sync_state == SyncState.QUEUED.value)
    assert sorted(m.id for m in queued) == sorted(by_staleness[:1000])
    assert all(state_of(m) == SyncState.DONE for m in by_staleness[1000:])
