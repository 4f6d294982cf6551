"""The Dramatiq broker and the queues; messages carry a member id, never data or tokens.

Senders build messages by actor name, so the gateway and the scheduler need not import the
fetcher's or uploader's code.

Fetch work has two queues. ``fetch`` takes the syncs that start: a member connecting GitHub,
"Sync now", the scheduler's refreshes. ``fetch-resumed`` takes the syncs that continue work
already begun, re-sent by the fetcher for when GitHub's limit resets (or the member's lock
lapses); its actor has the higher priority, so a worker runs a resumed sync before any first
sync it holds. With one FIFO queue, a sync re-sent after an hour's wait went to the back,
behind every member who connected meanwhile, and a heavy member's backfill took twice as long
as its rate limit requires.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from shared import keys

FETCH_QUEUE = "fetch"
SYNC_ACTOR = "sync_member"
RESUMED_FETCH_QUEUE = "fetch-resumed"
RESUMED_SYNC_ACTOR = "resume_sync_member"
# Dramatiq runs the messages a worker holds lowest priority first (0 is its default).
RESUMED_SYNC_PRIORITY = 0
SYNC_PRIORITY = 10
UPLOAD_QUEUE = "upload"
# Every queue a message about a member goes to (a sync, a resumed sync, an upload or deletion).
MEMBER_QUEUES = (FETCH_QUEUE, RESUMED_FETCH_QUEUE, UPLOAD_QUEUE)
UPLOAD_ACTOR = "upload_member"
DELETE_ACTOR = "delete_member_file"  # on the upload queue: never interleaves with an upload
# A worker silent this long is presumed dead and its messages go back on their queue (Dramatiq's
# default is 60 s); live workers speak at least every second even when busy (delay-queue polls).
HEARTBEAT_TIMEOUT_MS = 15_000
# Each process runs the broker's maintenance (which requeues a dead worker's messages) at most
# this often, on its next command. Dramatiq draws maintenance at random (0.1% of commands by
# default): a dead fetcher's sync then waited a minute or a quarter of an hour for a live one's
# lucky draw. On a clock, recovery takes the heartbeat timeout plus a few seconds, every time,
# and the cost stays bounded (maintenance lists the keys of a dead worker's acks).
MAINTENANCE_INTERVAL_S = 2.0
# Dramatiq refuses delays of 7 days or more; a rate-limit wait is at most an hour anyway.
MAX_DELAY_MS = 6 * 24 * 3600 * 1000


class TimedMaintenanceBroker(RedisBroker):
    """Dramatiq's Redis broker with maintenance on a clock per queue instead of a random draw.

    Maintenance requeues a dead worker's messages of the queue the command is about, so the
    clock is kept per queue. Dramatiq has no public hook for this: the broker's two private
    methods that decide it are wrapped (the version is pinned, and ``tests/e2e/test_crash.py``
    measures the recovery this gives).
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)  # type: ignore[no-untyped-call]
        self._maintained_at: dict[str, float] = {}
        self._maintenance_lock = threading.Lock()
        self._dispatching = threading.local()  # the queue of the command being built

    def _dispatch(self, command: str) -> Callable[..., Any]:
        dispatch: Callable[..., Any] = super()._dispatch(command)  # type: ignore[no-untyped-call]

        def about_queue(queue_name: str, *args: Any) -> Any:
            self._dispatching.queue = queue_name
            return dispatch(queue_name, *args)

        return about_queue

    def _should_do_maintenance(self, command: str) -> int:
        if command in ("ack", "nack"):  # as Dramatiq: never while acknowledging
            return 0
        queue = getattr(self._dispatching, "queue", "")
        with self._maintenance_lock:
            now = time.monotonic()
            if now - self._maintained_at.get(queue, 0.0) < MAINTENANCE_INTERVAL_S:
                return 0
            self._maintained_at[queue] = now
            return 1


def setup_broker(redis_url: str, *, metrics_port: int = 0) -> RedisBroker:
    """Create the Redis broker and make it global; call before importing any actor module.

    With ``metrics_port`` a worker exports Dramatiq's Prometheus metrics (messages, errors,
    retries, durations, in-progress) on that port.
    """
    broker = TimedMaintenanceBroker(
        url=redis_url,
        namespace=keys.NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
    )
    if metrics_port:
        _prometheus_environment(metrics_port)
        from dramatiq.middleware.prometheus import Prometheus

        class WorkerMetrics(Prometheus):
            @property
            def forks(self) -> list[Callable[[], int]]:
                return [serve_worker_metrics]

        broker.add_middleware(WorkerMetrics())
    dramatiq.set_broker(broker)
    return broker


def serve_worker_metrics() -> int:
    """Dramatiq fork (started by the worker's main process): the metrics exposition server.

    It serves what every worker process of this service wrote to the metrics files, with
    prometheus_client's public multiprocess collector (Dramatiq's own server is private, and
    reads its port before our settings are known). Runs until Dramatiq stops the fork.
    """
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    from shared.settings import Settings

    port = Settings.from_env().worker_metrics_port
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=_prometheus_environment(port))  # type: ignore[no-untyped-call]
    _server, thread = start_http_server(port, registry=registry)
    thread.join()
    return 0


def _prometheus_environment(port: int) -> str:
    """What dramatiq's Prometheus middleware reads at import: the metrics files' folder, kept
    per port so that two services' workers on one host never mix their counts; returns it."""
    path = os.path.join(tempfile.gettempdir(), f"ohgithub-prometheus-{port}")
    os.makedirs(path, exist_ok=True)
    os.environ["dramatiq_prom_port"] = str(port)  # noqa: SIM112 (dramatiq reads it so)
    os.environ["dramatiq_prom_db"] = path  # noqa: SIM112
    return path


def _send(queue: str, actor: str, member_id: int, delay_ms: int | None) -> None:
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=(member_id,), kwargs={}, options={}
    )
    delay = None if delay_ms is None else max(0, min(int(delay_ms), MAX_DELAY_MS))
    dramatiq.get_broker().enqueue(message, delay=delay)


def send_sync(member_id: int, *, delay_ms: int | None = None) -> None:
    """A sync that starts (first sync, "Sync now", a refresh)."""
    _send(FETCH_QUEUE, SYNC_ACTOR, member_id, delay_ms)


def send_syncs(schedule: Sequence[tuple[int, int | None]]) -> None:
    """Syncs that start, ``(member id, delay in ms or None)`` each.

    One enqueue each, through Dramatiq's public API: batching them in a Redis pipeline would
    mean re-implementing the broker's private enqueue, to save a fraction of a second per tick.
    """
    for member_id, delay_ms in schedule:
        send_sync(member_id, delay_ms=delay_ms)


def send_resumed_sync(member_id: int, *, delay_ms: int | None = None) -> None:
    """A sync that continues one already begun, served before the syncs that start."""
    _send(RESUMED_FETCH_QUEUE, RESUMED_SYNC_ACTOR, member_id, delay_ms)


def send_upload(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, UPLOAD_ACTOR, member_id, delay_ms)


def send_delete_file(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, DELETE_ACTOR, member_id, delay_ms)
