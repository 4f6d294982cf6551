"""Merge weeks from existing files and staged chunks (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


def merge_weeks(existing: Iterable[dict[str, Any]], staged: dict[str, Any]) -> dict[str, Any]:
    """Every week of every existing file, the most recently fetched version of each winning,
    with staged weeks replacing the same weeks (they were always fetched after the file's).

    Imported commits (those with a ``source``, from the older integration's ``github.json``)
    survive the replacement: GitHub may no longer serve them, and the import is done only once.
    """
    versions: dict[str, list[dict[str, Any]]] = {}
    for weeks in existing:
        for key, week in weeks.items():
            versions.setdefault(key, []).append(week)
    return {
        key: merge_week(versions.get(key, []), staged.get(key))
        for key in sorted(versions.keys() | staged.keys())
    }


def merge_week(versions: Sequence[dict[str, Any]], staged: dict[str, Any] | None) -> dict[str, Any]:
    """One week of ``merge_weeks``: its versions in the existing files (in the files' order) and
    its staged version, if any. The uploader merges a file week by week with this."""
    chosen = staged
    imported: dict[str, dict[str, Any]] = {}  # sha -> commit
    for week in versions:
        if staged is None and (chosen is None or week["fetched_at"] > chosen["fetched_at"]):
            chosen = week
        for commit in week["commits"]:
            if isinstance(commit, dict) and commit.get("source"):
                imported.setdefault(commit["sha"], commit)
    if chosen is None:
        raise ValueError("a week with neither a version in a file nor a staged one")
    return with_commits(chosen, imported.values()) if imported else chosen


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
