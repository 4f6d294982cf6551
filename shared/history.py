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


def history_of(document: dict[str, Any]) -> dict[str, Any]:
    """The dashboard's digest of a file (see the module docstring for its shape)."""
    weeks: dict[str, Any] = document["weeks"]
    ordered = sorted(weeks, key=IsoWeek.parse)
    history: dict[str, Any] = {
        "version": HISTORY_VERSION,
        "first_day": None,
        "days": [],
        "first_week": None,
        "weekly": {kind: [] for kind in ACTIVITY_KINDS},
        "years": {},
        "preview": preview_of(document),
    }
    if not ordered:
        return history
    first, last = IsoWeek.parse(ordered[0]), IsoWeek.parse(ordered[-1])
    history["first_day"] = first.start.isoformat()
    history["first_week"] = str(first)
    years: dict[str, dict[str, int]] = defaultdict(
        lambda: {"contributions": 0, **dict.fromkeys(ACTIVITY_KINDS, 0)}
    )
    for week in first.until(last):
        data = weeks.get(str(week))
        counts = data["contributions"] if data is not None and "source" not in data else None
        for day in week.days():
            count = None if counts is None else int(counts.get(day.isoformat(), 0))
            history["days"].append(count)
            if count:
                years[str(day.year)]["contributions"] += count
        for kind in ACTIVITY_KINDS:
            items = data[kind] if data is not None else []
            history["weekly"][kind].append(len(items))
            for item in items:
                years[item[DATED_BY[kind]][:4]][kind] += 1
    history["years"] = {year: years[year] for year in sorted(years)}
    return history


def preview_of(document: dict[str, Any]) -> dict[str, Any]:
    """The file's top level with one week (the latest with activity), lists cut short.

    What a member sees of their file without downloading it: the real field names and values,
    with ``"… N more"`` where items were left out.
    """
    weeks: dict[str, Any] = document["weeks"]
    active = [
        key
        for key in sorted(weeks, key=IsoWeek.parse)
        if any(weeks[key][kind] for kind in ACTIVITY_KINDS)
    ]
    shown: dict[str, Any] = {}
    if active:
        key = active[-1]
        week = dict(weeks[key])
        for kind in ACTIVITY_KINDS:
            items: list[Any] = [_trimmed(item) for item in week[kind][:PREVIEW_ITEMS]]
            if len(week[kind]) > PREVIEW_ITEMS:
                items.append(f"… {len(week[kind]) - PREVIEW_ITEMS} more")
            week[kind] = items
        shown[key] = week
    preview: dict[str, Any] = {
        "schema": document["schema"],
        "generated_at": document["generated_at"],
        "github": document["github"],
        "coverage": document["coverage"],
        "weeks": shown,
    }
    if len(weeks) > len(shown):
        preview["weeks"][f"… {len(weeks) - len(shown)} more weeks"] = "…"
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
