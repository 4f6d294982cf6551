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
