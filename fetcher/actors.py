"""Dramatiq entry point of the fetcher: ``dramatiq fetcher.actors``."""

from __future__ import annotations

import dramatiq
import structlog

from shared import queues, runtime
from shared.db import connection

_runtime = runtime.start("fetcher")
_broker = queues.setup_broker(  # before any actor is declared
    _runtime.settings.redis_url,
    metrics_port=_runtime.settings.worker_metrics_port,
)

from fetcher.sync import sync_member  # noqa: E402
from shared.handback import WorkerStopping, run_or_hand_back  # noqa: E402

_broker.add_middleware(WorkerStopping())

# Transient failures (5xx bursts, timeouts) retried this many times, with dramatiq's back-off.
MAX_RETRIES = 5
# Back-off bounds between retries, in milliseconds.
MIN_BACKOFF_MS = 5_000
MAX_BACKOFF_MS = 10 * 60_000
# A sync of a heavy member can take long; it renews its lock, dramatiq must not kill it.
TIME_LIMIT_MS = 6 * 3600 * 1000


@dramatiq.actor(
    actor_name=queues.SYNC_ACTOR,
    queue_name=queues.FETCH_QUEUE,
    priority=queues.SYNC_PRIORITY,
    max_retries=MAX_RETRIES,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
    time_limit=TIME_LIMIT_MS,
)
def sync(member_id: int) -> None:
    _sync(member_id)


@dramatiq.actor(
    actor_name=queues.RESUMED_SYNC_ACTOR,
    queue_name=queues.RESUMED_FETCH_QUEUE,
    priority=queues.RESUMED_SYNC_PRIORITY,
    max_retries=MAX_RETRIES,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
    time_limit=TIME_LIMIT_MS,
)
def resume_sync(member_id: int) -> None:
    """The same sync, re-sent to continue: it runs before the syncs that start."""
    _sync(member_id)


def _sync(member_id: int) -> None:
    """The sync, handed back to the queue if the worker stops or the database is away."""

    def run() -> None:
        with connection():
            sync_member(member_id, _runtime)

    with structlog.contextvars.bound_contextvars(member_id=member_id):
        run_or_hand_back(member_id, run, resend=queues.send_resumed_sync, what="sync")
