"""Two gateways and two schedulers at once, as two replicas of each would run: a member logged
in through one gateway is served by the other (logins are in Redis), and a stale member is
refreshed once per interval, not once per scheduler, with no upload of the same file twice."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from pathlib import Path
from typing import Any

import pytest

from launcher.services import service_commands
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for
from tests.faults.replicas import events, start_second_gateway

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"
# Short enough for a few refreshes in seconds; each one is due again an interval later.
INTERVAL_S = 2
REFRESHES = 3


@pytest.mark.parametrize("e2e_database_url", ["sqlite", "postgresql"], indirect=True)
def test_two_gateways_and_two_schedulers_serve_one_member_once(
    system: System, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    second_gateway = start_second_gateway(system)
    with system.member_client() as member:
        system.log_in(member, LOGIN, private=True)  # through the first gateway
        served = member.get(f"{second_gateway}/api/status")
        assert served.status_code == 200, served.text[:300]
        first = system.wait_until_done(member, what="the first sync", timeout_s=60)
        from_second = member.get(f"{second_gateway}/api/status").json()
        assert from_second["last_synced_at"] == first["last_synced_at"]
        first_file = system.files_of(LOGIN)[0]["id"]

        system.env["SCHEDULER_INTERVAL"] = f"{INTERVAL_S}s"
        system.env["STALE_AFTER"] = "1s"
        system.services.start("scheduler", service_commands()["scheduler"])
        system.services.start("scheduler-2", service_commands()["scheduler"])

        def enqueued() -> list[dict[str, Any]]:
            ticks = events(logs / "scheduler.log", "scheduler_tick")
            ticks += events(logs / "scheduler-2.log", "scheduler_tick")
            return [tick for tick in ticks if tick["enqueued"] > 0]

        wait_for(
            lambda: len(enqueued()) >= REFRESHES,
            timeout_s=30,
            what=f"{REFRESHES} scheduled refreshes",
            services=system.services,
        )
        # Only at rest may the member's files be counted (an upload briefly holds two).
        system.services.stop("scheduler")
        system.services.stop("scheduler-2")
        done = time.monotonic()
        wait_for(
            lambda: member.get(f"{second_gateway}/api/status").json()["state"] == "done",
            timeout_s=30,
            what="the last refresh to finish",
            services=system.services,
        )
        print(f"last refresh settled after the schedulers stopped: {time.monotonic() - done:.1f} s")

    ticks = enqueued()
    assert all(tick["enqueued"] == 1 for tick in ticks), ticks
    times = sorted(dt.datetime.fromisoformat(tick["timestamp"]) for tick in ticks)
    gaps_s = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    # One tick per interval fleet-wide: the second scheduler's tick in an interval does nothing.
    assert min(gaps_s) > INTERVAL_S * 0.8, gaps_s
    skipped = events(logs / "scheduler.log", "scheduler_tick_skipped")
    assert skipped + events(logs / "scheduler-2.log", "scheduler_tick_skipped")
    # The refreshes read an unchanged history: the file was never uploaded again.
    uploads = [
        e for e in events(logs / "uploader.log", "upload_done") if e["outcome"] == "uploaded"
    ]
    assert len(uploads) == 1, uploads
    assert system.files_of(LOGIN)[0]["id"] == first_file
    assert_holds_ground_truth(system.only_file(LOGIN), system.truth(LOGIN, private=True))
