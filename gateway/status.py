"""What the dashboard and ``/api/status`` say about a member's sync: a pure function of the row.

Kept free of I/O so that the words shown for every state, the progress and the cooldown can be
tested without a database, and so that the page and the polling script never disagree.

Sentences are built as ``Words``: text with ``When`` parts (a moment to show). The page renders
a ``When`` as a ``<time>`` that the browser rewrites into the member's local time; ``/api/status``
and the page without JavaScript show it in UTC. Members never see an exception's text or an
internal URL: a stored ``sync_detail`` only chooses among the fixed sentences here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from shared.db import Member
from shared.isoweek import IsoWeek
from shared.syncstate import ACTIVE, SyncState

# After a failed sync "Sync now" is offered again at once: the failure was ours or GitHub's,
# and a queued sync disables the button until it ends, so presses cannot pile up.
COOLDOWN_STATES_EXEMPT = frozenset({SyncState.ERROR})


@dataclass(frozen=True)
class When:
    """A moment shown to the member.

    ``style``: ``time``, ``datetime`` or ``date`` (in the member's zone), or ``calendar`` (a UTC
    calendar date of the file, such as a week's Monday, shown as it is in every zone).
    """

    at: dt.datetime
    style: str = "datetime"

    @property
    def iso(self) -> str:
        return self.at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def utc_text(self) -> str:
        at = self.at.astimezone(dt.UTC)
        if self.style == "time":
            return at.strftime("%H:%M UTC")
        if self.style in ("date", "calendar"):
            return f"{at.day} {at:%b %Y}"
        return f"{at.day} {at:%b %Y}, {at:%H:%M} UTC"


Words = tuple[str | When, ...]


def text_of(words: Words) -> str:
    """The sentence as plain text, moments in UTC."""
    return "".join(part.utc_text if isinstance(part, When) else part for part in words)


@dataclass(frozen=True, kw_only=True)
class SyncStatus:
    """The member's sync as shown to them; ``as_json`` is the ``/api/status`` body."""

    state: str
    headline_words: Words  # one sentence, e.g. "Paused for GitHub's rate limit until 14:05."
    detail_words: Words  # what happens next, in words; empty when there is nothing to add
    progress_text: str  # "34 of 150 weeks (22%)" while syncing
    waiting_until: str | None
    weeks_done: int
    weeks_total: int
    percent: int
    last_synced_at: str | None
    last_uploaded_at: str | None
    coverage: dict[str, str] | None
    coverage_words: Words  # "4 Jan 2016 to 12 May 2019", or "nothing uploaded yet"
    file_size: int
    contents: str  # what the file holds, in words; empty before the first upload
    github_login: str
    github_private: bool
    can_sync_now: bool
    cooldown_remaining_s: int
    sync_blocked_reason: str  # why "Sync now" is disabled, in words; empty when enabled
    version: str  # changes whenever the page's content changes, progress and cooldown aside

    @property
    def active(self) -> bool:
        return self.state in ACTIVE

    @property
    def headline(self) -> str:
        return text_of(self.headline_words)

    @property
    def detail(self) -> str:
        return text_of(self.detail_words)

    def as_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "headline": self.headline,
            "detail": self.detail,
            "progress_text": self.progress_text,
            "waiting_until": self.waiting_until,
            "weeks_done": self.weeks_done,
            "weeks_total": self.weeks_total,
            "percent": self.percent,
            "last_synced_at": self.last_synced_at,
            "last_uploaded_at": self.last_uploaded_at,
            "coverage": self.coverage,
            "file_size": self.file_size,
            "contents": self.contents,
            "github_login": self.github_login,
            "github_private": self.github_private,
            "can_sync_now": self.can_sync_now,
            "cooldown_remaining_s": self.cooldown_remaining_s,
            "sync_blocked_reason": self.sync_blocked_reason,
            "version": self.version,
        }


def grants_private(scopes: str) -> bool:
    """Whether stored GitHub scopes (space or comma separated) include private repositories."""
    return "repo" in re.split(r"[\s,]+", scopes)


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def format_duration(seconds: float) -> str:
    """``3590`` → ``"60 min"``, ``45`` → ``"45 s"``: how long until the button comes back."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes = -(-seconds // 60)  # round up: never promise the button earlier than it comes
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def _week_start(week: str) -> When | str:
    try:
        start = IsoWeek.parse(week).starts_at
    except ValueError:
        return week
    return When(start, "calendar")


def _week_end(week: str, *, written_at: dt.datetime | None) -> When | str:
    """The Sunday of ``week``, or the day the file was written if that came first (the last
    week of a file is usually the week it was written in, not yet over)."""
    try:
        end = IsoWeek.parse(week).ends_at - dt.timedelta(days=1)
    except ValueError:
        return week
    if written_at is not None:
        written = written_at.astimezone(dt.UTC)
        end = min(end, dt.datetime(written.year, written.month, written.day, tzinfo=dt.UTC))
    return When(end, "calendar")


def _held(member: Member) -> Words:
    """``"4 Jan 2016 to 12 May 2019"``: the span the member's file covers."""
    return (
        _week_start(member.coverage_first_week),
        " to ",
        _week_end(member.coverage_last_week, written_at=member.last_uploaded_at),
    )


