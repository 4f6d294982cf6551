"""The database's connections: pools sized to the service's threads, waiting when exhausted,
replacing connections an outage broke, SQLite reads that a writer does not block, and the
gateway's member read."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import peewee
import pytest

from shared import db as shared_db
from shared.db import Member, connection, database_reachable, init_database, member_by_id
from shared.syncstate import SyncState
from tests.faults.proxy import CuttableProxy, proxied


def pooled(url: str, **query: int) -> str:
    """The PostgreSQL ``url`` as ``postgres+pool://``, with ``query`` parameters."""
    parts = urlsplit(url)
    params = "&".join(f"{key}={value}" for key, value in query.items())
    return urlunsplit(parts._replace(scheme="postgres+pool", query=params))


@pytest.fixture
def pooled_postgres(postgres_url: str) -> Iterator[str]:
    yield pooled(postgres_url)
    with connection():
        shared_db.db.drop_tables(shared_db.MODELS, safe=True)
    shared_db.close_database()


def _hold_connection(release: threading.Event) -> bool:
    with connection():
        shared_db.db.execute_sql("SELECT 1")
        release.wait(timeout=30)
    return True


def test_a_pool_smaller_than_the_threads_makes_them_wait_not_fail(postgres_url: str) -> None:
    """Two connections for six threads that each hold one: every thread gets its turn."""
    init_database(pooled(postgres_url, max_connections=2))
    try:
        release = threading.Event()
        with ThreadPoolExecutor(max_workers=6) as pool:
            futures = [pool.submit(_hold_connection, release) for _ in range(6)]
            release.set()  # the first two finish; the others wait for their connections
            assert [future.result(timeout=60) for future in futures] == [True] * 6
    finally:
        shared_db.close_database()


def test_a_pool_is_sized_to_the_threads_of_the_service(pooled_postgres: str) -> None:
    """As many threads as the service said hold a connection at once, none waiting."""
    init_database(pooled_postgres, pool_size=12)
    release, held = threading.Event(), threading.Barrier(12 + 1, timeout=30)

    def hold() -> None:
        with connection():
            shared_db.db.execute_sql("SELECT 1")
            held.wait()  # all twelve hold a connection at the same moment
            release.wait(timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(hold) for _ in range(12)]
        held.wait()
        release.set()
        for future in futures:
            future.result(timeout=30)


def test_sqlite_reads_go_on_while_a_writer_holds_its_transaction(tmp_path: Path) -> None:
    init_database(f"sqlite:///{tmp_path}/pool.sqlite3")
    try:
        with connection():
            member_id = Member.create(oh_member_id="1", sync_state=SyncState.DONE).id
        writing, readers_done = threading.Event(), threading.Event()

        def write() -> None:
            with connection(), shared_db.db.atomic("IMMEDIATE"):
                Member.update(sync_detail="being written").where(Member.id == member_id).execute()
                writing.set()
                # Committed only once the readers got their answers (or the test failed).
                assert readers_done.wait(timeout=30), "readers were blocked by the writer"

        def read() -> str:
            writing.wait(timeout=30)
            with connection():
                member = member_by_id(member_id)
                assert member is not None
                return str(member.sync_detail)

        writer = threading.Thread(target=write)
        writer.start()
        with ThreadPoolExecutor(max_workers=8) as pool:
            details = list(pool.map(lambda _: read(), range(16)))
        readers_done.set()
        writer.join(timeout=30)
        assert details == [""] * 16  # the committed row, not the writer's uncommitted one
        with connection():
            assert member_by_id(member_id).sync_detail == "being written"  # type: ignore[union-attr]
    finally:
        shared_db.close_database()


def _every_field_set() -> dict[str, object]:
    now = dt.datetime(2026, 11, 30, 8, 15, 2, tzinfo=dt.UTC)
    return {
        "oh_member_id": "87654321",
        "oh_username": "octo",
        "oh_access_token": "enc-a",
        "oh_refresh_token": "enc-r",
        "oh_token_expires_at": now,
        "github_id": 583231,
        "github_login": "octocat",
        "github_token": "enc-g",
        "github_scopes": "read:user repo",
        "github_created_at": now - dt.timedelta(days=4000),
        "sync_state": SyncState.WAITING,
        "sync_detail": "GitHub core limit reached",
        "waiting_until": now + dt.timedelta(minutes=40),
        "weeks_done": 12,
        "weeks_total": 520,
        "sync_requested_at": now,
        "last_synced_at": now - dt.timedelta(days=5),
        "last_uploaded_at": now - dt.timedelta(days=5),
        "coverage_first_week": "2015-W02",
        "coverage_last_week": "2026-W48",
        "coverage_last_complete_week": "2026-W47",
        "file_size": 12_345_678,
        "file_summary": '{"weeks": 3}',
    }


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_gateways_member_read_is_the_row_peewee_reads(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database: peewee.Database = request.getfixturevalue(
        "database" if kind == "sqlite" else "pg_database"
    )
    member = Member.create(**_every_field_set())
    Member.create(oh_member_id="other")
    read = member_by_id(member.id)
    expected = Member.get_by_id(member.id)
    assert read is not None
    assert read.__data__ == expected.__data__
    assert read.waiting_until == _every_field_set()["waiting_until"]
    assert read.state == SyncState.WAITING
    assert member_by_id(member.id + 1000) is None
    read.weeks_done = 13
    read.save()  # a read row saves like a row peewee read
    assert Member.get_by_id(member.id).weeks_done == 13
    assert database.is_closed() is False


@pytest.fixture
def pool_behind_proxy(postgres_url: str) -> Iterator[CuttableProxy]:
    """The project's models on a pool reaching the session's PostgreSQL through a cuttable
    proxy (the database "goes away" for this pool only)."""
    with proxied(postgres_url) as (proxy, through):
        try:
            init_database(pooled(through, max_connections=2))
            yield proxy
        finally:
            shared_db.close_database()


def test_connections_broken_by_an_outage_are_replaced_not_reused(
    pool_behind_proxy: CuttableProxy,
) -> None:
    """One connection dies while checked in, one while in use; once the database is back,
    every thread gets a working connection, and the probe says when it is back."""
    proxy = pool_behind_proxy
    idle_done, in_use = threading.Event(), threading.Event()

    def idle_then_query() -> int:
        with connection():  # checked out and back in: idle in the pool during the outage
            shared_db.db.execute_sql("SELECT 1")
        idle_done.set()
        in_use.wait(timeout=30)
        with connection():
            return int(Member.select().count())

    with ThreadPoolExecutor(max_workers=1) as other:
        later = other.submit(idle_then_query)
        assert idle_done.wait(timeout=30)
        with pytest.raises(shared_db.DATABASE_ERRORS), connection():
            shared_db.db.execute_sql("SELECT 1")
            proxy.down()
            shared_db.db.execute_sql("SELECT 1")  # the connection in use breaks
        assert not database_reachable()
        proxy.up()
        assert database_reachable()
        in_use.set()
        assert later.result(timeout=30) == 0
    with connection():
        assert Member.select().count() == 0
    with connection():
        shared_db.db.drop_tables(shared_db.MODELS, safe=True)
