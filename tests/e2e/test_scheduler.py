"""The scheduler refreshes a synced member on its own, and the member still has one file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from shared.launcher import service_commands
from tests.e2e.harness import System, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"


def ticks_that_enqueued(log_path: Path) -> int:
    """How many of the scheduler's logged ticks sent at least one sync."""
    count = 0
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == "scheduler_tick" and event.get("enqueued", 0) > 0:
            count += 1
    return count


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_synced_member_is_refreshed_without_pressing_a_button(
    system: System, tmp_path: Path
) -> None:
    with system.member_client() as member:

        def status() -> dict[str, Any]:
            body: dict[str, Any] = member.get(f"{system.gateway_url}/api/status").json()
            return body

        def done() -> dict[str, Any] | None:
            current = status()
            return current if current["state"] == "done" else None

        system.log_in(member, LOGIN, private=True)
        first = wait_for(done, timeout_s=60, what="the first sync", services=system.services)
        first_synced_at = dt.datetime.fromisoformat(first["last_synced_at"])
        assert len(system.files_of(LOGIN)) == 1

        # ServiceSet passes its env dict to every process it starts; System.env is that dict.
        system.env["SCHEDULER_INTERVAL"] = "2s"
        system.env["STALE_AFTER"] = "1s"
        system.services.start("scheduler", service_commands()["scheduler"])

        def refreshed() -> dt.datetime | None:
            synced_at = status()["last_synced_at"]
            later = dt.datetime.fromisoformat(synced_at) if synced_at else None
            return later if later is not None and later > first_synced_at else None

        wait_for(refreshed, timeout_s=30, what="a scheduled refresh", services=system.services)
        # Stop the scheduler so no further refresh starts, then let the one running finish:
        # only at rest may the member's files be counted (an upload briefly holds two).
        system.services.stop("scheduler")
        wait_for(done, timeout_s=30, what="the refresh to finish", services=system.services)

    assert ticks_that_enqueued(tmp_path / "logs" / "scheduler.log") >= 1
    files = system.files_of(LOGIN)
    assert len(files) == 1, files
