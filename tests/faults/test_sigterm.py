"""SIGTERM to the fetcher in the middle of a sync (a deploy, a scale-down): the worker exits at
once, handing its sync back to the queue, and a restarted fetcher continues from the pages
already read; the member ends with their whole history in one file."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from launcher.services import service_commands
from shared.worker import WORKER_SHUTDOWN_TIMEOUT_MS
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for

pytestmark = pytest.mark.e2e

LOGIN = "octo-heavy"
# A worker holding a sync must exit well within Dramatiq's shutdown timeout: the sync is handed
# back, not finished, and Kubernetes' grace period is not spent waiting for it.
PROMPT_EXIT_S = WORKER_SHUTDOWN_TIMEOUT_MS / 1000 / 3
# GitHub's answers while the signal comes: ~250 requests are left, over a minute at this pace.
SLOW_LATENCY_MS = 300


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_stopped_fetcher_hands_its_sync_back(system: System, e2e_redis_url: str) -> None:
    with system.sandbox() as sandbox:

        def answer_in(latency_ms: int) -> None:
            sandbox.post("/_sandbox/config", json={"latency_ms": latency_ms}).raise_for_status()

        def commit_pages() -> list[str]:
            return system.commit_pages_served(LOGIN)

        with system.member_client() as member:
            system.log_in(member, LOGIN, private=True)
            wait_for(lambda: len(commit_pages()) >= 5, timeout_s=90, what="the sync under way")
            # Slow answers from now: what is left of the sync would outlast the shutdown timeout.
            answer_in(SLOW_LATENCY_MS)
            signalled_at_s = time.monotonic()
            system.services.stop("fetcher")  # SIGTERM, then waits for the process to exit
            exit_s = time.monotonic() - signalled_at_s
            print(f"fetcher exit after SIGTERM: {exit_s:.1f} s")
            pages_at_exit = len(commit_pages())
            answer_in(0)
            system.services.start("fetcher", service_commands(processes=1, threads=2)["fetcher"])
            restarted_at_s = time.monotonic()
            wait_for(
                lambda: len(commit_pages()) > pages_at_exit,
                timeout_s=90,
                interval_s=0.2,
                what="the sync to go on in the restarted fetcher",
                services=system.services,
            )
            recovery_s = time.monotonic() - restarted_at_s
            print(f"recovery after SIGTERM (restart to progress): {recovery_s:.1f} s")
            system.wait_until_done(member, what="the sync to finish", timeout_s=240)
            pages = commit_pages()

    assert exit_s < PROMPT_EXIT_S, f"the fetcher took {exit_s:.1f} s to stop"
    assert_holds_ground_truth(system.only_file(LOGIN), system.truth(LOGIN, private=True))
    # The restarted fetcher continued from the pages already read: none was read twice.
    read_twice = [path for path, count in Counter(pages).items() if count > 1]
    assert not read_twice, f"commit pages read again: {read_twice}"
    system.assert_no_retry_spent(e2e_redis_url, by="the stop")
