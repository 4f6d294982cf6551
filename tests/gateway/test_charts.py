"""The dashboard's chart geometry (pure): heatmap cells, weekly bands, yearly totals."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gateway.charts import (
    CELL,
    HEATMAP_LEFT,
    HEATMAP_TOP,
    STEP,
    heatmap,
    parse_history,
    preview_text,
    weekly_chart,
    year_totals,
    years_of,
)

# 2024-01-01 is a Monday: the history covers 2024-W01 to 2024-W03.
HISTORY: dict[str, Any] = {
    "version": 1,
    "first_day": "2024-01-01",
    "days": [0, 2, 0, 0, 8, 0, 0] + [None] * 7 + [1, 0, 0, 0, 0, 0, 4],
    "first_week": "2024-W01",
    "weekly": {
        "commits": [10, 0, 5],
        "pull_requests": [1, 0, 0],
        "issues": [0, 0, 0],
        "reviews": [0, 2, 0],
    },
    "years": {
        "2024": {"contributions": 15, "commits": 15, "pull_requests": 1, "issues": 0, "reviews": 2}
    },  # fmt: skip
    "preview": {"schema": 1, "weeks": {}},
}


def test_a_year_is_a_column_per_week_monday_on_top() -> None:
    year = heatmap(HISTORY, 2024, today=dt.date(2024, 1, 20))
    cells = {cell.date: cell for cell in year.cells}
    assert len(cells) == 366  # 2024 is a leap year
    jan1, jan8 = cells["2024-01-01"], cells["2024-01-08"]
    assert (jan1.x, jan1.y) == (HEATMAP_LEFT, HEATMAP_TOP)
    assert (jan8.x, jan8.y) == (HEATMAP_LEFT + STEP, HEATMAP_TOP)
    assert cells["2024-01-07"].y == HEATMAP_TOP + 6 * STEP  # Sunday at the bottom
    assert cells["2024-01-05"].level == "4" and cells["2024-01-02"].level == "1"
    assert cells["2024-01-03"].level == "0"
    assert cells["2024-01-09"].level == "u" and cells["2024-01-09"].count is None
    assert cells["2024-01-25"].level == "x"  # after the history (and the future)
    assert year.total == 15 and year.active_days == 4
    assert year.busiest == ("2024-01-05", 8)
    assert [label for _, label in year.months][:2] == ["Jan", "Feb"] and len(year.months) == 12
    assert year.width >= max(cell.x for cell in year.cells) + CELL
    assert years_of(HISTORY) == [2024]


def test_the_squares_as_svg_say_each_day_and_its_count() -> None:
    year = heatmap(HISTORY, 2024, today=dt.date(2024, 1, 20))
    svg = str(year.cells_svg)
    assert svg.count("<rect ") == 366
    friday = f'<rect x="{HEATMAP_LEFT}" y="{HEATMAP_TOP + 4 * STEP}" width="{CELL}" height="{CELL}"'
    assert friday + ' rx="2" class="l4" data-date="2024-01-05" data-count="8"/>' in svg
    assert 'class="lu" data-date="2024-01-09" data-count=""/>' in svg
    assert 'class="lx" data-date="2024-12-31" data-count=""/>' in svg
    assert year.has_unknown
    known = {**HISTORY, "days": [0 if n is None else n for n in HISTORY["days"]]}
    assert not heatmap(known, 2024, today=dt.date(2024, 1, 20)).has_unknown


def test_weekly_bands_each_on_their_own_scale() -> None:
    chart = weekly_chart(HISTORY)
    assert [band.kind for band in chart.bands] == ["commits", "pull_requests", "issues", "reviews"]
    commits, _, issues, reviews = chart.bands
    assert (commits.peak, commits.total, reviews.peak) == (10, 15, 2)
    assert commits.path.startswith(f"M{chart.plot_left} ") and commits.path.endswith("Z")
    # The busiest week reaches the top of its band; an empty band stays on its baseline.
    assert f"V{commits.top:.1f}" in commits.path
    assert all(part.startswith(f"{issues.top + 44:.1f}") for part in issues.path.split("V")[1:-1])
    assert chart.years == [(float(chart.plot_left), "2024")]
    assert json.loads(chart.series_json) == HISTORY["weekly"]


def test_totals_newest_first_and_what_is_not_a_digest() -> None:
    assert year_totals(HISTORY)[0]["year"] == 2024
    assert '"schema": 1' in preview_text(HISTORY)
    assert parse_history(json.dumps(HISTORY)) == HISTORY
    for text in ("", "not json", json.dumps({**HISTORY, "version": 99}), "[]"):
        assert parse_history(text) is None
