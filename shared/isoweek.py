"""ISO weeks in UTC, the unit in which a member's history is fetched, staged and stored."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

_WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """One ISO 8601 week, e.g. ``IsoWeek(2024, 18)`` written ``2024-W18``.

    Ordering is chronological; ``start`` is the Monday and ``end`` the Sunday of the week.
    """

    year: int
    week: int

    def __post_init__(self) -> None:
        # fromisocalendar raises for a week number the year does not have (W53 in most years).
        dt.date.fromisocalendar(self.year, self.week, 1)

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = _WEEK_PATTERN.match(text)
        if match is None:
            raise ValueError(f"not an ISO week: {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, when: dt.date | dt.datetime) -> IsoWeek:
        """The week holding ``when``; an aware datetime is converted to UTC first."""
        if isinstance(when, dt.datetime):
            if when.tzinfo is not None:
                when = when.astimezone(dt.UTC)
            when = when.date()
        year, week, _ = when.isocalendar()
        return cls(year, week)

    @classmethod
    def current(cls, now: dt.datetime | None = None) -> IsoWeek:
        return cls.of(now or dt.datetime.now(dt.UTC))

    @property
    def start(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    @property
    def end(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 7)

    @property
    def starts_at(self) -> dt.datetime:
        """Monday 00:00:00 UTC."""
        return dt.datetime.combine(self.start, dt.time(0), tzinfo=dt.UTC)

    @property
    def ends_at(self) -> dt.datetime:
        """The first instant after the week: next Monday 00:00:00 UTC (exclusive bound)."""
        return self.starts_at + dt.timedelta(days=7)

    def days(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=i) for i in range(7)]

    def next(self) -> IsoWeek:
        return IsoWeek.of(self.start + dt.timedelta(days=7))

    def previous(self) -> IsoWeek:
        return IsoWeek.of(self.start - dt.timedelta(days=7))

    def until(self, last: IsoWeek) -> Iterator[IsoWeek]:
        """Every week from this one up to and including ``last``."""
        week = self
        while week <= last:
            yield week
            week = week.next()

    def __str__(self) -> str:
        return f"{self.year:04d}-W{self.week:02d}"
