"""Publish one member's staged weeks into their Open Humans file, crash-safe.

Order matters: the new file is uploaded and completed before any old file is deleted, and staged
weeks are deleted only after that, so a crash at any step leaves a state from which re-running
the same message converges to one file holding every week. A file that does not parse is never
deleted: the new file is written beside it. The older integration's ``github.json``, when the
project can see it, is merged in once (``uploader.legacy``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

import redis
import structlog

from shared import keys, queues
from shared.db import Member, StagedWeek, connection, db, transition, utcnow
from shared.errors import (
    DownloadUrlExpired,
    InvalidFile,
    OpenHumansAuthError,
    OpenHumansLoginNeeded,
    UpstreamUnavailable,
)
from shared.fileformat import build_document, parse, serialise, summary_of, upload_metadata
from shared.history import history_of
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.runtime import Runtime
from shared.syncstate import SyncState
from uploader.legacy import (
    created_at,
    import_key,
    import_legacy,
    is_legacy_record,
    legacy_commits,
)
from uploader.merge import merge_weeks

# Files up to this size stay in memory while downloaded; larger ones spill to disk.
SPOOL_BYTES = 8 << 20
# Two uploads of one member never interleave; a busy member's message comes back after this.
BUSY_RETRY_MS = 5_000
# The upload lock outlives a slow upload of a large file; it is released when done.
UPLOAD_LOCK_TTL_S = 600

log = get_logger(__name__)


@dataclass(frozen=True)
class Published:
    """What an upload run did."""

    kind: str  # uploaded, unchanged, nothing, skipped, busy, needs_login
    file_id: int | None = None
    weeks: int = 0


@dataclass
class _ExistingFile:
    record: dict[str, Any]
    document: dict[str, Any]
    sha256: str


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
    lock = runtime.redis.lock(keys.upload_lock(member_id), timeout=UPLOAD_LOCK_TTL_S)
    if not lock.acquire(blocking=False):
        resend(member_id, delay_ms=BUSY_RETRY_MS)
        log.info("upload_busy_resent", member_id=member_id, delay_ms=BUSY_RETRY_MS)
        return Published("busy")
    try:
        with structlog.contextvars.bound_contextvars(member_id=member_id), connection():
            try:
                return work(member_id, runtime)
            except OpenHumansLoginNeeded:
                log.warning("upload_needs_login", member_id=member_id)  # member marked already
                return Published("needs_login")
    finally:
        try:
            lock.release()
        except redis.exceptions.LockError:
            log.warning("upload_lock_lost", member_id=member_id)


def delete_files(member_id: int, runtime: Runtime) -> Published:
    """Delete the member's file(s) on Open Humans at their request; forget the coverage."""
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        return Published("skipped")
    settings = runtime.settings
    with OpenHumansApi.from_settings(settings) as api:
        session = _Session(member_id, runtime, api)
        profile = session.call("exchange_member")
        ours = [f for f in profile["data"] if f.get("basename") == settings.openhumans_filename]
        for record in ours:
            session.call(
                "delete_file",
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


class _Session:
    """Open Humans calls for one member with one token refresh on a 401 "Expired token."."""

    def __init__(self, member_id: int, runtime: Runtime, api: OpenHumansApi) -> None:
        self.member_id = member_id
        self._runtime = runtime
        self.api = api
        self.token = self._token()

    def _token(self, *, rejected: str | None = None) -> str:
        return fresh_access_token(
            self.member_id,
            api=self.api,
            cipher=self._runtime.cipher,
            redis_client=self._runtime.redis,
            rejected_token=rejected,
        )

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.api, method)(self.token, *args, **kwargs)
        except OpenHumansAuthError:
            # Naming the refused token lets a concurrent refresh's result be reused, so the
            # rotating refresh token is spent once however many processes were refused.
            self.token = self._token(rejected=self.token)
            return getattr(self.api, method)(self.token, *args, **kwargs)

    def download(self, record: dict[str, Any], sink: IO[bytes]) -> None:
        """A file's bytes into ``sink``; an expired ``download_url`` is renewed once."""
        try:
            self.api.download_to(record["download_url"], sink)
        except DownloadUrlExpired:
            log.info("download_url_renewed", member_id=self.member_id, file_id=record.get("id"))
            fresh = [f for f in self.call("exchange_member")["data"] if f["id"] == record["id"]]
            if not fresh:  # deleted meanwhile: list again from the start on the next attempt
                raise UpstreamUnavailable(f"file {record.get('id')} vanished while read") from None
            self.api.download_to(fresh[0]["download_url"], sink)


