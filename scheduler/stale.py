"""Which members are due for a refresh, and when each one's sync is sent within a tick."""

from __future__ import annotations

import datetime as dt

import peewee

from shared.db import Member
from shared.syncstate import ACTIVE, NEEDS_ACTION, SyncState

# A member shown as busy for longer than this is presumed stuck (lost message): refresh anyway.
STUCK_AFTER = dt.timedelta(hours=24)


def is_due(*, now: dt.datetime, stale_after_s: float) -> peewee.Expression:
    """Connected, not synced for ``stale_after_s``, not busy (unless stuck), needing no action."""
    synced_before = now - dt.timedelta(seconds=stale_after_s)
    not_waiting = Member.sync_state.not_in(
        [*ACTIVE, *NEEDS_ACTION, SyncState.NEW, SyncState.DELETING]
    )
    stuck = Member.sync_state.in_(list(ACTIVE)) & (Member.updated_at < now - STUCK_AFTER)
    return (
        (Member.github_token != "")
        & (Member.last_synced_at.is_null() | (Member.last_synced_at < synced_before))
        & (not_waiting | stuck)
    )


def stale_members(*, now: dt.datetime, stale_after_s: float, limit: int = 1000) -> list[int]:
    """The members due for a refresh, those synced longest ago first."""
    query = (
        Member.select(Member.id)
        .where(is_due(now=now, stale_after_s=stale_after_s))
        .order_by(Member.last_synced_at.asc(nulls="first"))
        .limit(limit)
    )
    return [member.id for member in query]


def spread_delays_ms(count: int, *, interval_s: float) -> list[int]:
    """Delays that spread ``count`` sends evenly over most of one interval, not as one burst."""
    if count <= 0:
        return []
    span_ms = interval_s * 1000 * 0.8
    return [int(span_ms * i / count) for i in range(count)]
