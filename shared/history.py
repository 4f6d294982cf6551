"""A compact digest of a member's file for the dashboard, computed when the file is written.

The dashboard draws the member's history (a contribution heatmap, weekly activity, yearly
totals, a short preview of the file) from this digest, stored beside the coverage cache
(``Member.file_history``), so the gateway never downloads the member's file to show a page.
It is a pure function of the document the uploader has just written; its size grows with the
span of the history (under 2 KB a year), hardly with the amount of activity.

Shape (JSON)::

    {"version": 1,
     "first_day": "2016-01-04",          # Monday of the first week in the file
     "days": [0, 3, null, ...],          # contributions per day from first_day; null: unknown
     "first_week": "2016-W01",
     "weekly": {"commits": [...], "pull_requests": [...], "issues": [...], "reviews": [...]},
     "years": {"2016": {"contributions": 12, "commits": 40, ...}, ...},
     "preview": {...}}                   # the file's head with its latest active week, trimmed

Days of weeks imported from the older integration's ``github.json`` are unknown (``null``):
that file has no daily counts, and its weeks are written with zeros that do not mean "nothing".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from shared.activity import ACTIVITY_KINDS
from shared.isoweek import IsoWeek

HISTORY_VERSION = 1
# The preview shows this many items of each list of the week it shows.
PREVIEW_ITEMS = 2
# Commit messages and titles in the preview are cut to this many characters.
PREVIEW_TEXT_CHARS = 72
# The time field by which each kind of item is dated (its year in the yearly totals).
DATED_BY = {
    "commits": "committed_at",
    "pull_requests": "created_at",
    "issues": "created_at",
    "reviews": "submitted_at",
}


class HistoryBuilder:
    """The digest built a week at a time, weeks in order (the uploader writes files so)."""

    def __init__(self) -> None:
        self._first: IsoWeek | None = None
        self._last: IsoWeek | None = None
        self._days: list[int | None] = []
        self._weekly: dict[str, list[int]] = {kind: [] for kind in ACTIVITY_KINDS}
        self._years: dict[str, dict[str, int]] = defaultdict(
            lambda: {"contributions": 0, **dict.fromkeys(ACTIVITY_KINDS, 0)}
        )
        self._weeks = 0
        self._latest_active: tuple[str, dict[str, Any]] | None = None

    def add(self, key: str, data: dict[str, Any]) -> None:
        week = IsoWeek.parse(key)
        if self._last is not None and week <= self._last:
            raise ValueError(f"weeks out of order: {key} after {self._last}")
        missing = week if self._last is None else self._last.next()
        while missing < week:  # a week the file does not hold: no days known, no items
            self._add_days(missing, None)
            for kind in ACTIVITY_KINDS:
                self._weekly[kind].append(0)
            missing = missing.next()
        self._first = self._first or week
        self._last = week
        self._weeks += 1
        self._add_days(week, data["contributions"] if "source" not in data else None)
        for kind in ACTIVITY_KINDS:
            items = data[kind]
            self._weekly[kind].append(len(items))
            for item in items:
                self._years[item[DATED_BY[kind]][:4]][kind] += 1
        if any(data[kind] for kind in ACTIVITY_KINDS):
            self._latest_active = (key, data)

    def _add_days(self, week: IsoWeek, counts: dict[str, int] | None) -> None:
        for day in week.days():
            count = None if counts is None else int(counts.get(day.isoformat(), 0))
            self._days.append(count)
            if count:
                self._years[str(day.year)]["contributions"] += count

    def result(self, top: dict[str, Any]) -> dict[str, Any]:
        """The digest, given the file's fields but its weeks (``schema``, ``coverage``, ...)."""
        return {
            "version": HISTORY_VERSION,
            "first_day": None if self._first is None else self._first.start.isoformat(),
            "days": self._days,
            "first_week": None if self._first is None else str(self._first),
            "weekly": self._weekly,
            "years": {year: self._years[year] for year in sorted(self._years)},
            "preview": _preview(top, self._latest_active, self._weeks),
        }


def history_of(document: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's digest of a file (see the module docstring for its shape)."""
    builder = HistoryBuilder()
    weeks: dict[str, Any] = document["weeks"]
    for key in sorted(weeks, key=IsoWeek.parse):
        builder.add(key, weeks[key])
    return builder.result(document)


def preview_of(document: dict[str, Any]) -> dict[str, Any]:
    """The file's top level with one week (the latest with activity), lists cut short.

    What a member sees of their file without downloading it: the real field names and values,
    with ``"… N more"`` where items were left out.
    """
    preview: dict[str, Any] = history_of(document)["preview"]
    return preview


def _preview(
    top: dict[str, Any], latest_active: tuple[str, dict[str, Any]] | None, weeks: int
) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    if latest_active is not None:
        key, data = latest_active
        week = dict(data)
        for kind in ACTIVITY_KINDS:
            items: list[Any] = [_trimmed(item) for item in week[kind][:PREVIEW_ITEMS]]
            if len(week[kind]) > PREVIEW_ITEMS:
                items.append(f"… {len(week[kind]) - PREVIEW_ITEMS} more")
            week[kind] = items
        shown[key] = week
    preview: dict[str, Any] = {
        "schema": top["schema"],
        "generated_at": top["generated_at"],
        "github": top["github"],
        "coverage": top["coverage"],
        "weeks": shown,
    }
    if weeks > len(shown):
        preview["weeks"][f"… {weeks - len(shown)} more weeks"] = "…"
    return preview


def _trimmed(item: dict[str, Any]) -> dict[str, Any]:
    result = dict(item)
    for field in ("message", "title"):
        text = result.get(field)
        if isinstance(text, str):
            text = text.splitlines()[0] if text else text
            if len(text) > PREVIEW_TEXT_CHARS:
                text = text[: PREVIEW_TEXT_CHARS - 1] + "…"
            result[field] = text
    return result
