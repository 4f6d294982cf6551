"""An upload that finds the database away is handed back to its queue (no retry spent) and
publishes once the database answers again: PostgreSQL behind a proxy the test cuts."""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest

from shared import db as shared_db
from shared.db import Member
from shared.handback import DATABASE_AWAY_RESEND_MS, run_or_hand_back
from shared.runtime import Runtime
from shared.syncstate import SyncState
from tests.conftest import PostgresServer
from tests.faults.proxy import CuttableProxy, models_behind_proxy
from tests.uploader.helpers import (
    Sandbox,
    make_member,
    only_file,
    our_files,
    stage,
    staged_weeks,
)
from uploader.publish import publish_exclusively


@pytest.fixture
def proxied_postgres(
    postgres_server: PostgresServer, database: peewee.Database
) -> Iterator[CuttableProxy]:
    """The project's models on a fresh PostgreSQL database reached through a cuttable proxy
    (instead of the test's SQLite file), pooled as in production."""
    with models_behind_proxy(postgres_server) as proxy:
        yield proxy


def test_an_upload_is_handed_back_while_the_database_is_away(
    sandbox: Sandbox, runtime: Runtime, proxied_postgres: CuttableProxy
) -> None:
    member = make_member(sandbox, runtime)
    week = stage(member, "2024-W10", commits=2, fetched_at=None)
    shared_db.db.close()  # as a worker does between messages: the connection goes back to the pool
    resent: list[tuple[int, int | None]] = []

    def upload() -> bool:
        return run_or_hand_back(
            member.id,
            lambda: publish_exclusively(member.id, runtime),
            resend=lambda member_id, *, delay_ms: resent.append((member_id, delay_ms)),
            what="upload",
        )

    proxied_postgres.down()
    assert upload() is True  # handed back: the message ends without failing
    assert resent == [(member.id, DATABASE_AWAY_RESEND_MS)]
    assert our_files(sandbox, member.oh_username) == [], "nothing uploaded it cannot record"

    proxied_postgres.up()
    assert upload() is False  # ran to its end
    assert resent == [(member.id, DATABASE_AWAY_RESEND_MS)]
    _, document = only_file(sandbox, member.oh_username)
    assert document["weeks"] == {"2024-W10": week}
    with shared_db.connection():
        assert staged_weeks(member) == {}
        assert Member.get_by_id(member.id).sync_state == SyncState.DONE
