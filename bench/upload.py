"""The uploader's memory and time on a very large history: 200,000 commits.

The member's existing file (10 years, 200,000 commits, plus pull requests, issues and reviews;
the history of ``bench.merge`` scaled up) is put into their Open Humans account on a sandbox
running as its own process; one new week is staged; then the real ``uploader.publish.publish``
runs in this process: download, check, merge, write, upload, delete the old file. Its peak is
measured with tracemalloc, which sees every Python allocation of this process (and only of
this process: the sandbox runs elsewhere). Tracing slows allocation down several times, so the
time is that of a first run untraced, and the peak that of a second one (another week staged).
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import httpx

from bench.merge import synthetic_history
from launcher.services import ServiceSet, wait_http
from sandbox.server import free_port
from shared.activity import empty_activity, make_week
from shared.db import Member, StagedWeek, close_database, connection, init_database
from shared.fileformat import build_document, serialise
from shared.isoweek import IsoWeek
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import store_tokens
from shared.runtime import Runtime
from shared.settings import Settings
from shared.syncstate import SyncState
from uploader.publish import Published, publish

COMMITS = int(os.environ.get("BENCH_UPLOAD_COMMITS", "200000"))
USERNAME = "bench-uploader"
GITHUB = {"id": 4_242_007, "login": "octo-heavy"}


def _existing_file() -> bytes:
    weeks = synthetic_history(commits=COMMITS)
    return serialise(build_document(github=GITHUB, weeks=weeks))


def _publish_one_more_week(member: Member, runtime: Runtime, week: IsoWeek) -> Published:
    fetched = dt.datetime.now(dt.UTC)
    staged = make_week(week, empty_activity(week), fetched_at=fetched)
    StagedWeek.create(
        member=member.id,
        week=str(week),
        data=serialise(staged).decode(),
        complete=staged["complete"],
        fetched_at=fetched,
    )
    outcome = publish(member.id, runtime)
    if outcome.kind != "uploaded" or StagedWeek.select().exists():
        raise RuntimeError(f"the upload did not take the staged week: {outcome}")
    return outcome


def run() -> dict[str, float]:
    from bench.fetch import BENCH_REDIS_URL

    content = _existing_file()
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        services = ServiceSet(env=dict(os.environ), log_dir=Path(folder) / "logs")
        try:
            services.start("sandbox", [sys.executable, "-m", "sandbox", "--port", str(port)])
            wait_http(f"{base_url}/_sandbox/clock")
            settings = Settings(
                database_url=f"sqlite:///{Path(folder) / 'upload.sqlite3'}",
                redis_url=BENCH_REDIS_URL,
                openhumans_url=f"{base_url}/openhumans",
                openhumans_client_id="sandbox-oh-client",
                openhumans_client_secret="sandbox-oh-secret",
                log_level="WARNING",
                http_timeout_s=120,
            )
            runtime = Runtime(settings)
            init_database(settings.database_url)
            with httpx.Client(base_url=base_url, timeout=120) as sandbox:
                token = sandbox.post("/_sandbox/openhumans/tokens", json={"username": USERNAME})
                body: dict[str, Any] = token.json()
            with OpenHumansApi(base_url=settings.openhumans_url, timeout_s=120) as api:
                api.upload(
                    body["access_token"],
                    project_member_id=body["project_member_id"],
                    filename=settings.openhumans_filename,
                    metadata={"description": "the bench's large history", "tags": ["github"]},
                    content=io.BytesIO(content),
                    size=len(content),
                )
            file_bytes = len(content)
            del content
            with connection():
                member = Member(
                    oh_member_id=body["project_member_id"],
                    oh_username=USERNAME,
                    github_id=GITHUB["id"],
                    github_login=GITHUB["login"],
                    github_token=runtime.cipher.encrypt("gho_bench"),
                    sync_state=SyncState.UPLOADING,
                )
                store_tokens(member, body, runtime.cipher)
                member.save()
                gc.collect()
                started = time.perf_counter()
                outcome = _publish_one_more_week(member, runtime, IsoWeek.current())
                seconds = time.perf_counter() - started
                gc.collect()
                tracemalloc.start()
                _publish_one_more_week(member, runtime, IsoWeek.current().next())
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                assert outcome.kind == "uploaded", outcome
            runtime.close()
        finally:
            services.stop()
            close_database()
    return {"seconds": seconds, "peak_mb": peak / 2**20, "file_mb": file_bytes / 2**20}


def main() -> None:
    figures = run()
    print(
        f"uploader 200k: {figures['seconds']:.1f} s, peak {figures['peak_mb']:.0f} MB "
        f"for a {figures['file_mb']:.0f} MB file ({COMMITS} commits)"
    )
    print(f"uploader peak MB 200k: {figures['peak_mb']:.0f}")


if __name__ == "__main__":
    main()
