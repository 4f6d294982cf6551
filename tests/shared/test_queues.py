"""The queues, consumed by a real Dramatiq worker on real Redis: batched sends arrive like single
ones, and a resumed sync is served before the syncs waiting to start."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import dramatiq
import pytest

from shared import queues


@pytest.fixture
def broker(redis_url: str) -> Iterator[dramatiq.Broker]:
    previous = dramatiq.broker.global_broker
    built = queues.setup_broker(redis_url)
    yield built
    built.close()
    dramatiq.set_broker(previous)  # type: ignore[arg-type]


class Recorder:
    """Stand-ins for the fetcher's two actors: same names, queues and priorities."""

    def __init__(self, broker: dramatiq.Broker, *, hold_s: float = 0.0) -> None:
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._hold_s = hold_s
        dramatiq.actor(
            self._starting,
            actor_name=queues.SYNC_ACTOR,
            queue_name=queues.FETCH_QUEUE,
            priority=queues.SYNC_PRIORITY,
            broker=broker,
        )
        dramatiq.actor(
            self._resumed,
            actor_name=queues.RESUMED_SYNC_ACTOR,
            queue_name=queues.RESUMED_FETCH_QUEUE,
            priority=queues.RESUMED_SYNC_PRIORITY,
            broker=broker,
        )

    def _record(self, kind: str, member_id: int) -> None:
        with self._lock:
            self.calls.append((kind, member_id))
        time.sleep(self._hold_s)

    def _starting(self, member_id: int) -> None:
        self._record("starting", member_id)

    def _resumed(self, member_id: int) -> None:
        self._record("resumed", member_id)

    def wait_for(self, count: int, *, timeout_s: float = 30) -> list[tuple[str, int]]:
        deadline = time.monotonic() + timeout_s
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return list(self.calls)


@pytest.fixture
def worker_of(broker: dramatiq.Broker) -> Iterator[list[dramatiq.Worker]]:
    started: list[dramatiq.Worker] = []
    yield started
    for worker in started:
        worker.stop()


def test_batched_sends_reach_the_worker_now_and_after_their_delay(
    broker: dramatiq.Broker, worker_of: list[dramatiq.Worker]
) -> None:
    recorder = Recorder(broker)
    sent_at = time.monotonic()
    queues.send_syncs([(1, None), (2, 600), (3, 0), (4, None)])
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker_of.append(worker)
    worker.start()
    calls = recorder.wait_for(4)
    assert sorted(calls) == [("starting", n) for n in (1, 2, 3, 4)]
    assert calls[-1] == ("starting", 2)  # the delayed one last
    assert time.monotonic() - sent_at >= 0.6


def test_a_resumed_sync_is_served_before_the_syncs_waiting_to_start(
    broker: dramatiq.Broker, worker_of: list[dramatiq.Worker]
) -> None:
    recorder = Recorder(broker, hold_s=0.05)
    queues.send_syncs([(n, None) for n in range(1, 21)])
    queues.send_resumed_sync(99)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker_of.append(worker)
    worker.start()
    calls = recorder.wait_for(21)
    assert len(calls) == 21
    # One thread: only the starting syncs it had already taken can go first.
    assert calls.index(("resumed", 99)) <= 3, calls
