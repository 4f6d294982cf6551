"""Locks a live holder keeps however long it works, and a dead one loses within their TTL."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest
import redis

from shared.errors import LockLost
from shared.locks import KeptLock

KEY = "test:kept-lock"


def test_a_live_holder_keeps_the_lock_past_its_ttl(redis_client: redis.Redis) -> None:
    lock = KeptLock(redis_client, KEY, ttl_s=1)
    assert lock.acquire()
    with lock:
        time.sleep(2.5)  # blocked, as in a slow request: the keeper renews meanwhile
        assert not KeptLock(redis_client, KEY, ttl_s=1).acquire()
        lock.check()
    assert redis_client.exists(KEY) == 0  # released
    assert KeptLock(redis_client, KEY, ttl_s=1).acquire()


def _hold_forever(redis_url: str) -> None:
    lock = KeptLock(redis.Redis.from_url(redis_url), KEY, ttl_s=1)
    assert lock.acquire()
    time.sleep(60)


def test_a_dead_holder_loses_the_lock_within_its_ttl(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    holder = multiprocessing.get_context("spawn").Process(target=_hold_forever, args=(redis_url,))
    holder.start()
    try:
        deadline = time.monotonic() + 20
        while not client.exists(KEY):
            assert time.monotonic() < deadline, "the holder never took the lock"
            time.sleep(0.05)
        time.sleep(1.5)
        assert client.exists(KEY)  # renewed past its TTL while the holder lives
        os.kill(holder.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while client.exists(KEY):
            time.sleep(0.05)
        assert time.monotonic() - killed_at <= 2  # within the TTL, give or take a poll
    finally:
        holder.kill()
        holder.join()
        client.close()


def test_a_holder_that_lost_its_lock_finds_out(redis_client: redis.Redis) -> None:
    lock = KeptLock(redis_client, KEY, ttl_s=0.6)
    assert lock.acquire()
    redis_client.set(KEY, "someone else")  # it lapsed and another process took it
    time.sleep(0.5)  # a renewal round
    with pytest.raises(LockLost):
        lock.check()
    lock.release()
    assert redis_client.get(KEY) == b"someone else"  # the other holder's lock is left alone
