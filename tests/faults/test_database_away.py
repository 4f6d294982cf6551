"""PostgreSQL away for 30 s in the middle of a sync: the sync comes back soon after the database
does, spends none of its message's retries, and ends with the member's whole history.

The services reach a database of the test's own through ``CuttableProxy``: ``down()`` drops
every connection (pooled ones included) and refuses new ones, as a database that went away.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from shared import keys, queues
from tests.conftest import PostgresServer, fresh_postgres_database
from tests.e2e.harness import System, assert_holds_ground_truth, wait_for
from tests.faults.proxy import CuttableProxy, proxied

pytestmark = pytest.mark.e2e

LOGIN = "octo-typical"
OUTAGE_S = 30
# Every queue a message of this sync may go to.
QUEUES = (queues.FETCH_QUEUE, queues.RESUMED_FETCH_QUEUE, queues.UPLOAD_QUEUE)


@pytest.fixture
def database_proxy(postgres_server: PostgresServer) -> Iterator[tuple[CuttableProxy, str]]:
    """A fresh database behind a cuttable proxy, and its pooled URL through the proxy."""
    with fresh_postgres_database(postgres_server) as url, proxied(url) as (proxy, through):
        # Pooled, as in production: connections broken by the outage must be replaced.
        yield proxy, through.replace("postgresql://", "postgres+pool://", 1)


@pytest.fixture
def e2e_database_url(database_proxy: tuple[CuttableProxy, str]) -> str:
    return database_proxy[1]


def test_a_sync_comes_back_soon_after_the_database(
    system: System,
    database_proxy: tuple[CuttableProxy, str],
    e2e_redis_url: str,
    tmp_path: Path,
) -> None:
    proxy = database_proxy[0]
    with system.sandbox() as sandbox:
        # Slow answers, so that the sync is surely under way when the database goes.
        sandbox.post("/_sandbox/config", json={"latency_ms": 150}).raise_for_status()

        def requests_served() -> list[str]:
            log = sandbox.get("/_sandbox/requests", params={"login": LOGIN}).json()
            entries = log["requests"] if isinstance(log, dict) else log
            return [r["path"] for r in entries]

        def commit_pages_served() -> int:
            return sum(1 for path in requests_served() if "/commits" in path)

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
    client = redis.Redis.from_url(e2e_redis_url)
    try:
        dead = {queue: client.hlen(keys.dead_messages(queue)) for queue in QUEUES}
    finally:
        client.close()
    assert not any(dead.values()), f"dead-lettered messages: {dead}"
    # An outage is not the sync's failure: Dramatiq's retries (a few, with back-off up to
    # minutes) stay for real ones.
    fetcher_log = (tmp_path / "logs" / "fetcher.log").read_text(errors="replace")
    assert "Retrying message" not in fetcher_log, "the outage spent the sync's retries"
