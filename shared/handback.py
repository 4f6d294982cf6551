"""Work that cannot go on here and now is handed back to the queue rather than failed.

Two such conditions belong to the system, not to the work: the worker is stopping (SIGTERM: a
deploy, a scale-down), and the database is away (a restart, a failover). Failing the message
would spend one of its few retries, with a back-off growing to minutes; after five a sync
was dead-lettered and the member shown "syncing" until the scheduler noticed. A worker asked to
stop also waited for its sync to finish, up to Dramatiq's shutdown timeout, after which the
message came back only when the dead worker's heartbeat had lapsed.

Instead the message is sent again (a sync on the resumed queue, an upload on its queue) and
ends normally: at once when the worker stops (this worker restarted, or another, continues from
what was kept: the pages a sync read are in Redis, staged weeks in the database), and every
few seconds while the database is away (one message per member however long the outage
lasts). A sync notices that the worker stops before each GitHub request, where stopping is
clean; an upload only before it starts (it is short, and finishes within the shutdown
timeout). Dramatiq's own notice (``notify_shutdown``) is an exception raised asynchronously
wherever the thread happens to be, e.g. in the middle of releasing the member's lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.middleware import Middleware, Shutdown

from shared.db import DATABASE_ERRORS, database_reachable
from shared.logging import get_logger

# Work that found the database away comes back this often until it is there again: it resumes
# within seconds of the database's return, at the cost of a message per member and a refused
# connection every few seconds meanwhile.
DATABASE_AWAY_RESEND_MS = 3_000

log = get_logger(__name__)

_stopping = threading.Event()


class WorkerStopping(Middleware):
    """Tells this process's work that the worker was asked to stop (Dramatiq's hook)."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        _stopping.set()


def check_not_stopping() -> None:
    """Raise Dramatiq's ``Shutdown`` if the worker is stopping: the work is then handed back."""
    if _stopping.is_set():
        raise Shutdown("the worker is stopping")


def hand_back_delay_ms(
    error: BaseException, *, database_reachable: Callable[[], bool]
) -> int | None:
    """How soon work that ended with ``error`` is sent again instead of failing; None: it
    fails (Dramatiq retries it with back-off), as any error of the work's own.

    A database error is an outage only if the database does not answer now; one it answers
    after (a deadlock, a missing table) is the work's own failure.
    """
    if isinstance(error, Shutdown):
        return 0
    if isinstance(error, DATABASE_ERRORS) and not database_reachable():
        return DATABASE_AWAY_RESEND_MS
    return None


def run_or_hand_back(
    member_id: int,
    work: Callable[[], Any],
    *,
    resend: Callable[..., None],
    what: str,
) -> bool:
    """Run ``work`` (which takes its own database connection); return whether it was handed
    back to the queue (by ``resend(member_id, delay_ms=)``) instead of running to its end.
    ``what`` names the work in the log ("sync", "upload", ...)."""
    try:
        check_not_stopping()
        work()
    except (Shutdown, *DATABASE_ERRORS) as error:
        delay_ms = hand_back_delay_ms(error, database_reachable=database_reachable)
        if delay_ms is None:
            raise
        resend(member_id, delay_ms=delay_ms or None)
        reason = "worker_stopping" if isinstance(error, Shutdown) else "database_away"
        log.warning("handed_back", what=what, member_id=member_id, reason=reason, delay_ms=delay_ms)
        return True
    return False
