"""Dramatiq entry point of the uploader: ``dramatiq uploader.actors``."""

from __future__ import annotations

import dramatiq
import redis
import structlog

from shared import queues, runtime
from shared.db import connection
from shared.errors import OpenHumansAuthError
from shared.logging import get_logger

_runtime = runtime.start("uploader")
queues.setup_broker(_runtime.settings.redis_url)  # before any actor is declared

from uploader.publish import publish  # noqa: E402

log = get_logger(__name__)

# Transient failures (Open Humans 5xx, storage errors) are retried this many times.
MAX_RETRIES = 8
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 5 * 60_000
# Two uploads of one member never interleave; a busy member's message comes back after this.
BUSY_RETRY_MS = 5_000
# The upload lock outlives a slow upload of a large file; it is released when done.
UPLOAD_LOCK_TTL_S = 600


@dramatiq.actor(
    actor_name=queues.UPLOAD_ACTOR,
    queue_name=queues.UPLOAD_QUEUE,
    max_retries=MAX_RETRIES,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
)
def upload(member_id: int) -> None:
    lock = _runtime.redis.lock(f"ohgithub:upload:{member_id}", timeout=UPLOAD_LOCK_TTL_S)
    if not lock.acquire(blocking=False):
        queues.send_upload(member_id, delay_ms=BUSY_RETRY_MS)
        return
    try:
        with structlog.contextvars.bound_contextvars(member_id=member_id), connection():
            try:
                publish(member_id, _runtime)
            except OpenHumansAuthError:
                log.warning("upload_needs_login", member_id=member_id)  # member marked already
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("upload_lock_lost", member_id=member_id)
