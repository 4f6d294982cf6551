"""The dashboard's pictures of a member's history, as geometry for server-rendered SVG.

Pure functions over the digest the uploader stores with the file (``shared.history``): a
contribution heatmap of one year, weekly activity over the whole history, yearly totals and a
preview of the file. The templates only place what is computed here, so the layout is tested
without a browser, and the page needs no charting library.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from shared.activity import ACTIVITY_KINDS
from shared.history import HISTORY_VERSION
from shared.isoweek import IsoWeek

# Heatmap: a square's side and the step between squares, in SVG units.
CELL = 11
STEP = 14
# Room for the weekday labels on the left and the month labels on top.
HEATMAP_LEFT = 30
HEATMAP_TOP = 18
WEEKDAYS = ("Mon", "", "Wed", "", "Fri", "", "")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Weekly chart: width of the drawing, height of each kind's band, left room for labels.
CHART_WIDTH = 760
BAND_HEIGHT = 44
BAND_GAP = 14
CHART_LEFT = 112
CHART_TOP = 6
KIND_LABELS = {
    "commits": "Commits",
    "pull_requests": "Pull requests",
    "issues": "Issues",
    "reviews": "Reviews",
}
# The preview is cut to this many lines.
PREVIEW_LINES = 60


def parse_history(text: str) -> dict[str, Any] | None:
    """The stored digest, or None when there is none (yet) or it is of another version."""
    if not text:
        return None
    try:
        history = json.loads(text)
    except ValueError:
        return None
    if not isinstance(history, dict) or history.get("version") != HISTORY_VERSION:
        return None
    return history if history.get("first_day") else None


def years_of(history: dict[str, Any]) -> list[int]:
    """Years the history reaches, oldest first."""
    first = dt.date.fromisoformat(history["first_day"])
    last = first + dt.timedelta(days=max(len(history["days"]) - 1, 0))
    return list(range(first.year, last.year + 1))


@dataclass(slots=True)
class Cell:
    x: int
    y: int
    date: str
    count: int | None  # None: unknown (an imported week)
    level: str  # "0".."4", "u" (unknown) or "x" (outside the history)


@dataclass(frozen=True)
class Heatmap:
    year: int
    cells: list[Cell]
    months: list[tuple[int, str]]  # (x, label)
    weekdays: list[tuple[int, str]]  # (y, label)
    width: int
    height: int
    total: int
    active_days: int
    busiest: tuple[str, int] | None  # (date, count)

    @property
    def has_unknown(self) -> bool:
        return any(cell.level == "u" for cell in self.cells)

    @property
    def cells_svg(self) -> Markup:
        """The year's squares as SVG. Built here rather than in the template: Jinja escaping
        each of their 1,830 attribute values (numbers and ISO dates, which need none) was most
        of a dashboard's time."""
        return Markup(
            "".join(
                f'<rect x="{c.x}" y="{c.y}" width="{CELL}" height="{CELL}" rx="2" '
                f'class="l{c.level}" data-date="{c.date}" '
                f'data-count="{"" if c.count is None else c.count}"/>'
                for c in self.cells
            )
        )


@functools.lru_cache(maxsize=64)
def _calendar(year: int) -> tuple[list[tuple[int, int, str]], list[tuple[int, str]], int]:
    """The year's squares as (x, y, ISO date), its month labels as (x, label) and its number of
    columns: the same for every member, so worked out once per year."""
    jan1 = dt.date(year, 1, 1)
    lead = jan1.weekday()  # days of the first column before 1 January
    places, months = [], []
    day, i = jan1, 0
    while day.year == year:
        x = HEATMAP_LEFT + (lead + i) // 7 * STEP
        if day.day == 1:
            months.append((x, MONTHS[day.month - 1]))
        places.append((x, HEATMAP_TOP + (lead + i) % 7 * STEP, day.isoformat()))
        day, i = day + dt.timedelta(days=1), i + 1
    return places, months, (lead + i - 1) // 7 + 1


