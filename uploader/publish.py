"""Publish one member's staged weeks into their Open Humans file, crash-safe.

Order matters: the new file is uploaded and completed before any old file is deleted, and staged
weeks are deleted only after that, so a crash at any step leaves a state from which re-running
the same message converges to one file holding every week. A file that does not parse is never
deleted: the new file is written beside it.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from typing import Any

from shared.db import Member, StagedWeek, SyncState, db, utcnow
from shared.errors import InvalidFile, OpenHumansAuthError
from shared.fileformat import build_document, parse, serialise, upload_metadata
from shared.logging import get_logger
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.runtime import Runtime
from uploader.merge import merge_weeks

# Files up to this size stay in memory while downloaded; larger ones spill to disk.
SPOOL_BYTES = 8 << 20

log = get_logger(__name__)


@dataclass(frozen=True)
class Published:
    """What an upload run did."""

    kind: str  # uploaded, unchanged, nothing, skipped
    file_id: int | None = None
    weeks: int = 0


@dataclass
class _ExistingFile:
    record: dict[str, Any]
    document: dict[str, Any]
    sha256: str


class _Session:
    """Open Humans calls for one member with one forced token refresh on a 401."""

    def __init__(self, member_id: int, runtime: Runtime, api: OpenHumansApi) -> None:
        self.member_id = member_id
        self._runtime = runtime
        self.api = api
        self.token = self._token(force=False)

    def _token(self, *, force: bool) -> str:
        return fresh_access_token(
            self.member_id,
            api=self.api,
            cipher=self._runtime.cipher,
            redis_client=self._runtime.redis,
            force=force,
        )

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.api, method)(self.token, *args, **kwargs)
        except OpenHumansAuthError:
            self.token = self._token(force=True)  # "Expired token." mid-run: refresh once
            return getattr(self.api, method)(self.token, *args, **kwargs)


def publish(member_id: int, runtime: Runtime) -> Published:
    member = Member.get_or_none(Member.id == member_id)
    if member is None:
        return Published("skipped")
    settings = runtime.settings
    staged = list(StagedWeek.select().where(StagedWeek.member == member_id))
    with OpenHumansApi(
        base_url=settings.openhumans_url,
        client_id=settings.openhumans_client_id,
        client_secret=settings.openhumans_client_secret,
        timeout_s=settings.http_timeout_s,
    ) as api:
        session = _Session(member_id, runtime, api)
        profile = session.call("exchange_member")
        ours = [f for f in profile["data"] if f.get("basename") == settings.openhumans_filename]
        if not staged and len(ours) <= 1:
            _finish(member_id, None, staged)
            return Published("nothing")
        existing = [_download(session, record, member_id) for record in ours]
        valid = [file for file in existing if file is not None]
        weeks = merge_weeks(
            (file.document["weeks"] for file in sorted(valid, key=_created)),
            {row.week: row.payload for row in staged},
        )
        document = build_document(github=_github_of(member, valid), weeks=weeks)
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


def _download(session: _Session, record: dict[str, Any], member_id: int) -> _ExistingFile | None:
    """The parsed file, or None (logged) if it does not parse: such a file is kept, untouched."""
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as sink:
        session.api.download_to(record["download_url"], sink)
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


def _created(file: _ExistingFile) -> str:
    return str(file.record.get("created") or "")


def _github_of(member: Member, valid: list[_ExistingFile]) -> dict[str, Any]:
    if member.github_id:
        return {"id": member.github_id, "login": member.github_login}
    return dict(sorted(valid, key=_created)[-1].document["github"])


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
                }
            )
        Member.update(fields).where(Member.id == member_id).execute()
        Member.update(sync_state=SyncState.DONE, sync_detail="").where(
            (Member.id == member_id) & (Member.sync_state == SyncState.UPLOADING)
        ).execute()
        for row in staged:  # a week staged again meanwhile has a newer fetched_at: it stays
            StagedWeek.delete().where(
                (StagedWeek.id == row.id) & (StagedWeek.fetched_at == row.fetched_at)
            ).execute()
