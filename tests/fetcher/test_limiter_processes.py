"""Several fetcher processes spending one GitHub user's budget at once, against the sandbox.

The sandbox answers a request that overlaps another of the same user with a secondary limit,
and counts every request received once the budget was spent as a violation: both must stay 0.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

import httpx
import redis

from shared.errors import RateLimited
from shared.github.client import GitHubClient
from shared.github.ratelimit import RateLimiter

PROCESSES = 4
REQUESTS_EACH = 15
BUDGET = 40  # less than the 60 requests the processes want together


def _spend(api_url: str, token: str, user_id: int, redis_url: str, results: Any) -> None:
    limiter = RateLimiter(redis.Redis.from_url(redis_url))
    sent, limited = 0, 0
    with GitHubClient(api_url=api_url, token=token, user_id=user_id, limiter=limiter) as client:
        for _ in range(REQUESTS_EACH):
            try:
                client.get_user()
                sent += 1
            except RateLimited:
                limited += 1
    results.put((sent, limited))


def test_processes_sharing_a_user_never_overlap_and_never_overspend(
    sandbox: httpx.Client, sandbox_base: str, redis_url: str
) -> None:
    sandbox.post(
        "/_sandbox/config", json={"core_limit": BUDGET, "latency_ms": 15, "secondary_limits": True}
    ).raise_for_status()
    token = sandbox.post(
        "/_sandbox/github/tokens", json={"login": "octo-small", "scope": "read:user"}
    ).json()["access_token"]
    user_id = sandbox.get("/_sandbox/github/users/octo-small/truth").json()["github"]["id"]
    # The limiter learns the budget from a first response, as a sync's /user call does.
    limiter = RateLimiter(redis.Redis.from_url(redis_url))
    api_url = f"{sandbox_base}/github-api"
    with GitHubClient(api_url=api_url, token=token, user_id=user_id, limiter=limiter) as client:
        client.get_user()

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_spend, args=(api_url, token, user_id, redis_url, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)

    stats = sandbox.get("/_sandbox/stats", params={"login": "octo-small"}).json()
    assert stats["secondary_limited"] == 0, "two requests of one user overlapped"
    assert stats["violations"] == 0, "a request was sent after the budget was spent"
    sent = 1 + sum(s for s, _ in outcomes)
    assert sent == BUDGET  # every request the budget allowed was used, and not one more
    assert sum(limited for _, limited in outcomes) == PROCESSES * REQUESTS_EACH - (BUDGET - 1)
