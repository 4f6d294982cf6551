"""Publish one member's staged weeks into their Open Humans file, crash-safe.

Order matters: the new file is uploaded and completed before any old file is deleted, and staged
weeks are deleted only after that, so a crash at any step leaves a state from which re-running
the same message converges to one file holding every week. A file that does not parse is never
deleted: the new file is written beside it. The older integration's ``github.json``, when the
project can see it, is merged in once (``uploader.legacy``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from peewee import DoesNotExist

from shared import keys, queues
from shared.db import Member, StagedWeek, connection, db, transition, utcnow
from shared.errors import (
    InvalidFile,
    OpenHumansLoginNeeded,
)
from shared.fileformat import upload_metadata
from shared.isoweek import IsoWeek
from shared.locks import KeptLock
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.runtime import Runtime
from shared.syncstate import SyncState
from uploader.decisions import files_of, nothing_to_publish, replacement_of
from uploader.existing import (
    BrokenFile,
    ExistingFile,
    download,
    file_weeks,
    log_invalid,
    read_whole,
)
from uploader.legacy import created_at, import_key, import_week, legacy_commits
from uploader.merge import merge_week
from uploader.session import MemberSession
from uploader.stream import DocumentWriter, Unsorted

# Files up to this size stay in memory while downloaded; larger ones spill to disk.
SPOOL_BYTES = 8 << 20
# Staged weeks read from the database at a time while merging.
STAGED_BATCH = 64
# Two uploads of one member never interleave; a busy member's message comes back after this.
BUSY_RETRY_MS = 5_000
# A dead uploader's hold on a member lapses after this (a live one renews it every third of
# it, shared.locks): by the time Dramatiq hands the dead worker's message to another
# (queues.HEARTBEAT_TIMEOUT_MS), the member is free again instead of busy for minutes.
UPLOAD_LOCK_TTL_S = 15

log = get_logger(__name__)


@dataclass(frozen=True)
class Published:
    """What an upload run did."""

    kind: str  # uploaded, unchanged, nothing, skipped, busy, needs_login, deleted
    file_id: int | None = None
    weeks: int = 0


def publish_exclusively(member_id: int, runtime: Runtime) -> Published:
    """The upload actor's body: ``publish`` under the member's upload lock.

    A second delivery of the message while the first runs is sent again with a delay rather than
    waiting (a worker thread is not held hostage). A member whose Open Humans login is gone is
    left marked NEEDS_LOGIN and the message is dropped: retrying cannot help.
    """
    return _exclusively(member_id, runtime, publish, resend=queues.send_upload)


def delete_files_exclusively(member_id: int, runtime: Runtime) -> Published:
    """The delete actor's body: ``delete_files`` under the same lock as uploads."""
    return _exclusively(
        member_id,
        runtime,
        delete_files,
        resend=lambda member, *, delay_ms: queues.send_delete_file(member, delay_ms=delay_ms),
    )


def _exclusively(
    member_id: int,
    runtime: Runtime,
    work: Callable[[int, Runtime], Published],
    *,
    resend: Callable[..., None],
) -> Published:
    lock = KeptLock(runtime.redis, keys.upload_lock(member_id), ttl_s=UPLOAD_LOCK_TTL_S)
    if not lock.acquire():
        resend(member_id, delay_ms=BUSY_RETRY_MS)
        log.info("upload_busy_resent", member_id=member_id, delay_ms=BUSY_RETRY_MS)
        return Published("busy")
    with (
        lock,
        structlog.contextvars.bound_contextvars(member_id=member_id),
        connection(),
    ):
        try:
            return work(member_id, runtime)
        except OpenHumansLoginNeeded:
            log.warning("upload_needs_login", member_id=member_id)  # member marked already
            return Published("needs_login")
        except DoesNotExist:
            # The member's row, erased while uploading (they left the project, and Open Humans
            # refused the token with them): there is no one to write for, nothing to retry.
            log.info("upload_member_erased", member_id=member_id)
            return Published("skipped")


def delete_files(member_id: int, runtime: Runtime) -> Published:
    """Delete the member's file(s) on Open Humans at their request; forget the coverage."""
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        return Published("skipped")
    settings = runtime.settings
    with OpenHumansApi.from_settings(settings, http=runtime.http) as api:
        session = MemberSession(member_id, runtime, api)
        profile = session.exchange_member()
        ours, _legacy = files_of(profile, filename=settings.openhumans_filename)
        for record in ours:
            session.delete_file(
                project_member_id=profile["project_member_id"],
                file_id=int(record["id"]),
            )
    with db.atomic():
        StagedWeek.delete().where(StagedWeek.member == member_id).execute()
        Member.update(
            coverage_first_week="",
            coverage_last_week="",
            coverage_last_complete_week="",
            file_size=0,
            file_summary="",
            file_history="",
            updated_at=utcnow(),
        ).where(Member.id == member_id).execute()
        # Unless the member connected GitHub again meanwhile.
        transition(member_id, SyncState.NEW, sync_detail="")
    log.info("member_files_deleted", member_id=member_id, files=len(ours))
    return Published("deleted")


