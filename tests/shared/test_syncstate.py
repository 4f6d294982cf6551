"""Sync state transitions: automatic steps follow the table, member actions always apply."""

from __future__ import annotations

import peewee
import pytest

from shared.db import Member, transition
from shared.syncstate import EVERY_STATE, SyncState


def _member(state: SyncState) -> Member:
    return Member.create(oh_member_id=f"oh-{state}", sync_state=state, github_token="x")


@pytest.mark.parametrize(
    ("start", "to", "moves"),
    [
        (SyncState.UPLOADING, SyncState.DONE, True),
        (SyncState.NEEDS_LOGIN, SyncState.DONE, False),  # an upload finishing after a lost login
        (SyncState.WAITING, SyncState.DONE, False),  # a partial upload while the sync waits
        (SyncState.DELETING, SyncState.SYNCING, False),  # a sync message after "Delete my data"
        (SyncState.NEEDS_RECONNECT, SyncState.SYNCING, False),
        (SyncState.NEW, SyncState.QUEUED, False),
        (SyncState.DONE, SyncState.QUEUED, True),
        (SyncState.ERROR, SyncState.SYNCING, True),  # a retry after an error
        (SyncState.SYNCING, SyncState.WAITING, True),
        (SyncState.DELETING, SyncState.NEW, True),
        (SyncState.QUEUED, SyncState.NEW, False),  # reconnected before the deletion ran
        (SyncState.DELETING, SyncState.NEEDS_LOGIN, False),
    ],
)
def test_automatic_steps_follow_the_table(
    database: peewee.Database, start: SyncState, to: SyncState, moves: bool
) -> None:
    member = _member(start)

    assert transition(member.id, to, sync_detail="changed") is moves

    after = Member.get_by_id(member.id)
    assert after.state == (to if moves else start)
    assert (after.sync_detail == "changed") is moves


def test_member_actions_apply_from_any_state(database: peewee.Database) -> None:
    members = [_member(state) for state in SyncState]
    for member in members:
        assert transition(member.id, SyncState.DELETING, from_states=EVERY_STATE)
    assert {m.state for m in Member.select()} == {SyncState.DELETING}


def test_an_unknown_stored_state_reads_as_error(database: peewee.Database) -> None:
    member = Member.create(oh_member_id="oh-x", sync_state="from-a-future-version")
    assert Member.get_by_id(member.id).state == SyncState.ERROR
