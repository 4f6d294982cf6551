"""PostgreSQL away for 30 s in the middle of a sync: the sync comes back soon after the database
does, spends none of its message's retries, and ends with the member's whole history.

The services reach a database of the test's own through ``CuttableProxy``: ``down()`` drops
every connection (pooled ones included) and refuses new ones, as a database that went away.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import PostgresServer
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for
from tests.faults.proxy import CuttableProxy, pooled_database_behind_proxy

pytestmark = pytest.mark.e2e

LOGIN = "octo-typical"
OUTAGE_S = 30


@pytest.fixture
def database_proxy(postgres_server: PostgresServer) -> Iterator[tuple[CuttableProxy, str]]:
    """A fresh database behind a cuttable proxy, and its pooled URL through the proxy."""
    with pooled_database_behind_proxy(postgres_server) as proxy_and_url:
        yield proxy_and_url


@pytest.fixture
def e2e_database_url(database_proxy: tuple[CuttableProxy, str]) -> str:
    return database_proxy[1]


def test_a_sync_comes_back_soon_after_the_database(
    system: System,
    database_proxy: tuple[CuttableProxy, str],
    e2e_redis_url: str,
) -> None:
    proxy = database_proxy[0]
    with system.sandbox() as sandbox:
        # Slow answers, so that the sync is surely under way when the database goes.
        sandbox.post("/_sandbox/config", json={"latency_ms": 150}).raise_for_status()

        def requests_served() -> list[dict[str, object]]:
            return system.requests_served(LOGIN)

        def commit_pages_served() -> int:
            return len(system.commit_pages_served(LOGIN))

        with system.member_client() as member:
            system.log_in(member, LOGIN, private=True)
            wait_for(lambda: commit_pages_served() >= 5, timeout_s=60, what="the sync under way")
            proxy.down()
            down_at_s = time.monotonic()
            # The sync fails at its next write. The member is told to try again shortly: a
            # 503 with a page in words (never a 500 or a traceback), on every path they use.
            for path in ("/dashboard", "/api/status"):
                answer = member.get(f"{system.gateway_url}{path}")
                assert answer.status_code == 503, (path, answer.status_code, answer.text[:300])
                assert "Traceback" not in answer.text
            assert "try again in a minute" in member.get(f"{system.gateway_url}/dashboard").text
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at_s)))
            requests_at_return = len(requests_served())
            proxy.up()
            returned_at_s = time.monotonic()
            # The sync runs again: its first step is a GitHub request (``/user``).
            wait_for(
                lambda: len(requests_served()) > requests_at_return,
                timeout_s=90,
                interval_s=0.2,
                what="the sync to go on after the database came back",
                services=system.services,
            )
            # Measured, not asserted (docs/RELIABILITY.md).
            recovery_s = time.monotonic() - returned_at_s
            print(f"recovery after database away {OUTAGE_S} s: {recovery_s:.1f} s")
            system.wait_until_done(member, what="the sync to finish", timeout_s=150)

    assert_holds_ground_truth(system.only_file(LOGIN), system.truth(LOGIN, private=True))
    system.assert_no_retry_spent(e2e_redis_url, by="the outage")
