"""A PostgreSQL server that accepts connections and then answers nothing (hung, or a network
that swallows everything after the handshake): a connection attempt gives up after
``CONNECT_TIMEOUT_S`` instead of holding its thread forever, and the database is used again as
soon as it answers.

Run with ``-s`` to see the measured time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from shared.db import CONNECT_TIMEOUT_S, database_reachable
from tests.conftest import PostgresServer
from tests.faults.proxy import CuttableProxy, models_behind_proxy

# Longer than any answer can take with the timeout in place; a hung call fails the test here.
DEADLINE_S = 60


@pytest.fixture
def silent_capable_database(postgres_server: PostgresServer) -> Iterator[CuttableProxy]:
    """The project's models on a fresh database reached through a proxy, pooled and with the
    connection settings ``init_database`` gives every PostgreSQL URL that names none."""
    with models_behind_proxy(postgres_server) as proxy:
        yield proxy


def within_deadline(call: Callable[[], bool]) -> tuple[bool | None, float]:
    """``call()``'s result and how long it took; None if it had not returned by DEADLINE_S."""
    outcome: list[bool] = []
    thread = threading.Thread(target=lambda: outcome.append(call()), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(DEADLINE_S)
    return (outcome[0] if outcome else None), time.monotonic() - started


def test_a_silent_database_is_given_up_in_seconds_and_used_again_when_it_answers(
    silent_capable_database: CuttableProxy,
) -> None:
    proxy = silent_capable_database
    assert database_reachable()
    proxy.silence()  # the pooled connection drops; the new one it opens is never answered
    reachable, took_s = within_deadline(database_reachable)
    print(f"\nsilent database given up after {took_s:.1f} s")
    assert reachable is False, "the connection attempt hung"
    assert took_s < CONNECT_TIMEOUT_S + 5
    proxy.up()
    assert database_reachable()
