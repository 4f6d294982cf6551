"""Merge weeks from existing files and staged chunks (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def merge_weeks(existing: Iterable[dict[str, Any]], staged: dict[str, Any]) -> dict[str, Any]:
    """Every week of every existing file, the most recently fetched version of each winning,
    with staged weeks replacing the same weeks (they were always fetched after the file's).

    A staged week that says exactly what the held one says (only ``fetched_at`` differs) leaves
    the held one in place: a refresh that found nothing new then gives the same bytes, and
    nothing is uploaded. ``fetched_at`` is thus when a week's content was read, not when it
    was last confirmed.

    Imported commits (those with a ``source``, from the older integration's ``github.json``)
    survive the replacement: GitHub may no longer serve them, and the import is done only once.
    """
    merged: dict[str, Any] = {}
    imported: dict[str, dict[str, dict[str, Any]]] = {}  # week -> sha -> commit
    for weeks in existing:
        for key, week in weeks.items():
            held = merged.get(key)
            if held is None or week["fetched_at"] > held["fetched_at"]:
                merged[key] = week
            for commit in week["commits"]:
                if isinstance(commit, dict) and commit.get("source"):
                    imported.setdefault(key, {}).setdefault(commit["sha"], commit)
    for key, week in staged.items():
        held = merged.get(key)
        again = with_commits(week, imported.get(key, {}).values())
        if held is None or _content(held) != _content(again):
            merged[key] = week
    for key, commits in imported.items():
        merged[key] = with_commits(merged[key], commits.values())
    return merged


def with_commits(week: dict[str, Any], commits: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The week plus those ``commits`` whose sha it lacks (a new dict: inputs stay untouched)."""
    held = {commit["sha"] for commit in week["commits"] if isinstance(commit, dict)}
    extra = [commit for commit in commits if commit["sha"] not in held]
    if not extra:
        return week
    return {**week, "commits": sorted([*week["commits"], *extra], key=commit_order)}


def _content(week: dict[str, Any]) -> dict[str, Any]:
    """Everything a week says but when it was read."""
    return {key: value for key, value in week.items() if key != "fetched_at"}


def commit_order(commit: dict[str, Any]) -> tuple[str, str, str]:
    """The order ``shared.activity.sort_activity`` gives commits, so the bytes stay stable."""
    return (commit["committed_at"], commit["repository"], commit["sha"])
