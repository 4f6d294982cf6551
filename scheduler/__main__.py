"""The scheduler process: ``python -m scheduler``.

Every SCHEDULER_INTERVAL it enqueues a sync for each stale member. APScheduler has no
multi-replica coordination of its own, so each tick runs under a Redis lock: two replicas never
enqueue the same members twice.
"""

from __future__ import annotations

import contextlib
import signal
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from scheduler.stale import spread_delays_ms, stale_members
from shared import queues, runtime
from shared.db import Member, SyncState, connection, utcnow
from shared.logging import get_logger

log = get_logger("scheduler")


def tick(rt: runtime.Runtime) -> int:
    """Enqueue stale members once per interval, fleet-wide; returns how many were enqueued."""
    interval_s = rt.settings.scheduler_interval_s
    # Held past the tick on purpose (no release): a second replica's tick in the same interval
    # finds it and does nothing.
    if not rt.redis.set("ohgithub:scheduler:tick", "1", nx=True, px=int(interval_s * 900)):
        log.info("scheduler_tick_skipped", reason="another replica ticked in this interval")
        return 0
    with connection():
        due = stale_members(now=utcnow(), stale_after_s=rt.settings.stale_after_s)
        for member_id, delay_ms in zip(
            due, spread_delays_ms(len(due), interval_s=interval_s), strict=False
        ):
            Member.update(sync_state=SyncState.QUEUED, updated_at=utcnow()).where(
                Member.id == member_id
            ).execute()
            queues.send_sync(member_id, delay_ms=delay_ms or None)
    log.info("scheduler_tick", enqueued=len(due))
    return len(due)


def main() -> None:
    rt = runtime.start("scheduler")
    queues.setup_broker(rt.settings.redis_url)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        tick,
        "interval",
        args=[rt],
        seconds=rt.settings.scheduler_interval_s,
        next_run_time=utcnow(),
        max_instances=1,
        coalesce=True,
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info(
        "scheduler_started",
        interval_s=rt.settings.scheduler_interval_s,
        stale_after_s=rt.settings.stale_after_s,
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


if __name__ == "__main__":
    main()