def publish(member_id: int, runtime: Runtime) -> Published:
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        return Published("skipped")
    if not member.github_connected:
        # Disconnected (or deleting) meanwhile: what a finishing sync staged is not wanted.
        StagedWeek.delete().where(StagedWeek.member == member_id).execute()
        return Published("skipped")
    settings = runtime.settings
    # Which weeks are staged; their contents are read a batch at a time while merging.
    staged = list(
        StagedWeek.select(StagedWeek.id, StagedWeek.week)
        .where(StagedWeek.member == member_id)
        .order_by(StagedWeek.week)
    )
    with (
        OpenHumansApi.from_settings(settings, http=runtime.http) as api,
        contextlib.ExitStack() as temporary,
    ):
        session = MemberSession(member_id, runtime, api)
        profile = session.exchange_member()
        ours, legacy = files_of(profile, filename=settings.openhumans_filename)
        if nothing_to_publish(staged_weeks=len(staged), ours=ours, legacy=legacy):
            _finish(member_id, None, [])
            return Published("nothing")
        existing = [download(session, record, member_id, temporary) for record in ours]
        valid = sorted((file for file in existing if file is not None), key=_created)
        while True:  # once more without a file found broken in the middle (or read it whole)
            github = _github_of(member, valid)
            if github is None:  # nothing says whose commits are whose: wait for GitHub's login
                return Published("skipped")
            imported = {name for file in valid for name in file.top.get("imported", [])}
            imports: list[tuple[dict[IsoWeek, list[dict[str, Any]]], dt.datetime]] = []
            for record in legacy:
                if import_key(record) not in imported:
                    imports.append(_import(session, record, github=github, member_id=member_id))
                    imported.add(import_key(record))
            merged: list[StagedWeek] = []
            try:
                writer = temporary.enter_context(_merge(valid, staged, imports, merged))
                break
            except BrokenFile as broken:
                valid.remove(broken.file)
                if isinstance(broken.error, Unsorted) and read_whole(broken.file, member_id):
                    valid = sorted([*valid, broken.file], key=_created)
                elif isinstance(broken.error, InvalidFile):
                    log_invalid(broken.file, member_id, broken.error)
        top = writer.top(github=github, imported=imported)
        content = temporary.enter_context(writer.finish(top))
        replacement = replacement_of(
            [(int(file.record["id"]), file.sha256) for file in valid],
            written_sha256=writer.sha256,
        )
        if replacement.keep is not None:
            kept_id = replacement.keep
            result = Published("unchanged", file_id=kept_id, weeks=writer.summary["weeks"])
        else:
            kept_id = session.upload(
                project_member_id=profile["project_member_id"],
                filename=settings.openhumans_filename,
                metadata=upload_metadata(top),
                content=content,
                size=writer.size,
            )
            result = Published("uploaded", file_id=kept_id, weeks=writer.summary["weeks"])
        # Only now, with the new file complete, are the files it replaces deleted.
        for file_id in replacement.deleted_after(kept_id):
            session.delete_file(project_member_id=profile["project_member_id"], file_id=file_id)
    _finish(member_id, (top, writer.summary, writer.history.result(top)), merged, size=writer.size)
    log.info(
        "upload_done",
        member_id=member_id,
        outcome=result.kind,
        file_id=result.file_id,
        weeks=result.weeks,
        bytes=writer.size,
        staged=len(merged),
    )
    return result


