"""A member whose history needs more than one GitHub budget: real workers wait and resume."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.harness import System, assert_holds_ground_truth, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-typical"


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_history_larger_than_a_budget_completes_across_resets(system: System) -> None:
    with system.sandbox() as sandbox:
        # About a fifth of what the member's history needs, with windows of 4 real seconds.
        sandbox.post(
            "/_sandbox/config", json={"core_limit": 10, "rate_limit_time_scale": 900}
        ).raise_for_status()
    states: list[dict[str, Any]] = []
    with system.member_client() as member:
        system.log_in(member, LOGIN, private=True)

        def done() -> bool:
            status = system.status(member)
            states.append(status)
            return bool(status["state"] == "done")

        wait_for(done, timeout_s=150, interval_s=0.2, what="the sync to finish",
                 services=system.services)  # fmt: skip

    waits = [s for s in states if s["state"] == "waiting"]
    assert waits, "the sync never waited for GitHub"
    assert waits[0]["waiting_until"]
    assert "Paused for GitHub's rate limit until" in waits[0]["headline"]
    progress = [s["weeks_done"] for s in states if s["state"] in ("syncing", "waiting")]
    assert progress == sorted(progress), "progress went backwards"

    with system.sandbox() as sandbox:
        stats = sandbox.get("/_sandbox/stats", params={"login": LOGIN}).json()
    assert stats["violations"] == 0
    assert_holds_ground_truth(system.only_file(LOGIN), system.truth(LOGIN, private=True))
