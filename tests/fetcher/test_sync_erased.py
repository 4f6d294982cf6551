"""A member erased (they left the project) or disconnecting GitHub while their sync runs: the
sync stops, and what it wrote to Redis after the erasure is forgotten too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import redis

from fetcher.sync import Outcome, sync_member
from gateway.members import disconnect_github, erase_member
from shared import keys
from shared.db import Member, StagedWeek, connection
from shared.runtime import Runtime

LOGIN = "octo-typical"


def start_slow_sync(
    sandbox: httpx.Client, runtime: Runtime, member: Member
) -> tuple[threading.Thread, list[Outcome]]:
    """The member's sync, slowed to 100 ms a GitHub request, in a thread of its own once it is
    under way (progress in Redis); and the list its outcome goes to."""
    sandbox.post("/_sandbox/config", json={"latency_ms": 100}).raise_for_status()
    outcomes: list[Outcome] = []

    def run() -> None:
        with connection():
            outcomes.append(sync_member(member.id, runtime))

    thread = threading.Thread(target=run)
    thread.start()
    client: redis.Redis = runtime.redis
    deadline = time.monotonic() + 30
    while not client.exists(keys.sync_progress(member.id)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.exists(keys.sync_progress(member.id)), "the sync never got under way"
    return thread, outcomes


def assert_nothing_kept(client: redis.Redis, member: Member) -> None:
    held = [*keys.member_keys(member.id), keys.sync_lock(member.id)]
    assert [key for key in held if client.exists(key)] == []
    for pattern in keys.github_user_patterns(member.github_id):
        assert list(client.scan_iter(match=pattern)) == [], pattern


def test_a_sync_stops_when_its_member_disconnects_github_and_leaves_no_key(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect(LOGIN)
    thread, outcomes = start_slow_sync(sandbox, runtime, member)

    disconnect_github(member.id, redis_client=runtime.redis)
    disconnected_at = time.monotonic()
    thread.join(timeout=60)

    assert not thread.is_alive()
    assert time.monotonic() - disconnected_at < runtime.settings.sync_lock_ttl_s
    assert_nothing_kept(runtime.redis, member)
    assert Member.get_by_id(member.id).github_token == ""
    # Nothing of the account left to mix into the file of the next one the member connects.
    assert not StagedWeek.select().where(StagedWeek.member == member.id).exists()


def test_an_erased_members_sync_stops_and_leaves_no_key(
    sandbox: httpx.Client, runtime: Runtime, connect: Callable[..., Member]
) -> None:
    member = connect(LOGIN)
    thread, outcomes = start_slow_sync(sandbox, runtime, member)
    client: redis.Redis = runtime.redis

    assert erase_member(member.oh_member_id, redis_client=client)
    erased_at = time.monotonic()
    thread.join(timeout=60)

    assert not thread.is_alive()
    assert [outcome.kind for outcome in outcomes] in (["lost"], ["erased"])
    assert time.monotonic() - erased_at < runtime.settings.sync_lock_ttl_s  # stopped early
    assert_nothing_kept(client, member)
    assert not StagedWeek.select().where(StagedWeek.member == member.id).exists()
