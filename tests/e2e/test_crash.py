"""A fetcher killed in the middle of a sync: another one finishes it, and nothing is lost."""

from __future__ import annotations

import pytest

from launcher.services import service_commands
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-typical"


@pytest.fixture
def extra_env() -> dict[str, str]:
    # A crashed fetcher's holds lapse within seconds here (the sandbox answers fast).
    return {"SYNC_LOCK_TTL": "10s", "HTTP_TIMEOUT": "3s"}


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_sync_survives_its_fetcher_being_killed(system: System) -> None:
    with system.sandbox() as sandbox:
        # Slow answers, so that the sync is surely half done when the fetcher dies.
        sandbox.post("/_sandbox/config", json={"latency_ms": 150}).raise_for_status()

        def commit_pages_served() -> int:
            log = sandbox.get("/_sandbox/requests", params={"login": LOGIN}).json()
            entries = log["requests"] if isinstance(log, dict) else log
            return sum(1 for r in entries if "/commits" in r["path"] and r["status"] == 200)

        with system.member_client() as member:
            system.log_in(member, LOGIN, private=True)
            wait_for(lambda: commit_pages_served() >= 5, timeout_s=60, what="the sync under way")
            system.services.kill("fetcher")
            killed_at = commit_pages_served()
            system.services.start("fetcher", service_commands(processes=1, threads=2)["fetcher"])
            system.wait_until_done(member, what="the sync to finish after the crash", timeout_s=150)
        assert commit_pages_served() > killed_at  # the new fetcher did the rest

    assert_holds_ground_truth(system.only_file(LOGIN), system.truth(LOGIN, private=True))
