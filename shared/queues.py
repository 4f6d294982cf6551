"""The Dramatiq broker and the two queues; messages carry a member id, never data or tokens.

Senders build messages by actor name, so the gateway and the scheduler need not import the
fetcher's or uploader's code.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

FETCH_QUEUE = "fetch"
SYNC_ACTOR = "sync_member"
UPLOAD_QUEUE = "upload"
UPLOAD_ACTOR = "upload_member"
DELETE_ACTOR = "delete_member_file"  # on the upload queue: never interleaves with an upload
# Dramatiq refuses delays of 7 days or more; a rate-limit wait is at most an hour anyway.
MAX_DELAY_MS = 6 * 24 * 3600 * 1000


def setup_broker(redis_url: str) -> RedisBroker:
    """Create the Redis broker and make it global; call before importing any actor module."""
    broker = RedisBroker(url=redis_url, namespace="ohgithub")  # type: ignore[no-untyped-call]
    dramatiq.set_broker(broker)
    return broker


def _send(queue: str, actor: str, member_id: int, delay_ms: int | None) -> None:
    message: dramatiq.Message[None] = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=(member_id,), kwargs={}, options={}
    )
    delay = None if delay_ms is None else max(0, min(int(delay_ms), MAX_DELAY_MS))
    dramatiq.get_broker().enqueue(message, delay=delay)


def send_sync(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(FETCH_QUEUE, SYNC_ACTOR, member_id, delay_ms)


def send_upload(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, UPLOAD_ACTOR, member_id, delay_ms)


def send_delete_file(member_id: int, *, delay_ms: int | None = None) -> None:
    _send(UPLOAD_QUEUE, DELETE_ACTOR, member_id, delay_ms)
