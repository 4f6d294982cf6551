"""A member leaves the project on Open Humans in the middle of their sync: nothing comes back.

Open Humans revokes the project's tokens and calls the deauthorization webhook (signed, through
the real gateway), which erases the member. The fetcher is then mid-sync, writing progress and
GitHub budgets to Redis and staging weeks: once it stops there must be no member row, no staged
week, no Redis key of the member or of their GitHub user, and no file written for them.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from shared import keys, queues
from tests.e2e.harness import System, wait_for
from tests.faults.conftest import PrivateRedis

pytestmark = pytest.mark.e2e

LOGIN = "octo-typical"
# After the member left, the state stays clean at least this long (nothing is resurrected by a
# message or a thread that was still under way).
QUIET_S = 3.0
# GitHub's answer time. Fast, the sync stages its next weeks before its lock's renewal (every
# third of SYNC_LOCK_TTL) finds the lock gone, and staging finds the member gone; slow, the
# renewal comes first and the sync stops before its next request.
LATENCIES_MS = {"stopped-at-staging": 150, "stopped-by-its-lock": 1000}
# How the fetcher's log says the sync ended (printed: which way this run took).
ENDINGS = ("sync_lock_lost", "sync_stopped_member_erased")
# Leaving during an upload: a member with a short history, and how long Open Humans holds the
# upload's last step (the client then asks again, with the token Open Humans revoked).
UPLOAD_LOGIN = "octo-small"
UPLOAD_HOLD_S = 3


@pytest.fixture
def e2e_redis_url(private_redis: PrivateRedis) -> str:
    return private_redis.url  # the member's keys are looked for in a Redis of the test's own


def member_row(database: Path) -> tuple[int, int] | None:
    """The member's (id, GitHub id), or None once erased."""
    with sqlite3.connect(database) as db:
        row = db.execute("SELECT id, github_id FROM member").fetchone()
    return None if row is None else (int(row[0]), int(row[1]))


def leftovers(database: Path, client: redis.Redis, *, member_id: int, github_id: int) -> list[Any]:
    """What is still held about the member, or still under way for them (empty: all gone)."""
    found: list[Any] = []
    with sqlite3.connect(database) as db:
        found += db.execute("SELECT id FROM member").fetchall()
        found += db.execute("SELECT week FROM stagedweek").fetchall()
    member_keys = [
        *keys.member_keys(member_id),
        keys.sync_lock(member_id),
        keys.upload_lock(member_id),
        keys.openhumans_token_lock(member_id),
        keys.member_login_sessions(member_id),
    ]
    found += [key for key in member_keys if client.exists(key)]
    for pattern in keys.github_user_patterns(github_id):
        found += list(client.scan_iter(match=pattern))
    # The only member's messages: a sync or upload still running, waiting, or due for a retry.
    for queue in queues.MEMBER_QUEUES:
        for name in (keys.queue_messages(queue), keys.delayed_messages(queue)):
            found += [name] * int(client.hlen(name))  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("latency_ms", LATENCIES_MS.values(), ids=LATENCIES_MS.keys())
@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_member_who_leaves_mid_sync_leaves_nothing_behind(
    system: System, e2e_database_url: str, latency_ms: int, tmp_path: Path
) -> None:
    database = Path(e2e_database_url.removeprefix("sqlite:///"))
    client = redis.Redis.from_url(system.env["REDIS_URL"])
    with system.sandbox() as sandbox:
        # Slow answers, so that the member surely leaves in the middle of the sync.
        sandbox.post("/_sandbox/config", json={"latency_ms": latency_ms}).raise_for_status()

        def commit_pages_served() -> int:
            return len(system.commit_pages_served(LOGIN))

        with system.member_client() as member:
            system.log_in(member, LOGIN, private=True)
            wait_for(lambda: commit_pages_served() >= 5, timeout_s=60, what="the sync under way",
                     services=system.services)  # fmt: skip
        row = member_row(database)
        assert row is not None
        member_id, github_id = row
        files_before = system.files_of(LOGIN)
        served_before = commit_pages_served()
        left = sandbox.post(
            "/_sandbox/openhumans/deauthorize",
            json={
                "username": LOGIN,
                "webhook_url": f"{system.gateway_url}/webhooks/openhumans/deauthorize",
            },
        )
        left.raise_for_status()
        assert left.json()["webhook_status"] == 200
        left_at_s = time.monotonic()
        assert member_row(database) is None  # erased when the webhook answered

        def clean() -> bool:
            return not leftovers(database, client, member_id=member_id, github_id=github_id)

        wait_for(clean, timeout_s=60, interval_s=0.2, what="nothing left of the member",
                 services=system.services)  # fmt: skip
        # Measured, not asserted (docs/RELIABILITY.md): the running sync notices its lost lock
        # at its next renewal, stops before its next request, and forgets what it wrote.
        print(f"recovery after the member left mid-sync: {time.monotonic() - left_at_s:.1f} s")
        ended = [e for e in ENDINGS if e in (tmp_path / "logs" / "fetcher.log").read_text()]
        print(f"commit pages read after leaving: {commit_pages_served() - served_before}; {ended}")
        time.sleep(QUIET_S)

        assert leftovers(database, client, member_id=member_id, github_id=github_id) == []
        assert system.files_of(LOGIN) == files_before  # nothing written after they left


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_member_who_leaves_mid_upload_gets_no_file(
    system: System, e2e_database_url: str, tmp_path: Path
) -> None:
    database = Path(e2e_database_url.removeprefix("sqlite:///"))
    client = redis.Redis.from_url(system.env["REDIS_URL"])
    with system.sandbox() as sandbox:
        # The upload's bytes are stored and its "complete" waits: the member leaves meanwhile.
        sandbox.post("/_sandbox/config", json={"timeout_fault_s": UPLOAD_HOLD_S})
        fault = {"kind": "timeout", "login": UPLOAD_LOGIN, "path_contains": "/upload/complete/"}
        sandbox.post("/_sandbox/faults", json=fault).raise_for_status()
        with system.member_client() as member:
            system.log_in(member, UPLOAD_LOGIN, private=True)
            wait_for(lambda: not sandbox.get("/_sandbox/faults").json()["faults"], timeout_s=60,
                     interval_s=0.1, what="the upload's complete step",
                     services=system.services)  # fmt: skip
        row = member_row(database)
        assert row is not None
        member_id, github_id = row
        left = sandbox.post(
            "/_sandbox/openhumans/deauthorize",
            json={
                "username": UPLOAD_LOGIN,
                "webhook_url": f"{system.gateway_url}/webhooks/openhumans/deauthorize",
            },
        )
        assert left.json()["webhook_status"] == 200
        left_at_s = time.monotonic()

        def clean() -> bool:
            return not leftovers(database, client, member_id=member_id, github_id=github_id)

        wait_for(clean, timeout_s=60, interval_s=0.2, what="nothing left of the member",
                 services=system.services)  # fmt: skip
        print(f"recovery after the member left mid-upload: {time.monotonic() - left_at_s:.1f} s")
        time.sleep(QUIET_S)

        assert leftovers(database, client, member_id=member_id, github_id=github_id) == []
        assert system.files_of(UPLOAD_LOGIN) == []
        # The upload ended as one for nobody, not as a failure that Dramatiq retries.
        uploader_log = (tmp_path / "logs" / "uploader.log").read_text()
        assert '"upload_member_erased"' in uploader_log
        assert '"level": "error"' not in uploader_log
