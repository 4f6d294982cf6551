"""Which weeks a sync fetches, and in which periods (pure functions over plain data)."""

from __future__ import annotations

from shared.isoweek import IsoWeek

# GitHub's contributionsCollection spans at most one year; 52 ISO weeks are 364 days.
MAX_PERIOD_WEEKS = 52


def first_week_to_fetch(
    *, account_created: IsoWeek, last_complete_week: IsoWeek | None, horizon: IsoWeek | None = None
) -> IsoWeek:
    """The week after the last complete one held, else the account's first week.

    A week held but not complete (fetched before it ended) is fetched again.
    """
    start = account_created if horizon is None else max(account_created, horizon)
    if last_complete_week is not None and last_complete_week >= start:
        return last_complete_week.next()
    return start


def periods(
    first: IsoWeek, last: IsoWeek, *, max_weeks: int = MAX_PERIOD_WEEKS
) -> list[tuple[IsoWeek, IsoWeek]]:
    """Consecutive ``(first, last)`` week ranges of at most ``max_weeks`` covering first..last."""
    result: list[tuple[IsoWeek, IsoWeek]] = []
    start = first
    while start <= last:
        end = start
        for _ in range(max_weeks - 1):
            if end.next() > last:
                break
            end = end.next()
        result.append((start, end))
        start = end.next()
    return result


def latest(*weeks: IsoWeek | None) -> IsoWeek | None:
    present = [week for week in weeks if week is not None]
    return max(present) if present else None
