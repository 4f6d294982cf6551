"""The scheduler refreshes a synced member on its own, and the member still has one file."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from launcher.services import ROOT, sandbox_env, service_commands
from tests.e2e.harness import System, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-small"
# The ways the scheduler is stopped: Ctrl-C under `make run` (the terminal sends SIGINT to the
# group, then the launcher sends SIGTERM), `kill` or Kubernetes, and Ctrl-C on it alone.
STOPS = {
    "ctrl-c-under-make-run": (signal.SIGINT, signal.SIGTERM),
    "sigterm": (signal.SIGTERM,),
    "ctrl-c": (signal.SIGINT,),
}
# The launcher's SIGTERM follows the terminal's SIGINT by about this much.
SIGNAL_GAP_S = 0.01
# Starts and stops per way: a stop that hangs only sometimes (a race) needs a few tries.
ATTEMPTS = 4


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
        system.log_in(member, LOGIN, private=True)
        first = system.wait_until_done(member, what="the first sync", timeout_s=60)
        first_synced_at = dt.datetime.fromisoformat(first["last_synced_at"])
        assert len(system.files_of(LOGIN)) == 1

        # ServiceSet passes its env dict to every process it starts; System.env is that dict.
        system.env["SCHEDULER_INTERVAL"] = "2s"
        system.env["STALE_AFTER"] = "1s"
        system.services.start("scheduler", service_commands()["scheduler"])

        def refreshed() -> dt.datetime | None:
            synced_at = system.status(member)["last_synced_at"]
            later = dt.datetime.fromisoformat(synced_at) if synced_at else None
            return later if later is not None and later > first_synced_at else None

        wait_for(refreshed, timeout_s=30, what="a scheduled refresh", services=system.services)
        # Stop the scheduler so no further refresh starts, then let the one running finish:
        # only at rest may the member's files be counted (an upload briefly holds two).
        system.services.stop("scheduler")
        system.wait_until_done(member, what="the refresh to finish", timeout_s=30)

    assert ticks_that_enqueued(tmp_path / "logs" / "scheduler.log") >= 1
    files = system.files_of(LOGIN)
    assert len(files) == 1, files


@pytest.mark.parametrize("signals", STOPS.values(), ids=STOPS.keys())
def test_the_scheduler_stops_at_once_and_cleanly(
    e2e_redis_url: str, tmp_path: Path, signals: tuple[signal.Signals, ...]
) -> None:
    env = {
        **os.environ,
        **sandbox_env("http://127.0.0.1:9"),  # never called: no member is stale
        "DATABASE_URL": f"sqlite:///{tmp_path}/scheduler.sqlite3",
        "REDIS_URL": e2e_redis_url,
        "PYTHONUNBUFFERED": "1",
    }
    for attempt in range(ATTEMPTS):
        log_path = tmp_path / f"scheduler-{attempt}.log"
        returncode = start_and_stop_scheduler(env, log_path=log_path, signals=signals)
        # 0, not -15: the signal was handled and the scheduler shut down, not killed by it.
        assert returncode == 0, (attempt, returncode, log_path.read_text())


def start_and_stop_scheduler(
    env: dict[str, str], *, log_path: Path, signals: tuple[signal.Signals, ...]
) -> int:
    """Start ``python -m scheduler``, send ``signals`` after its first tick; its exit status."""
    with log_path.open("wb") as output:
        process = subprocess.Popen(
            service_commands()["scheduler"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        # After its first tick it is idle between ticks, where a Ctrl-C usually lands.
        wait_for(
            lambda: process.poll() is not None or '"scheduler_tick' in log_path.read_text(),
            timeout_s=30,
            interval_s=0.1,
            what="the scheduler's first tick",
        )
        assert process.poll() is None, log_path.read_text()
        for number in signals:
            process.send_signal(number)
            time.sleep(SIGNAL_GAP_S)
        try:
            return process.wait(10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 10 s after {signals}:\n{log_path.read_text()}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
