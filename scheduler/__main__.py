"""The scheduler process: ``python -m scheduler``.

Every SCHEDULER_INTERVAL it enqueues a sync for each stale member. APScheduler has no
multi-replica coordination of its own, so each tick runs under a Redis lock: two replicas never
enqueue the same members twice. At least as often it checks that Redis still holds its data, and
re-sends the busy members' syncs if not (``scheduler.recovery``).
"""

from __future__ import annotations

import logging
import signal

from apscheduler.schedulers.background import BackgroundScheduler

from scheduler.recovery import check_interval_s, resend_if_redis_lost_data, resend_lost_syncs
from scheduler.stale import is_due, spread_delays_ms, stale_members
from shared import keys, queues, runtime
from shared.db import connection, transition_many, utcnow
from shared.logging import get_logger
from shared.syncstate import SyncState

log = get_logger("scheduler")
# Ctrl-C, `kill` and Kubernetes stop the scheduler; both are taken by sigwait() in main().
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def tick(rt: runtime.Runtime) -> int:
    """Enqueue stale members once per interval, fleet-wide, and re-send the syncs of busy
    members whose messages were lost; returns how many stale members were enqueued."""
    interval_s = rt.settings.scheduler_interval_s
    # Held past the tick on purpose (no release): a second replica's tick in the same interval
    # finds it and does nothing.
    if not rt.redis.set(keys.scheduler_tick(), "1", nx=True, px=int(interval_s * 900)):
        log.info("scheduler_tick_skipped", reason="another replica ticked in this interval")
        return 0
    with connection():
        now, stale_after_s = utcnow(), rt.settings.stale_after_s
        due = stale_members(now=now, stale_after_s=stale_after_s)
        # Still due? A "Sync now" or a disconnect since the select must win: each row moves
        # only if it is still due when the batched UPDATE reaches it.
        claimed = transition_many(
            due, SyncState.QUEUED, condition=is_due(now=now, stale_after_s=stale_after_s)
        )
    ordered = [member_id for member_id in due if member_id in claimed]  # synced longest ago first
    delays = spread_delays_ms(len(ordered), interval_s=interval_s)
    queues.send_syncs([(m, d or None) for m, d in zip(ordered, delays, strict=True)])
    resent = resend_lost_syncs(rt.redis)
    log.info("scheduler_tick", enqueued=len(ordered), lost_resent=resent)
    return len(ordered)


def main() -> None:
    # Ctrl-C and SIGTERM are blocked in every thread (threads inherit the mask, so block first)
    # and taken by sigwait() below. Handlers would run only once the main thread wakes, which a
    # signal delivered to the job thread does not do; and a handler calling shutdown() could
    # deadlock on a lock the interrupted main thread holds.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    rt = runtime.start("scheduler")
    # APScheduler logs two lines per job run: with the Redis check every 15 s they would bury
    # the scheduler's own events. Its warnings and errors (a missed or failed run) still show.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    queues.setup_broker(rt.settings.redis_url)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        args=[rt],
        seconds=rt.settings.scheduler_interval_s,
        next_run_time=utcnow(),
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        resend_if_redis_lost_data,
        "interval",
        args=[rt.redis],
        seconds=check_interval_s(rt.settings.scheduler_interval_s),
        next_run_time=utcnow(),
        max_instances=1,
        coalesce=True,
    )
    scheduler.start()
    log.info(
        "scheduler_started",
        interval_s=rt.settings.scheduler_interval_s,
        stale_after_s=rt.settings.stale_after_s,
    )
    received = signal.sigwait(STOP_SIGNALS)
    log.info("scheduler_stopping", signal=signal.Signals(received).name)
    scheduler.shutdown(wait=True)  # lets a running tick finish


if __name__ == "__main__":
    main()
