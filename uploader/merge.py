"""Merge weeks from existing files and staged chunks (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def merge_weeks(existing: Iterable[dict[str, Any]], staged: dict[str, Any]) -> dict[str, Any]:
    """Every week of every existing file, the most recently fetched version of each winning,
    with staged weeks replacing the same weeks (they were always fetched after the file's).

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
    merged.update(staged)
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


def commit_order(commit: dict[str, Any]) -> tuple[str, str, str]:
    """The order ``shared.activity.sort_activity`` gives commits, so the bytes stay stable."""
    return (commit["committed_at"], commit["repository"], commit["sha"])