def headline(member: Member) -> Words:
    """The sync state in one sentence."""
    state = member.state
    has_file = bool(member.coverage_first_week)
    if state == SyncState.NEW:
        return ("GitHub is not connected.",) if has_file else ("Connect GitHub to start.",)
    if state == SyncState.IDLE:
        return ("Connected; no sync is running.",)
    if state == SyncState.QUEUED:
        if not has_file and member.last_synced_at is None:
            return ("Sync queued: your first sync starts as soon as a worker is free.",)
        return ("Sync queued: it starts as soon as a worker is free.",)
    if state == SyncState.SYNCING:
        return ("Syncing your GitHub history.",)
    if state == SyncState.WAITING:
        if member.waiting_until is not None:
            return (
                "Paused for GitHub's rate limit until ",
                When(member.waiting_until, "time"),
                ".",
            )
        return ("Paused until GitHub's rate limit resets.",)
    if state == SyncState.UPLOADING:
        return ("Writing your file to Open Humans.",)
    if state == SyncState.DONE:
        return ("Up to date.",)
    if state == SyncState.NEEDS_RECONNECT:
        return ("GitHub no longer accepts our access: please reconnect GitHub.",)
    if state == SyncState.NEEDS_LOGIN:
        return ("Open Humans asks you to log in again.",)
    if state == SyncState.ERROR:
        return ("The last sync ran into a problem.",)
    if state == SyncState.DELETING:
        return ("Deleting your file from Open Humans.",)
    return ("Your sync is in an unexpected state; it is retried automatically.",)


def detail(member: Member, *, stale_after_s: float | None) -> Words:
    """What happens next, in words (a stored ``sync_detail`` only picks the sentence)."""
    state = member.state
    has_file = bool(member.coverage_first_week)
    if state == SyncState.NEW and has_file:
        return (
            "Your file stays in your Open Humans account as it is; connect GitHub again to "
            "keep it up to date.",
        )
    if state == SyncState.SYNCING:
        return ("Weeks are fetched oldest first; this page updates by itself.",)
    if state == SyncState.WAITING:
        resumes: Words = (
            ("resumes by itself at ", When(member.waiting_until, "time"))
            if member.waiting_until is not None
            else ("resumes by itself when GitHub allows",)
        )
        if has_file:
            return ("Partial data uploaded: your file covers ", *_held(member), "; the sync ",
                    *resumes, ".")  # fmt: skip
        return ("Nothing is in your file yet; the sync ", *resumes, ".")
    if state == SyncState.DONE and member.last_synced_at is not None:
        if stale_after_s:
            refresh = member.last_synced_at + dt.timedelta(seconds=stale_after_s)
            return ("Your file is refreshed automatically; next around ", When(refresh, "date"),
                    ".")  # fmt: skip
        return ()
    if state == SyncState.NEEDS_RECONNECT:
        return (
            "The access may have been revoked on GitHub. Reconnect GitHub to resume; "
            "what your file holds is kept.",
        )
    if state == SyncState.NEEDS_LOGIN:
        return (
            "Our access to your Open Humans account has expired. Log in again and the sync "
            "resumes where it stopped; nothing fetched is lost.",
        )
    if state == SyncState.ERROR:
        where = (
            "Reading your history from GitHub failed"
            if member.sync_detail.startswith("Sync failed")
            else "Something went wrong on our side"
        )
        return (
            f"{where}. It is retried automatically within a few minutes and nothing already "
            "fetched is lost; you can also press Sync now.",
        )
    if state == SyncState.DELETING:
        return ("GitHub is already disconnected; this takes a few seconds.",)
    return ()


def progress_text(member: Member, *, percent: int) -> str:
    if member.state != SyncState.SYNCING:
        return ""
    if not member.weeks_total:
        return "Planning which weeks to fetch…"
    return f"{member.weeks_done:,} of {member.weeks_total:,} weeks ({percent}%)"


def sync_status(
    member: Member, *, now: dt.datetime, cooldown_s: float, stale_after_s: float | None = None
) -> SyncStatus:
    """Everything shown about ``member``'s sync at ``now``, with the "Sync now" rule applied."""
    percent = 0
    if member.weeks_total > 0:
        percent = max(0, min(100, int(100 * member.weeks_done / member.weeks_total)))
    cooldown_remaining_s = 0
    if member.sync_requested_at is not None and member.state not in COOLDOWN_STATES_EXEMPT:
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
    headline_words = headline(member)
    detail_words = detail(member, stale_after_s=stale_after_s)
    return SyncStatus(
        state=member.sync_state,
        headline_words=headline_words,
        detail_words=detail_words,
        progress_text=progress_text(member, percent=percent),
        waiting_until=_iso(member.waiting_until),
        weeks_done=member.weeks_done,
        weeks_total=member.weeks_total,
        percent=percent,
        last_synced_at=_iso(member.last_synced_at),
        last_uploaded_at=_iso(member.last_uploaded_at),
        coverage=coverage,
        coverage_words=_held(member) if coverage else ("nothing uploaded yet",),
        file_size=member.file_size,
        contents=describe_contents(member.file_summary),
        github_login=member.github_login,
        github_private=grants_private(member.github_scopes),
        can_sync_now=not blocked,
        cooldown_remaining_s=cooldown_remaining_s,
        sync_blocked_reason=blocked,
        version=_version(member, headline_words + detail_words),
    )


def _version(member: Member, words: Words) -> str:
    """A fingerprint of what the page shows beyond the progress bar and the cooldown."""
    parts = [
        member.sync_state,
        text_of(words),
        member.github_login,
        member.github_scopes,
        _iso(member.last_uploaded_at) or "",
        str(member.file_size),
        member.coverage_first_week,
        member.coverage_last_week,
        str(bool(member.file_history)),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


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
