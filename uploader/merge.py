"""Merge weeks from existing files and staged chunks (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
    held: dict[str, Any] | None = None  # the latest version in the files
    imported: dict[str, dict[str, Any]] = {}  # sha -> commit
    for week in versions:
        if held is None or week["fetched_at"] > held["fetched_at"]:
            held = week
        for commit in week["commits"]:
            if isinstance(commit, dict) and commit.get("source"):
                imported.setdefault(commit["sha"], commit)
    chosen = held
    # A week read again with the same content keeps the held version (and its fetched_at), so
    # that a refresh finding nothing new leaves the file's bytes as they were.
    if staged is not None and (
        held is None or _content(held) != _content(with_commits(staged, imported.values()))
    ):
        chosen = staged
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


def _content(week: dict[str, Any]) -> dict[str, Any]:
    """Everything a week says but when it was read."""
    return {key: value for key, value in week.items() if key != "fetched_at"}


def commit_order(commit: dict[str, Any]) -> tuple[str, str, str]:
    """The order ``shared.activity.sort_activity`` gives commits, so the bytes stay stable."""
    return (commit["committed_at"], commit["repository"], commit["sha"])