def publish(member_id: int, runtime: Runtime) -> Published:
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        return Published("skipped")
    if not member.github_connected:
        # Disconnected (or deleting) meanwhile: what a finishing sync staged is not wanted.
        StagedWeek.delete().where(StagedWeek.member == member_id).execute()
        return Published("skipped")
    settings = runtime.settings
    staged = list(StagedWeek.select().where(StagedWeek.member == member_id))
    with OpenHumansApi.from_settings(settings) as api:
        session = _Session(member_id, runtime, api)
        profile = session.call("exchange_member")
        ours = [f for f in profile["data"] if f.get("basename") == settings.openhumans_filename]
        legacy = [
            f
            for f in profile["data"]
            if is_legacy_record(f, own_filename=settings.openhumans_filename)
        ]
        if not staged and len(ours) <= 1 and not _imports_pending(legacy, ours):
            _finish(member_id, None, staged)
            return Published("nothing")
        existing = [_download(session, record, member_id) for record in ours]
        valid = [file for file in existing if file is not None]
        weeks = merge_weeks(
            (file.document["weeks"] for file in sorted(valid, key=_created)),
            {row.week: row.payload for row in staged},
        )
        imported = {name for file in valid for name in file.document.get("imported", [])}
        github = _github_of(member, valid)
        if github is None:  # nothing says whose commits are whose: wait for GitHub's login
            return Published("skipped")
        for record in legacy:
            if import_key(record) not in imported:
                weeks = _import(session, record, weeks, github=github, member_id=member_id)
                imported.add(import_key(record))
        document = build_document(github=github, weeks=weeks, imported=imported)
        content = serialise(document)
        unchanged = [f for f in valid if f.sha256 == hashlib.sha256(content).hexdigest()]
        if unchanged:
            kept_id = int(unchanged[0].record["id"])
            result = Published("unchanged", file_id=kept_id, weeks=len(weeks))
        else:
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as body:
                body.write(content)
                kept_id = session.call(
                    "upload",
                    project_member_id=profile["project_member_id"],
                    filename=settings.openhumans_filename,
                    metadata=upload_metadata(document),
                    content=body,
                    size=len(content),
                )
            result = Published("uploaded", file_id=kept_id, weeks=len(weeks))
        # Only now, with the new file complete, are the files it replaces deleted.
        for file in valid:
            if int(file.record["id"]) != kept_id:
                session.call(
                    "delete_file",
                    project_member_id=profile["project_member_id"],
                    file_id=int(file.record["id"]),
                )
    _finish(member_id, document, staged, size=len(content))
    log.info(
        "upload_done",
        member_id=member_id,
        outcome=result.kind,
        file_id=result.file_id,
        weeks=result.weeks,
        bytes=len(content),
        staged=len(staged),
    )
    return result


def _imports_pending(legacy: list[dict[str, Any]], ours: list[dict[str, Any]]) -> bool:
    """Whether a ``github.json`` is not yet merged, judged from our file's upload metadata."""
    if not legacy:
        return False
    metadata = ours[0].get("metadata") if ours else None
    declared = metadata.get("imported") if isinstance(metadata, dict) else None
    done = set(declared) if isinstance(declared, list) else set()
    return any(import_key(record) not in done for record in legacy)


def _download(session: _Session, record: dict[str, Any], member_id: int) -> _ExistingFile | None:
    """The parsed file, or None (logged) if it does not parse: such a file is kept, untouched."""
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as sink:
        session.download(record, sink)
        digest = hashlib.sha256(sink.read()).hexdigest()
        sink.seek(0)
        try:
            document = parse(sink)
        except InvalidFile as error:
            log.error(
                "existing_file_invalid",
                member_id=member_id,
                file_id=record.get("id"),
                error=str(error),
            )
            return None
    return _ExistingFile(record=record, document=document, sha256=digest)


def _import(
    session: _Session,
    record: dict[str, Any],
    weeks: dict[str, Any],
    *,
    github: dict[str, Any],
    member_id: int,
) -> dict[str, Any]:
    """``weeks`` with the member's commits from the older integration's ``github.json``.

    A file that does not parse is logged and counted as imported: its bytes will not change
    (a new upload of it gets a new id and is tried then).
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
            return weeks
    log.info(
        "legacy_file_imported",
        member_id=member_id,
        file_id=record.get("id"),
        commits=sum(len(c) for c in commits.values()),
        weeks=len(commits),
    )
    return import_legacy(weeks, commits, fetched_at=created_at(record, commits.values()))


def _created(file: _ExistingFile) -> str:
    return str(file.record.get("created") or "")


def _github_of(member: Member, valid: list[_ExistingFile]) -> dict[str, Any] | None:
    if member.github_id:
        return {"id": member.github_id, "login": member.github_login}
    if valid:
        return dict(sorted(valid, key=_created)[-1].document["github"])
    return None


def _finish(
    member_id: int, document: dict[str, Any] | None, staged: list[StagedWeek], *, size: int = 0
) -> None:
    """Update the coverage cache and drop exactly the staged versions that went into the file."""
    with db.atomic():
        fields: dict[Any, Any] = {Member.last_uploaded_at: utcnow(), Member.updated_at: utcnow()}
        if document is not None:
            coverage = document["coverage"]
            fields.update(
                {
                    Member.coverage_first_week: coverage["first_week"] or "",
                    Member.coverage_last_week: coverage["last_week"] or "",
                    Member.coverage_last_complete_week: coverage["last_complete_week"] or "",
                    Member.file_size: size,
                    Member.file_summary: json.dumps(summary_of(document)),
                    Member.file_history: json.dumps(history_of(document), separators=(",", ":")),
                }
            )
        Member.update(fields).where(Member.id == member_id).execute()
        transition(member_id, SyncState.DONE, sync_detail="")
        for row in staged:  # a week staged again meanwhile has a newer fetched_at: it stays
            StagedWeek.delete().where(
                (StagedWeek.id == row.id) & (StagedWeek.fetched_at == row.fetched_at)
            ).execute()
