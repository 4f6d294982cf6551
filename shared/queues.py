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
import uuid
from collections.abc import Callable, Sequence

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis, dq_name

from shared import keys

FETCH_QUEUE = "fetch"
SYNC_ACTOR = "sync_member"
RESUMED_FETCH_QUEUE = "fetch-resumed"
RESUMED_SYNC_ACTOR = "resume_sync_member"
# Dramatiq runs the messages a worker holds lowest priority first (0 is its default).
RESUMED_SYNC_PRIORITY = 0
SYNC_PRIORITY = 10
UPLOAD_QUEUE = "upload"
UPLOAD_ACTOR = "upload_member"
DELETE_ACTOR = "delete_member_file"  # on the upload queue: never interleaves with an upload
# A worker silent this long is presumed dead and its messages go back on their queue (Dramatiq's
# default is 60 s); live workers speak every few seconds even when busy (delay-queue polls).
HEARTBEAT_TIMEOUT_MS = 20_000
# Commands per million that run the broker's maintenance, which is what requeues a dead
# worker's messages: 2% (Dramatiq's default 0.1% can leave them for a quarter of an hour).
MAINTENANCE_CHANCE = 20_000
# Dramatiq refuses delays of 7 days or more; a rate-limit wait is at most an hour anyway.
MAX_DELAY_MS = 6 * 24 * 3600 * 1000


def setup_broker(redis_url: str, *, metrics_port: int = 0) -> RedisBroker:
    """Create the Redis broker and make it global; call before importing any actor module.

    With ``metrics_port`` a worker exports Dramatiq's Prometheus metrics (messages, errors,
    retries, durations, in-progress) on that port.
    """
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url,
        namespace=keys.NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        maintenance_chance=MAINTENANCE_CHANCE,
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

    Dramatiq's own fork reads its port when first imported, in a process that never imported
    our actors; this one reads WORKER_METRICS_PORT itself first.
    """
    from shared.settings import Settings

    _prometheus_environment(Settings.from_env().worker_metrics_port)
    from dramatiq.middleware.prometheus import _run_exposition_server

    result: int = _run_exposition_server()  # type: ignore[no-untyped-call]
    return result


def _prometheus_environment(port: int) -> None:
    """What dramatiq's Prometheus middleware reads at import: the port and the metrics files,
    kept per port so that two services' workers on one host never mix their counts."""
    os.environ["dramatiq_prom_port"] = str(port)  # noqa: SIM112 (dramatiq reads it so)
    os.environ["dramatiq_prom_db"] = os.path.join(  # noqa: SIM112
        tempfile.gettempdir(), f"ohgithub-prometheus-{port}"
    )


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
    """Syncs that start, ``(member id, delay in ms or None)`` each, in one round trip to Redis.

    The scheduler sends up to a thousand per tick; one at a time that was a thousand round
    trips. Each message is enqueued exactly as ``RedisBroker.enqueue`` does it (its own Redis
    message id, the delay queue with an ``eta`` when delayed, the same middleware hooks), with
    the broker's dispatch script run in a pipeline.
    """
    broker = dramatiq.get_broker()
    if not isinstance(broker, RedisBroker):
        for member_id, delay_ms in schedule:
            send_sync(member_id, delay_ms=delay_ms)
        return
    pipeline = broker.client.pipeline(transaction=False)
    dispatch = broker.scripts["dispatch"]
    sent = []
    for member_id, delay_ms in schedule:
        delay = None if delay_ms is None else max(0, min(int(delay_ms), MAX_DELAY_MS))
        message: dramatiq.Message[None] = dramatiq.Message(
            queue_name=FETCH_QUEUE, actor_name=SYNC_ACTOR, args=(member_id,), kwargs={}, options={}
        )
        message = message.copy(options={"redis_message_id": str(uuid.uuid4())})
        queue_name = FETCH_QUEUE
        if delay is not None:
            queue_name = dq_name(FETCH_QUEUE)
            eta = current_millis() + delay
            message = message.copy(queue_name=queue_name, options={"eta": eta})
        broker.emit_before("enqueue", message, delay)
        dispatch(
            keys=[broker.namespace],
            args=[
                "enqueue",
                current_millis(),
                queue_name,
                broker.broker_id,
                broker.heartbeat_timeout,
                broker.dead_message_ttl,
                0,  # no maintenance within the batch
                broker._max_unpack_size(),  # type: ignore[no-untyped-call]
                message.options["redis_message_id"],
                message.encode(),
            ],
            client=pipeline,
        )
        sent.append((message, delay))
    pipeline.execute()
    for message, delay in sent:
        broker.emit_after("enqueue", message, delay)


def send_resumed_sync(member_id: int, *, delay_ms: int | None = None) -> None:
    """A sync that continues one already begun, served before the syncs that start."""
    _send(RESUMED_FETCH_QUEUE, RESUMED_SYNC_ACTOR, member_id, delay_ms)


def send_upload(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, UPLOAD_ACTOR, member_id, delay_ms)


def send_delete_file(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, DELETE_ACTOR, member_id, delay_ms)
