"""Merge weeks from existing files and staged chunks (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def merge_weeks(existing: Iterable[dict[str, Any]], staged: dict[str, Any]) -> dict[str, Any]:
    """Every week of every existing file, the most recently fetched version of each winning,
    with staged weeks replacing the same weeks (they were always fetched after the file's)."""
    merged: dict[str, Any] = {}
    for weeks in existing:
        for key, week in weeks.items():
            held = merged.get(key)
            if held is None or week["fetched_at"] > held["fetched_at"]:
                merged[key] = week
    merged.update(staged)
    return merged
