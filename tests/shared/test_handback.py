"""A sync handed back to the queue instead of failed: when the worker stops, and while the
database is away; any other error still fails it (Dramatiq's retries)."""

from __future__ import annotations

from collections.abc import Iterator

import peewee
import pytest
from dramatiq.middleware import Shutdown

from shared import handback
from shared.errors import UpstreamUnavailable
from shared.handback import (
    DATABASE_AWAY_RESEND_MS,
    WorkerStopping,
    hand_back_delay_ms,
    run_or_hand_back,
)


class Resends:
    """Stands in for ``queues.send_resumed_sync``: records what would be re-sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int | None]] = []

    def __call__(self, member_id: int, *, delay_ms: int | None = None) -> None:
        self.sent.append((member_id, delay_ms))


@pytest.fixture(autouse=True)
def worker_running() -> Iterator[None]:
    handback._stopping.clear()
    yield
    handback._stopping.clear()


def never_asked() -> bool:
    raise AssertionError("the database was probed for an error that is not the database's")


def test_a_stopping_worker_hands_the_sync_back_at_once() -> None:
    assert hand_back_delay_ms(Shutdown(), database_reachable=never_asked) == 0


def test_a_database_error_is_an_outage_only_while_the_database_does_not_answer() -> None:
    for error in (peewee.OperationalError("server closed"), peewee.InterfaceError("closed")):
        assert hand_back_delay_ms(error, database_reachable=lambda: False) == (
            DATABASE_AWAY_RESEND_MS
        )
        # It answers: a deadlock, a missing table... a failure of the sync's own.
        assert hand_back_delay_ms(error, database_reachable=lambda: True) is None


def test_other_errors_fail_the_sync() -> None:
    for error in (UpstreamUnavailable("502"), ValueError("bug"), KeyboardInterrupt()):
        assert hand_back_delay_ms(error, database_reachable=never_asked) is None


def test_the_sync_notices_the_stop_at_its_next_step_and_is_re_sent_at_once() -> None:
    resends, steps = Resends(), []

    def sync() -> None:
        steps.append("first request")
        WorkerStopping().before_worker_shutdown(None, None)  # type: ignore[arg-type]
        handback.check_not_stopping()  # what the sync does before each GitHub request
        steps.append("second request")

    assert run_or_hand_back(7, sync, resend=resends, what="sync") is True
    assert steps == ["first request"]
    assert resends.sent == [(7, None)]
    # A message taken while the worker stops is handed back without starting.
    assert run_or_hand_back(8, lambda: steps.append("started"), resend=resends, what="sync") is True
    assert steps == ["first request"]
    assert resends.sent == [(7, None), (8, None)]


def test_a_sync_is_re_sent_soon_while_the_database_is_away(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handback, "database_reachable", lambda: False)
    resends = Resends()

    def sync() -> None:
        raise peewee.OperationalError("connection refused")

    assert run_or_hand_back(7, sync, resend=resends, what="sync") is True
    assert resends.sent == [(7, DATABASE_AWAY_RESEND_MS)]


def test_a_database_error_with_the_database_there_fails_the_sync(
    database: peewee.Database,
) -> None:
    """The probe is real (the test's SQLite file answers): the error goes to Dramatiq."""
    resends = Resends()

    def sync() -> None:
        raise peewee.OperationalError("deadlock detected")

    database.close()  # the probe takes its own connection, as after the sync's
    with pytest.raises(peewee.OperationalError):
        run_or_hand_back(7, sync, resend=resends, what="sync")
    assert resends.sent == []
    assert run_or_hand_back(7, lambda: None, resend=resends, what="sync") is False
    assert resends.sent == []
