"""Import the older Open Humans GitHub integration's ``github.json`` into the weekly file (pure).

That integration stored, per repository, the GitHub REST commit objects it had listed::

    {"repo_data": {"owner/repo": {"commits": [{"sha", "html_url", "author": {"login", "id"},
                                               "commit": {"author": {"date"},
                                                          "committer": {"date"},
                                                          "message"}}, ...]}},
     "metadata": {...}}

Its commits are kept because GitHub may no longer serve them (deleted repositories, rewritten
history). Only the member's own commits are taken, each into the ISO week (UTC) of its committer
date, marked ``"source": "github.json"`` so that a later fetch of the same week keeps them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from shared.activity import empty_activity, make_week, parse_timestamp, utc_timestamp
from shared.errors import InvalidFile
from shared.isoweek import IsoWeek
from uploader.merge import commit_order, with_commits

# The older integration's file name; also the ``source`` marker of what is imported from it.
LEGACY_BASENAME = "github.json"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPOSITORY = re.compile(r"^[^/\s]+/[^/\s]+$")
# Git stores seconds since 1970: an earlier committer date is a broken clock, not history.
_EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def is_legacy_record(record: dict[str, Any], *, own_filename: str) -> bool:
    """An exchange-member file entry that is the older integration's ``github.json``."""
    return record.get("basename") == LEGACY_BASENAME != own_filename


def import_key(record: dict[str, Any]) -> str:
    """How the merged file's ``imported`` list names this file: basename and Open Humans id."""
    return f"{LEGACY_BASENAME}:{record['id']}"


def legacy_commits(
    document: Any, *, github_login: str, github_id: int | None
) -> dict[IsoWeek, list[dict[str, Any]]]:
    """The member's commits in a ``github.json`` document, by ISO week of the committer date.

    A commit is the member's when its GitHub author is the member: same account id when both
    ids are known (it survives a renamed login), else the same login, ignoring case. Commits
    without a GitHub author (an e-mail linked to no account) are skipped, as is anything
    malformed. Raises ``InvalidFile`` when the document is not shaped like a ``github.json``.
    """
    if not isinstance(document, dict) or not isinstance(document.get("repo_data"), dict):
        raise InvalidFile("github.json without a repo_data object")
    seen: set[str] = set()
    weeks: dict[IsoWeek, list[dict[str, Any]]] = {}
    for repository in sorted(document["repo_data"]):  # sorted: a sha in two repositories
        entry = document["repo_data"][repository]  # (a fork and its parent) goes to the first
        if not _REPOSITORY.match(repository) or not isinstance(entry, dict):
            continue
        raw_commits = entry.get("commits")
        for raw in raw_commits if isinstance(raw_commits, list) else []:
            commit = _commit(raw, repository, github_login=github_login, github_id=github_id)
            if commit is None or commit["sha"] in seen:
                continue
            seen.add(commit["sha"])
            week = IsoWeek.of(parse_timestamp(commit["committed_at"]))
            weeks.setdefault(week, []).append(commit)
    return weeks


def import_legacy(
    weeks: dict[str, Any],
    commits_by_week: dict[IsoWeek, list[dict[str, Any]]],
    *,
    fetched_at: dt.datetime,
) -> dict[str, Any]:
    """``weeks`` with the imported commits added (a new dict; the inputs stay untouched).

    A week the file holds already keeps its commits and gains only commits whose sha it lacks.
    A week known only from ``github.json`` is built from its commits alone: ``fetched_at`` is the
    legacy file's creation time (``complete`` if the week had ended by then), contributions are
    unknown and left at 0, and ``"source"`` marks it so that coverage leaves it out.
    """
    merged = dict(weeks)
    for week, commits in commits_by_week.items():
        merged[str(week)] = import_week(merged.get(str(week)), week, commits, fetched_at=fetched_at)
    return merged


def import_week(
    held: dict[str, Any] | None,
    week: IsoWeek,
    commits: list[dict[str, Any]],
    *,
    fetched_at: dt.datetime,
) -> dict[str, Any]:
    """One week of ``import_legacy``: the week the file holds (or None) with ``commits`` added."""
    if held is not None:
        return with_commits(held, commits)
    return {
        **make_week(week, empty_activity(week), fetched_at=fetched_at),
        "commits": sorted(commits, key=commit_order),
        "source": LEGACY_BASENAME,
    }


def created_at(record: dict[str, Any], commits: Iterable[list[dict[str, Any]]]) -> dt.datetime:
    """When the legacy file was written (its ``created``), else its latest commit's time."""
    created = _parse(record.get("created"))
    if created is not None:
        return created
    latest = max((c["committed_at"] for cs in commits for c in cs), default=None)
    return parse_timestamp(latest) if latest else _EARLIEST


def _commit(
    raw: Any, repository: str, *, github_login: str, github_id: int | None
) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not _is_member(
        raw.get("author"), github_login=github_login, github_id=github_id
    ):
        return None
    sha = raw.get("sha")
    detail = raw.get("commit")
    if not isinstance(sha, str) or not _SHA.match(sha) or not isinstance(detail, dict):
        return None
    committed_at = _timestamp(detail.get("committer"))
    if committed_at is None:
        return None
    message = detail.get("message")
    url = raw.get("html_url")
    return {
        "sha": sha,
        "repository": repository,
        "authored_at": _timestamp(detail.get("author")) or committed_at,
        "committed_at": committed_at,
        "message": message if isinstance(message, str) else "",
        "url": url if isinstance(url, str) else f"https://github.com/{repository}/commit/{sha}",
        "source": LEGACY_BASENAME,
    }


def _is_member(author: Any, *, github_login: str, github_id: int | None) -> bool:
    if not isinstance(author, dict):
        return False  # null: git's author e-mail is linked to no GitHub account
    author_id = author.get("id")
    if github_id is not None and isinstance(author_id, int) and not isinstance(author_id, bool):
        return author_id == github_id
    login = author.get("login")
    return isinstance(login, str) and bool(login) and login.lower() == github_login.lower()


def _timestamp(person: Any) -> str | None:
    """``2024-04-30T10:01:02Z`` from a git person's ``date``, or None if it has none usable."""
    when = _parse(person.get("date")) if isinstance(person, dict) else None
    if when is None or when < _EARLIEST:
        return None
    return utc_timestamp(when)


def _parse(text: Any) -> dt.datetime | None:
    """An aware UTC datetime from ISO 8601 text; GitHub's times without an offset are UTC."""
    if not isinstance(text, str):
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)
