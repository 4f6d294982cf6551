"""A fetcher killed in the middle of a sync: another one finishes it, and nothing is lost."""

from __future__ import annotations

from typing import Any

import pytest

from shared.activity import activity_of
from shared.fileformat import parse
from shared.launcher import service_commands
from tests.e2e.harness import System, wait_for

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

            def done() -> dict[str, Any] | None:
                status = member.get(f"{system.gateway_url}/api/status").json()
                return status if status["state"] == "done" else None

            wait_for(done, timeout_s=150, what="the sync to finish after the crash",
                     services=system.services)  # fmt: skip
        assert commit_pages_served() > killed_at  # the new fetcher did the rest

    files = system.files_of(LOGIN)
    assert len(files) == 1, files
    document = parse(system.file_content(int(files[0]["id"])))
    truth = system.truth(LOGIN, private=True)
    for key, expected in truth["weeks"].items():
        assert activity_of(document["weeks"][key]) == expected, key
