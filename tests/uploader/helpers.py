"""Helpers of the uploader's sandbox tests: the sandbox handle, the member, staged weeks, files."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis
from starlette.applications import Starlette

from sandbox.config import SandboxConfig
from sandbox.state import SandboxState
from shared import queues
from shared.activity import Commit, empty_activity, make_week, utc_timestamp
from shared.db import Member, StagedWeek
from shared.isoweek import IsoWeek
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import store_tokens
from shared.runtime import Runtime
from shared.syncstate import SyncState

FILENAME = "github-activity.json"
SANDBOX_CONFIG = SandboxConfig()  # default OAuth client id and secret, as the runtime uses
# The GitHub account of the test member (the uploader only needs id and login).
GITHUB_ID = 4_242_001
GITHUB_LOGIN = "octo-uploader"


@dataclass
class Sandbox:
    """The running sandbox: its admin API, its state, and the files tests wrote themselves."""

    url: str
    app: Starlette
    http: httpx.Client
    written_by_tests: set[int] = field(default_factory=set)

    @property
    def state(self) -> SandboxState:
        state: SandboxState = self.app.state.sandbox
        return state

    @property
    def openhumans_url(self) -> str:
        return f"{self.url}/openhumans"

    def fault(self, **body: Any) -> None:
        self.http.post("/_sandbox/faults", json=body).raise_for_status()

    def clear_faults(self) -> None:
        self.http.delete("/_sandbox/faults").raise_for_status()

    def files(self, username: str) -> list[dict[str, Any]]:
        """The member's visible files (complete, not deleted), oldest first."""
        answer = self.http.get(f"/_sandbox/openhumans/members/{username}/files")
        answer.raise_for_status()
        files: list[dict[str, Any]] = answer.json()["files"]
        return files

    def content(self, file_id: int) -> bytes:
        answer = self.http.get(f"/_sandbox/openhumans/files/{file_id}/content")
        answer.raise_for_status()
        return answer.content

    def tokens_issued(self, username: str) -> int:
        """Access tokens Open Humans ever issued to the member: 1 + the number of refreshes."""
        return sum(1 for t in self.state.oh.access_tokens.values() if t.username == username)

    def upload_as_member(self, username: str, basename: str, content: bytes) -> int:
        """A file written by someone else (another project, a broken run), via the upload API."""
        token = self.http.post("/_sandbox/openhumans/tokens", json={"username": username}).json()
        with OpenHumansApi(base_url=self.openhumans_url) as api:
            file_id = api.upload(
                token["access_token"],
                project_member_id=token["project_member_id"],
                filename=basename,
                metadata={"description": "written by a test", "tags": ["test"]},
                content=io.BytesIO(content),
                size=len(content),
            )
        self.written_by_tests.add(file_id)
        return file_id


def delayed_uploads(client: redis.Redis) -> list[dict[str, Any]]:
    """Messages waiting on the upload queue's delay queue, decoded."""
    raw = client.hvals(f"ohgithub:{queues.UPLOAD_QUEUE}.DQ.msgs")
    return [json.loads(message) for message in raw]


# ---- the member and their staged weeks ------------------------------------------------------


def make_member(sandbox: Sandbox, runtime: Runtime, username: str = "oh-uploader") -> Member:
    """A member who joined the project, with real sandbox tokens stored encrypted."""
    token = sandbox.http.post("/_sandbox/openhumans/tokens", json={"username": username})
    token.raise_for_status()
    body = token.json()
    member = Member(
        oh_member_id=body["project_member_id"],
        oh_username=username,
        github_id=GITHUB_ID,
        github_login=GITHUB_LOGIN,
        github_token=runtime.cipher.encrypt("gho_connected"),  # the uploader needs none
        sync_state=SyncState.UPLOADING,
    )
    store_tokens(member, body, runtime.cipher)
    member.save()
    return member


def commit(week: IsoWeek, n: int, *, tag: str = "") -> Commit:
    when = week.starts_at + dt.timedelta(hours=10 + n)
    return {
        "sha": hashlib.sha1(f"{week}-{n}-{tag}".encode()).hexdigest(),
        "repository": f"{GITHUB_LOGIN}/project",
        "authored_at": utc_timestamp(when),
        "committed_at": utc_timestamp(when),
        "message": f"commit {n} of {week} {tag}".strip(),
        "url": f"https://github.com/{GITHUB_LOGIN}/project/commit/{n}",
    }


def stage(
    member: Member, week: str, *, commits: int = 1, tag: str = "", fetched_at: dt.datetime | None
) -> dict[str, Any]:
    """Stage ``week`` as the fetcher does (replacing a staged version); returns its payload."""
    iso = IsoWeek.parse(week)
    activity = empty_activity(iso)
    activity["commits"] = [commit(iso, n, tag=tag) for n in range(commits)]
    activity["contributions"][iso.start.isoformat()] = commits
    fetched = fetched_at or (iso.ends_at + dt.timedelta(hours=1))
    payload = make_week(iso, activity, fetched_at=fetched)
    StagedWeek.insert(
        member=member.id,
        week=week,
        data=json.dumps(payload),
        complete=payload["complete"],
        fetched_at=fetched,
    ).on_conflict(
        conflict_target=[StagedWeek.member, StagedWeek.week],
        update={StagedWeek.data: json.dumps(payload), StagedWeek.fetched_at: fetched},
    ).execute()
    return dict(payload)


def staged_weeks(member: Member) -> dict[str, str]:
    """Week -> fetched_at of what is still staged."""
    rows = StagedWeek.select().where(StagedWeek.member == member.id)
    return {row.week: utc_timestamp(row.fetched_at) for row in rows}


def our_files(sandbox: Sandbox, username: str) -> list[dict[str, Any]]:
    return [f for f in sandbox.files(username) if f["basename"] == FILENAME]


def only_file(sandbox: Sandbox, username: str) -> tuple[int, dict[str, Any]]:
    """The member's one github-activity.json, parsed; fails if there is not exactly one."""
    files = our_files(sandbox, username)
    assert len(files) == 1, f"expected one file, found {[f['id'] for f in files]}"
    return files[0]["id"], json.loads(sandbox.content(files[0]["id"]))


class RecordingLogger:
    """Stands in for a module's structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        def record(event: str, **fields: Any) -> None:
            self.events.append((level, event, fields))

        return record