def _staged_weeks(
    staged: list[StagedWeek], merged: list[StagedWeek]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The staged weeks in order, read a batch at a time; ``merged`` gets each version read
    (with its ``fetched_at``: a week staged again meanwhile is another version)."""
    for start in range(0, len(staged), STAGED_BATCH):
        ids = [row.id for row in staged[start : start + STAGED_BATCH]]
        rows = StagedWeek.select(
            StagedWeek.id, StagedWeek.week, StagedWeek.data, StagedWeek.fetched_at
        ).where(StagedWeek.id.in_(ids))
        for row in sorted(rows, key=lambda row: str(row.week)):
            merged.append(row)
            yield str(row.week), row.payload


def _merge(
    files: list[ExistingFile],
    staged: list[StagedWeek],
    imports: list[tuple[dict[IsoWeek, list[dict[str, Any]]], dt.datetime]],
    merged: list[StagedWeek],
) -> DocumentWriter:
    """Every week of the files (in their order), the staged weeks and the imports, merged week
    by week in order (``merge_week``, then ``import_week``) and written as it is merged."""
    sources: list[Iterator[tuple[str, int, Any]]] = [
        ((key, index, week) for key, week in file_weeks(file)) for index, file in enumerate(files)
    ]
    staged_source = len(sources)
    sources.append(((key, staged_source, week) for key, week in _staged_weeks(staged, merged)))
    for number, (by_week, _fetched_at) in enumerate(imports):
        ordered = sorted((str(week), commits) for week, commits in by_week.items())
        sources.append(((key, staged_source + 1 + number, c) for key, c in ordered))
    writer = DocumentWriter()
    try:
        everything = heapq.merge(*sources, key=lambda item: (item[0], item[1]))
        for key, group in itertools.groupby(everything, key=lambda item: item[0]):
            items = list(group)
            versions = [week for _, source, week in items if source < staged_source]
            staged_week = next((w for _, source, w in items if source == staged_source), None)
            week = None
            if versions or staged_week is not None:
                week = merge_week(versions, staged_week)
            for _, source, commits in items:
                if source > staged_source:
                    fetched_at = imports[source - staged_source - 1][1]
                    week = import_week(week, IsoWeek.parse(key), commits, fetched_at=fetched_at)
            assert week is not None
            writer.add(key, week)
    except BaseException:
        writer.close()
        raise
    return writer


def _import(
    session: MemberSession, record: dict[str, Any], *, github: dict[str, Any], member_id: int
) -> tuple[dict[IsoWeek, list[dict[str, Any]]], dt.datetime]:
    """The member's commits in the older integration's ``github.json``, by week, and the time
    the weeks known only from it are dated with.

    A file that does not parse is logged and counted as imported (with no commits): its bytes
    will not change (a new upload of it gets a new id and is tried then).
    """
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as sink:
        session.download(record, sink)
        try:
            commits = legacy_commits(
                json.load(sink), github_login=github["login"], github_id=github["id"]
            )
        except (ValueError, UnicodeDecodeError, InvalidFile) as error:
            log.warning(
                "legacy_file_invalid",
                member_id=member_id,
                file_id=record.get("id"),
                error=str(error),
            )
            return {}, created_at(record, [])
    log.info(
        "legacy_file_imported",
        member_id=member_id,
        file_id=record.get("id"),
        commits=sum(len(c) for c in commits.values()),
        weeks=len(commits),
    )
    return commits, created_at(record, commits.values())


def _created(file: ExistingFile) -> str:
    return str(file.record.get("created") or "")


def _github_of(member: Member, valid: list[ExistingFile]) -> dict[str, Any] | None:
    if member.github_id:
        return {"id": member.github_id, "login": member.github_login}
    if valid:
        return dict(sorted(valid, key=_created)[-1].top["github"])
    return None


def _finish(
    member_id: int,
    written: tuple[dict[str, Any], dict[str, int], dict[str, Any]] | None,
    staged: list[StagedWeek],
    *,
    size: int = 0,
) -> None:
    """Update the coverage cache and drop exactly the staged versions that went into the file.

    ``written``: the file's fields but its weeks, what it holds and the dashboard's digest of it
    (``DocumentWriter``), when a file was written or found unchanged.
    """
    with db.atomic():
        fields: dict[Any, Any] = {Member.last_uploaded_at: utcnow(), Member.updated_at: utcnow()}
        if written is not None:
            top, summary, history = written
            coverage = top["coverage"]
            fields.update(
                {
                    Member.coverage_first_week: coverage["first_week"] or "",
                    Member.coverage_last_week: coverage["last_week"] or "",
                    Member.coverage_last_complete_week: coverage["last_complete_week"] or "",
                    Member.file_size: size,
                    Member.file_summary: json.dumps(summary),
                    Member.file_history: json.dumps(history, separators=(",", ":")),
                }
            )
        Member.update(fields).where(Member.id == member_id).execute()
        transition(member_id, SyncState.DONE, sync_detail="")
        for row in staged:  # a week staged again meanwhile has a newer fetched_at: it stays
            StagedWeek.delete().where(
                (StagedWeek.id == row.id) & (StagedWeek.fetched_at == row.fetched_at)
            ).execute()
