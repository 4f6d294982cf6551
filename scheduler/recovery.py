"""Sending again the syncs whose messages Redis no longer holds.

Redis holds every queued and delayed sync, the locks and what unfinished syncs have read.
Restarted without persistence, flushed, or replaced by an empty replica, it forgets them all,
and every member shown as queued, syncing, waiting or uploading would stay so until
``scheduler.stale.STUCK_AFTER``. A marker key, written once and never expiring, tells: only such
a loss removes it. The replica that writes it again (SET NX: one replica only) re-sends a sync
for every busy member at once, and a waiting member's for the reset it was waiting for. The
staged weeks are in the database, so the re-sent syncs read again only what was not staged.

A single message can also go missing with the marker intact (a process dying between moving a
member and sending its message, a failover losing the last writes, an upload dead-lettered).
Once per tick, a member busy for LOST_AFTER with no message for them on any queue is re-sent.

A member deleting their data is busy too: their file deletion (on the upload queue) is re-sent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

import redis

from shared import keys, queues
from shared.db import Member, connection, utcnow
from shared.logging import get_logger
from shared.syncstate import ACTIVE, SyncState

log = get_logger("scheduler")
# One SET NX per check costs nothing; a member stuck after Redis lost its data waits at most this.
RECOVERY_CHECK_MAX_S = 15.0
# A busy member with no message anywhere for this long lost it: far above the milliseconds
# between a state change and its message, far below STUCK_AFTER.
LOST_AFTER = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class BusyMember:
    member_id: int
    state: SyncState
    waiting_until: dt.datetime | None


def resend_schedule(
    busy: Iterable[BusyMember], *, now: dt.datetime
) -> list[tuple[int, int | None]]:
    """``(member id, delay in ms or None)`` of each busy member's re-sent sync (members deleting
    their data are not synced: see ``resend``).

    A member waiting for GitHub's reset resumes at that reset (sending it now would only spend
    a request to learn the limit again); every other one at once.
    """
    schedule: list[tuple[int, int | None]] = []
    for member in busy:
        if member.state == SyncState.DELETING:
            continue
        delay_ms = None
        if member.state == SyncState.WAITING and member.waiting_until is not None:
            wait_ms = int((member.waiting_until - now).total_seconds() * 1000)
            delay_ms = wait_ms if wait_ms > 0 else None
        schedule.append((member.member_id, delay_ms))
    return schedule


def lost(busy: Iterable[BusyMember], *, with_messages: set[int]) -> list[BusyMember]:
    """The busy members no message on any queue is for."""
    return [member for member in busy if member.member_id not in with_messages]


def busy_members(*, unchanged_since: dt.datetime | None = None) -> list[BusyMember]:
    """Connected members shown as queued, syncing, waiting or uploading, and members deleting
    their data (whose rows have not changed since ``unchanged_since``)."""
    syncing = Member.sync_state.in_([state.value for state in ACTIVE]) & (Member.github_token != "")
    where = syncing | (Member.sync_state == SyncState.DELETING.value)
    if unchanged_since is not None:
        where &= Member.updated_at < unchanged_since
    query = Member.select(Member.id, Member.sync_state, Member.waiting_until).where(where)
    return [
        BusyMember(member.id, SyncState(member.sync_state), member.waiting_until)
        for member in query.order_by(Member.id)
    ]


def resend_if_redis_lost_data(client: redis.Redis) -> int:
    """Re-send every busy member's sync if the marker is gone; returns how many were sent.

    The first start against a new Redis finds no marker either: its busy members' messages are
    not there, so re-sending is right then too. A sync sent twice is harmless (the second finds
    the member's lock, or nothing left to read).
    """
    if not client.set(keys.redis_data_marker(), utcnow().isoformat(), nx=True):
        return 0
    try:
        with connection():
            busy = busy_members()
        resent = resend(busy)
    except BaseException:
        # Not done: let the next check (here or on another replica) try again.
        client.delete(keys.redis_data_marker())
        raise
    # A first start against a new Redis has nothing to re-send: that is no warning.
    (log.warning if resent else log.info)("redis_data_marker_missing", resent=resent)
    return resent


def resend(busy: list[BusyMember]) -> int:
    """Send each busy member's next step again: the sync (``resend_schedule``), or the file
    deletion of a member deleting their data; returns how many were sent."""
    schedule = resend_schedule(busy, now=utcnow())
    for member_id, delay_ms in schedule:
        queues.send_resumed_sync(member_id, delay_ms=delay_ms)
    deleting = [member.member_id for member in busy if member.state == SyncState.DELETING]
    for member_id in deleting:
        queues.send_delete_file(member_id)
    return len(schedule) + len(deleting)


def check_interval_s(scheduler_interval_s: float) -> float:
    """How often the marker is checked: every tick, and at least every RECOVERY_CHECK_MAX_S."""
    return min(scheduler_interval_s, RECOVERY_CHECK_MAX_S)


def members_with_messages(client: redis.Redis) -> set[int]:
    """Members some message waits for: sent, delayed, or being worked (not yet acknowledged)."""
    found: set[int] = set()
    for queue in queues.MEMBER_QUEUES:
        for key in (keys.queue_messages(queue), keys.delayed_messages(queue)):
            for _, raw in client.hscan_iter(key):
                args = json.loads(raw).get("args") or []
                if args and isinstance(args[0], int):
                    found.add(args[0])
    return found


def resend_lost_syncs(client: redis.Redis, *, lost_after: dt.timedelta = LOST_AFTER) -> int:
    """Re-send the sync of each member busy for ``lost_after`` with no message on any queue;
    returns how many. Each is re-sent at most once per ``lost_after`` (its row is touched)."""
    with connection():
        busy = busy_members(unchanged_since=utcnow() - lost_after)
    if not busy:
        return 0
    missing = lost(busy, with_messages=members_with_messages(client))
    if not missing:
        return 0
    with connection():
        ids = [member.member_id for member in missing]
        Member.update(updated_at=utcnow()).where(Member.id.in_(ids)).execute()
    resend(missing)
    log.warning("lost_syncs_resent", members=ids)
    return len(missing)
