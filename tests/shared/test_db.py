"""The database layer: schema creation and upgrades."""

from __future__ import annotations

from pathlib import Path


def test_a_database_from_an_older_version_gains_the_new_columns(tmp_path: Path) -> None:
    import peewee

    from shared import db as shared_db

    path = tmp_path / "old.sqlite3"
    old = peewee.SqliteDatabase(str(path))
    old.execute_sql("CREATE TABLE member (id INTEGER PRIMARY KEY, oh_member_id VARCHAR(255))")
    old.execute_sql("INSERT INTO member (oh_member_id) VALUES ('12345678')")
    old.close()
    shared_db.init_database(f"sqlite:///{path}")
    with shared_db.connection():
        member = shared_db.Member.get()
        assert member.oh_member_id == "12345678"
        assert member.file_summary == "" and member.sync_state == shared_db.SyncState.NEW


def _start_service(path: str) -> None:
    from shared.db import init_database

    init_database(f"sqlite:///{path}")


def test_every_service_starting_at_once_on_one_sqlite_file_succeeds(tmp_path: Path) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    for round_ in range(3):
        path = str(tmp_path / f"round-{round_}.sqlite3")
        services = [context.Process(target=_start_service, args=(path,)) for _ in range(5)]
        for service in services:
            service.start()
        for service in services:
            service.join(timeout=60)
        assert [s.exitcode for s in services] == [0] * 5, "a service failed to create the schema"
