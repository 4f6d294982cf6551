"""What the dashboard and ``/api/status`` say about a member's sync: a pure function of the row.

Kept free of I/O so that the words shown for every state, the progress and the cooldown can be
tested without a database, and so that the page and the polling script never disagree.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from shared.db import Member
from shared.syncstate import ACTIVE, SyncState


@dataclass(frozen=True, kw_only=True)
class SyncStatus:
    """The member's sync as shown to them; ``as_json`` is the ``/api/status`` body."""

    state: str
    headline: str  # one sentence in words, e.g. "Waiting for GitHub until 14:05 UTC."
    detail: str
    waiting_until: str | None
    weeks_done: int
    weeks_total: int
    percent: int
    last_synced_at: str | None
    coverage: dict[str, str] | None
    file_size: int
    contents: str  # what the file holds, in words; empty before the first upload
    github_login: str
    github_private: bool
    can_sync_now: bool
    cooldown_remaining_s: int
    sync_blocked_reason: str  # why "Sync now" is disabled, in words; empty when enabled

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def grants_private(scopes: str) -> bool:
    """Whether stored GitHub scopes (space or comma separated) include private repositories."""
    return "repo" in re.split(r"[\s,]+", scopes)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _hhmm(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%H:%M UTC")


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def format_duration(seconds: float) -> str:
    """``3590`` → ``"60 min"``, ``45`` → ``"45 s"``: how long until the button comes back."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = -(-seconds // 60)  # round up: never promise the button earlier than it comes
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def headline(member: Member, *, percent: int) -> str:
    """The sync state in one sentence."""
    state = member.state
    if state == SyncState.NEW:
        return "GitHub is not connected yet."
    if state == SyncState.IDLE:
        return "Connected; no sync is running."
    if state == SyncState.QUEUED:
        return "Sync queued: it starts as soon as a worker is free."
    if state == SyncState.SYNCING:
        if member.weeks_total:
            return f"Syncing: {member.weeks_done} of {member.weeks_total} weeks ({percent}%)."
        return "Syncing: planning which weeks to fetch."
    if state == SyncState.WAITING:
        if member.waiting_until is not None:
            return f"Waiting for GitHub until {_hhmm(member.waiting_until)} (rate limit)."
        return "Waiting for GitHub's rate limit to reset."
    if state == SyncState.UPLOADING:
        return "Uploading your file to Open Humans."
    if state == SyncState.DONE:
        if member.last_synced_at is not None:
            return f"Up to date: last synced {_when(member.last_synced_at)}."
        return "Up to date."
    if state == SyncState.NEEDS_RECONNECT:
        return "GitHub no longer accepts our access: please reconnect GitHub."
    if state == SyncState.NEEDS_LOGIN:
        return "Open Humans no longer accepts our access: please log in again."
    if state == SyncState.ERROR:
        return "The last sync failed."
    if state == SyncState.DELETING:
        return "Deleting your file from Open Humans."
    return f"State: {state}."


def sync_status(member: Member, *, now: dt.datetime, cooldown_s: float) -> SyncStatus:
    """Everything shown about ``member``'s sync at ``now``, with the "Sync now" rule applied."""
    percent = 0
    if member.weeks_total > 0:
        percent = max(0, min(100, int(100 * member.weeks_done / member.weeks_total)))
    cooldown_remaining_s = 0
    if member.sync_requested_at is not None:
        elapsed_s = (now - member.sync_requested_at).total_seconds()
        cooldown_remaining_s = max(0, int(-(-(cooldown_s - elapsed_s) // 1)))
    blocked = ""
    if not member.github_connected:
        blocked = "Connect GitHub first."
    elif member.sync_state == SyncState.NEEDS_RECONNECT:
        blocked = "Reconnect GitHub first."
    elif member.sync_state == SyncState.NEEDS_LOGIN:
        blocked = "Log in with Open Humans again first."
    elif member.state in ACTIVE:
        blocked = "A sync is already under way."
    elif cooldown_remaining_s > 0:
        blocked = f"Available again in {format_duration(cooldown_remaining_s)}."
    coverage = None
    if member.coverage_first_week:
        coverage = {
            "first_week": member.coverage_first_week,
            "last_week": member.coverage_last_week,
            "last_complete_week": member.coverage_last_complete_week,
        }
    return SyncStatus(
        state=member.sync_state,
        headline=headline(member, percent=percent),
        detail=member.sync_detail,
        waiting_until=_iso(member.waiting_until),
        weeks_done=member.weeks_done,
        weeks_total=member.weeks_total,
        percent=percent,
        last_synced_at=_iso(member.last_synced_at),
        coverage=coverage,
        file_size=member.file_size,
        contents=describe_contents(member.file_summary),
        github_login=member.github_login,
        github_private=grants_private(member.github_scopes),
        can_sync_now=not blocked,
        cooldown_remaining_s=cooldown_remaining_s,
        sync_blocked_reason=blocked,
    )


def describe_contents(summary_json: str) -> str:
    """``"1,204 commits, 31 pull requests, 12 issues and 40 reviews over 158 weeks"``."""
    if not summary_json:
        return ""
    try:
        summary = json.loads(summary_json)
        counts = [
            _count(summary["commits"], "commit"),
            _count(summary["pull_requests"], "pull request"),
            _count(summary["issues"], "issue"),
            _count(summary["reviews"], "review"),
        ]
        weeks = _count(summary["weeks"], "week")
    except (ValueError, KeyError, TypeError):
        return ""
    return f"{', '.join(counts[:-1])} and {counts[-1]} over {weeks}"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def format_size(size_bytes: int) -> str:
    """``1536`` → ``"1.5 KB"``."""
    size = float(size_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size_bytes} bytes"
