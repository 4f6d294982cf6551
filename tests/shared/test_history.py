"""The dashboard's digest of a file (pure): daily counts, weekly counts, yearly totals, preview."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from shared.history import history_of
from shared.isoweek import IsoWeek


def week(key: str, *, counts: dict[str, int] | None = None, **lists: Any) -> dict[str, Any]:
    iso = IsoWeek.parse(key)
    return {
        "start": iso.start.isoformat(),
        "end": iso.end.isoformat(),
        "complete": True,
        "fetched_at": "2026-01-01T00:00:00Z",
        "commits": lists.get("commits", []),
        "pull_requests": lists.get("pull_requests", []),
        "issues": lists.get("issues", []),
        "reviews": lists.get("reviews", []),
        "contributions": {d.isoformat(): (counts or {}).get(d.isoformat(), 0) for d in iso.days()},
    }


def commit(at: str, message: str = "Fix typo") -> dict[str, Any]:
    url = "https://github.com/octo/hello/commit/" + "a" * 40
    return {"sha": "a" * 40, "repository": "octo/hello", "authored_at": at, "committed_at": at,
            "message": message, "url": url}  # fmt: skip


def document(weeks: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": 1,
        "generated_at": "2026-01-01T00:00:00Z",
        "github": {"id": 1, "login": "octo"},
        "coverage": {"first_week": None, "last_week": None, "last_complete_week": None},
        "weeks": weeks,
    }


def test_days_run_from_the_first_monday_with_unknown_days_as_null() -> None:
    imported = week("2025-W01", commits=[commit("2024-12-31T10:00:00Z")])
    imported["source"] = "github.json"  # the older integration's week: no daily counts
    history = history_of(
        document(
            {
                "2025-W01": imported,
                # 2025-W02 is not in the file at all
                "2025-W03": week(
                    "2025-W03",
                    counts={"2025-01-14": 4},
                    reviews=[{"submitted_at": "2025-01-14T09:00:00Z"}],
                ),
            }  # fmt: skip
        )
    )
    assert history["first_day"] == "2024-12-30"  # Monday of 2025-W01
    assert history["first_week"] == "2025-W01"
    assert history["days"][:14] == [None] * 14
    assert history["days"][14:] == [0, 4, 0, 0, 0, 0, 0]
    assert history["weekly"]["commits"] == [1, 0, 0]
    assert history["weekly"]["reviews"] == [0, 0, 1]
    # Each item counts in the year of its own date, contributions in the year of their day.
    assert history["years"] == {
        "2024": {"contributions": 0, "commits": 1, "pull_requests": 0, "issues": 0, "reviews": 0},
        "2025": {"contributions": 4, "commits": 0, "pull_requests": 0, "issues": 0, "reviews": 1},
    }


def test_the_preview_shows_the_latest_active_week_cut_short() -> None:
    long_message = "A very long first line " * 10 + "\nand a body nobody needs here"
    commits = [commit(f"2025-01-1{i}T10:00:00Z", long_message) for i in range(4)]
    history = history_of(
        document({"2025-W02": week("2025-W02", commits=commits), "2025-W03": week("2025-W03")})
    )
    preview = history["preview"]
    assert list(preview) == ["schema", "generated_at", "github", "coverage", "weeks"]
    shown = preview["weeks"]["2025-W02"]
    assert len(shown["commits"]) == 3 and shown["commits"][-1] == "… 2 more"
    assert len(shown["commits"][0]["message"]) == 72 and "\n" not in shown["commits"][0]["message"]
    assert preview["weeks"]["… 1 more weeks"] == "…"


def test_an_empty_file_has_an_empty_digest() -> None:
    history = history_of(document({}))
    assert history["first_day"] is None and history["days"] == [] and history["years"] == {}


def test_ten_busy_years_stay_small() -> None:
    weeks = {}
    first = IsoWeek(2016, 1)
    for i, iso in enumerate(first.until(IsoWeek(2025, 52))):
        counts = {d.isoformat(): (i * 7 + n) % 40 for n, d in enumerate(iso.days())}
        at = dt.datetime.combine(iso.start, dt.time(12), tzinfo=dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        weeks[str(iso)] = week(str(iso), counts=counts, commits=[commit(at)] * 30)
    size = len(json.dumps(history_of(document(weeks)), separators=(",", ":")))
    assert size < 20_000, size
