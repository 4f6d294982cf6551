"""A sync re-sent to continue (after a rate-limit wait) runs before the syncs queued to start.

Real fetcher worker process, real Redis broker: members who just connected fill the ``fetch``
queue, and a resumed sync sent after them is served first (before the priority queue, it waited
behind every one of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dramatiq
import pytest

from shared import queues
from shared.crypto import TokenCipher
from shared.db import Member, SyncState, close_database, connection, init_database
from shared.openhumans.tokens import store_tokens
from shared.settings import Settings
from tests.e2e.harness import System, wait_for

pytestmark = pytest.mark.e2e

STARTING = 10
# Each request takes this long at "GitHub", so that the queued syncs take a while to drain.
LATENCY_MS = 250


@pytest.fixture
def broker(system: System) -> Iterator[None]:
    previous = dramatiq.broker.global_broker
    sender = queues.setup_broker(system.env["REDIS_URL"])
    init_database(system.env["DATABASE_URL"])
    yield
    close_database()
    sender.close()
    dramatiq.set_broker(previous)  # type: ignore[arg-type]


def _connect(system: System, login: str) -> int:
    """A small sandbox member with tokens, connected in the database as the gateway does."""
    cipher = TokenCipher(Settings.from_env(system.env).token_encryption_keys)
    with system.sandbox() as sandbox:
        created = sandbox.post("/_sandbox/github/users", json={"login": login, "profile": "small"})
        github = sandbox.post("/_sandbox/github/tokens", json={"login": login, "scope": "repo"})
        oh = sandbox.post("/_sandbox/openhumans/tokens", json={"username": login}).json()
    member = Member(
        oh_member_id=oh["project_member_id"],
        oh_username=login,
        github_id=created.json()["id"],
        github_login=login,
        github_token=cipher.encrypt(github.json()["access_token"]),
        github_scopes="repo",
        sync_state=SyncState.QUEUED,
    )
    store_tokens(member, oh, cipher)
    member.save()
    return int(member.id)


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_resumed_sync_runs_before_the_syncs_waiting_to_start(
    system: System, broker: None, tmp_path: Path
) -> None:
    with system.sandbox() as sandbox:
        sandbox.post("/_sandbox/config", json={"latency_ms": LATENCY_MS}).raise_for_status()
    with connection():
        starting = [_connect(system, f"order-{n:02d}") for n in range(STARTING)]
        resumed = _connect(system, "order-resumed")
        for member_id in starting:
            queues.send_sync(member_id)
        queues.send_resumed_sync(resumed)

    def everyone_done() -> bool:
        with connection():
            done = Member.select().where(Member.sync_state == SyncState.DONE.value).count()
        return done == STARTING + 1

    wait_for(everyone_done, timeout_s=240, what="every sync", services=system.services)
    with system.sandbox() as sandbox:
        log = sandbox.get("/_sandbox/requests").json()["requests"]
    first_request: dict[str, int] = {}
    for entry in log:
        if entry["login"]:
            first_request.setdefault(entry["login"], entry["id"])
    order = sorted(first_request, key=first_request.__getitem__)
    assert len(order) == STARTING + 1
    # Two fetcher threads: at most the syncs they had already taken go before it.
    assert order.index("order-resumed") <= 4, order