def heatmap(history: dict[str, Any], year: int, *, today: dt.date) -> Heatmap:
    """One year of daily contributions, a column per ISO week (Monday on top)."""
    first = dt.date.fromisoformat(history["first_day"])
    days: list[int | None] = history["days"]
    jan1 = dt.date(year, 1, 1)
    offset = (jan1 - first).days  # the index of 1 January in ``days``
    places, months, columns = _calendar(year)
    length = len(places)
    # The year's days that are in the history: (index in the year, count or None).
    held = [(i, days[offset + i]) for i in range(max(0, -offset), min(length, len(days) - offset))]
    counts = [n for _, n in held if n]
    top = max(counts, default=0)
    levels = ["x"] * length
    known: list[int | None] = [None] * length
    through = min(length, (today - jan1).days + 1)  # days after today are left out
    for i, n in held:
        if i < through:
            known[i] = n
            levels[i] = "u" if n is None else str(math.ceil(4 * n / top)) if n else "0"
    cells = [
        Cell(x, y, date, count, level)
        for (x, y, date), count, level in zip(places, known, levels, strict=True)
    ]
    busiest = max(((n, i) for i, n in held if n), default=None)
    return Heatmap(
        year=year,
        cells=cells,
        months=list(months),
        weekdays=[(HEATMAP_TOP + i * STEP + CELL - 2, label) for i, label in enumerate(WEEKDAYS)],
        width=HEATMAP_LEFT + columns * STEP,
        height=HEATMAP_TOP + 7 * STEP,
        total=sum(counts),
        active_days=len(counts),
        busiest=None
        if busiest is None
        else ((jan1 + dt.timedelta(days=busiest[1])).isoformat(), busiest[0]),
    )


@dataclass(frozen=True)
class Band:
    kind: str
    label: str
    top: int
    path: str  # an SVG path: the band's weekly counts as a step area
    peak: int
    total: int


@dataclass(frozen=True)
class WeeklyChart:
    first_week: str
    weeks: int
    bands: list[Band]
    years: list[tuple[float, str]]  # (x, label) at the first week of each year
    width: int
    height: int
    plot_left: int
    plot_width: int
    series_json: str = field(repr=False)  # the counts, for the hover read-out


def weekly_chart(history: dict[str, Any]) -> WeeklyChart:
    """Commits, pull requests, issues and reviews per week over the whole history.

    One band per kind, each on its own scale (commits outnumber reviews by far), drawn as a
    step area: a path of a few bytes per week, so ten years stay light.
    """
    weekly: dict[str, list[int]] = history["weekly"]
    count = len(weekly["commits"])
    plot_width = CHART_WIDTH - CHART_LEFT
    step = plot_width / max(count, 1)
    ends = [f"H{CHART_LEFT + (i + 1) * step:.1f}" for i in range(count)]  # each week's right edge
    bands = []
    for index, kind in enumerate(ACTIVITY_KINDS):
        values = weekly[kind]
        top = CHART_TOP + index * (BAND_HEIGHT + BAND_GAP)
        base = top + BAND_HEIGHT
        peak = max(values, default=0)
        scale = BAND_HEIGHT / peak if peak else 0
        parts = [f"M{CHART_LEFT} {base}"]
        parts += [
            f"V{base - scale * value:.1f}{end}" for value, end in zip(values, ends, strict=False)
        ]
        parts.append(f"V{base}Z")
        bands.append(
            Band(
                kind=kind,
                label=KIND_LABELS[kind],
                top=top,
                path="".join(parts),
                peak=peak,
                total=sum(values),
            )
        )
    first = IsoWeek.parse(history["first_week"])
    years = [(float(CHART_LEFT), str(first.year))] if count else []
    for year in range(first.year + 1, first.year + count // 52 + 2):
        i = (IsoWeek(year, 1).start - first.start).days // 7  # the year's first week
        if i < count:
            years.append((CHART_LEFT + i * step, str(year)))
    if len(years) > 1 and years[1][0] - years[0][0] < 30:
        years.pop(0)  # a first year of a few weeks: its label would overlap the next
    height = CHART_TOP + len(ACTIVITY_KINDS) * (BAND_HEIGHT + BAND_GAP) + 8
    return WeeklyChart(
        first_week=str(first),
        weeks=count,
        bands=bands,
        years=years,
        width=CHART_WIDTH,
        height=height,
        plot_left=CHART_LEFT,
        plot_width=plot_width,
        series_json=json.dumps(weekly, separators=(",", ":")),
    )


def year_totals(history: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per year, newest first: contributions and each kind of activity."""
    years = history.get("years") or {}
    rows = []
    for year in sorted(years, reverse=True):
        totals = years[year]
        rows.append({"year": int(year), **{k: int(totals.get(k, 0)) for k in totals}})
    return rows


def preview_text(history: dict[str, Any]) -> str:
    """The file's head with one week, pretty-printed and cut to ``PREVIEW_LINES`` lines."""
    preview = history.get("preview")
    if not preview:
        return ""
    lines = json.dumps(preview, indent=2, ensure_ascii=False).splitlines()
    if len(lines) > PREVIEW_LINES:
        lines = [*lines[:PREVIEW_LINES], "  …"]
    return "\n".join(lines)
