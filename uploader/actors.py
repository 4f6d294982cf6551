"""Dramatiq entry point of the uploader: ``dramatiq uploader.actors``."""

from __future__ import annotations

import dramatiq

from shared import queues, runtime
from shared.handback import WorkerStopping, run_or_hand_back

_runtime = runtime.start("uploader")
_broker = queues.setup_broker(  # before any actor is declared
    _runtime.settings.redis_url,
    metrics_port=_runtime.settings.worker_metrics_port,
)

from uploader.publish import delete_files_exclusively, publish_exclusively  # noqa: E402

# A stopping worker or a database away hands the message back instead of spending a retry.
_broker.add_middleware(WorkerStopping())

# Transient failures (Open Humans 5xx, storage errors, expired download URLs) are retried this
# many times; a lost Open Humans login is not retried (publish_exclusively returns).
MAX_RETRIES = 8
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 5 * 60_000


@dramatiq.actor(
    actor_name=queues.UPLOAD_ACTOR,
    queue_name=queues.UPLOAD_QUEUE,
    max_retries=MAX_RETRIES,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
)
def upload(member_id: int) -> None:
    run_or_hand_back(
        member_id,
        lambda: publish_exclusively(member_id, _runtime),
        resend=queues.send_upload,
        what="upload",
    )


@dramatiq.actor(
    actor_name=queues.DELETE_ACTOR,
    queue_name=queues.UPLOAD_QUEUE,
    max_retries=MAX_RETRIES,
    min_backoff=MIN_BACKOFF_MS,
    max_backoff=MAX_BACKOFF_MS,
)
def delete_file(member_id: int) -> None:
    run_or_hand_back(
        member_id,
        lambda: delete_files_exclusively(member_id, _runtime),
        resend=queues.send_delete_file,
        what="file deletion",
    )
