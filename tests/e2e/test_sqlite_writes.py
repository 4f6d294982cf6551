"""On SQLite (``make run``'s default), a member's requests never fail while others' syncs write.

The gateway runs as its own process, as in production; this test writes into the same database
file what a fetcher writes during a sync (week chunks in transactions, progress counters), as
fast as it can, while a member connects GitHub again and again through the real OAuth pages.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fetcher.sync import _stage
from shared.activity import empty_activity, make_week
from shared.db import Member, connection, init_database
from shared.isoweek import IsoWeek
from tests.e2e.harness import System, start_system, submit_authorize_form

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"
# Enough GitHub connections that one overlapping a write is certain without the fix.
CONNECTIONS = 12


@pytest.fixture
def sqlite_system(tmp_path: Path, e2e_redis_url: str) -> Iterator[System]:
    running = start_system(
        database_url=f"sqlite:///{tmp_path}/onboarding.sqlite3",
        redis_url=e2e_redis_url,
        log_dir=tmp_path / "logs",
        workers=(),  # no fetcher: the writes below stand in for other members' syncs
    )
    yield running
    running.services.stop()


class SyncWrites:
    """A thread staging a year of weeks for another member, over and over, until stopped."""

    def __init__(self, database_url: str) -> None:
        self._database_url = database_url
        self._stop = threading.Event()
        self.transactions = 0
        self._thread = threading.Thread(target=self._run, name="sync-writes", daemon=True)

    def __enter__(self) -> SyncWrites:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        init_database(self._database_url)
        now = dt.datetime.now(dt.UTC)
        weeks = list(IsoWeek.current().previous().until(IsoWeek.current()))
        for _ in range(51):
            weeks.insert(0, weeks[0].previous())
        with connection():
            other = Member.create(oh_member_id="another-member", github_token="x")
            while not self._stop.is_set():
                staged = {w: make_week(w, empty_activity(w), fetched_at=now) for w in weeks}
                _stage(other.id, staged)
                Member.update(weeks_done=Member.weeks_done + 1).where(
                    Member.id == other.id
                ).execute()
                self.transactions += 1


def test_connecting_github_never_fails_while_syncs_write(sqlite_system: System) -> None:
    system = sqlite_system
    with system.member_client() as member:
        system.log_in(member, LOGIN)
        with SyncWrites(system.env["DATABASE_URL"]) as writes:
            statuses: list[tuple[int | str, str]] = []
            for _ in range(CONNECTIONS):
                try:
                    page = member.get(f"{system.gateway_url}/github/connect", params={"private": 1})
                    answer = submit_authorize_form(member, page, login=LOGIN)
                except httpx.HTTPError as error:  # the gateway dropped the connection
                    statuses.append(("no answer", str(error)))
                    continue
                statuses.append((answer.status_code, answer.url.path))
        assert writes.transactions > CONNECTIONS  # the writes really ran alongside
    assert statuses == [(200, "/dashboard")] * CONNECTIONS, statuses
