"""The shared GitHub rate limiter on a real Redis: headers are the truth, reservations atomic."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time

import pytest
import redis

from shared.errors import RateLimited
from shared.github.ratelimit import RateLimiter

USER_ID = 4242
NAMESPACE = "test"


def headers(remaining: int, reset: int, resource: str = "core") -> dict[str, str]:
    return {
        "x-ratelimit-limit": "5000",
        "x-ratelimit-remaining": str(remaining),
        "x-ratelimit-reset": str(reset),
        "x-ratelimit-used": str(5000 - remaining),
        "x-ratelimit-resource": resource,
    }


@pytest.fixture
def limiter(redis_client: redis.Redis) -> RateLimiter:
    return RateLimiter(redis_client, reserve=2, namespace=NAMESPACE)


def in_an_hour() -> int:
    return int(time.time()) + 3600


def test_reserve_until_remaining_hits_the_reserve(limiter: RateLimiter) -> None:
    reset = in_an_hour()
    limiter.record(USER_ID, headers(remaining=5, reset=reset))
    for _ in range(3):  # 5 remaining, 2 kept in reserve
        limiter.reserve(USER_ID, "core")
    with pytest.raises(RateLimited) as raised:
        limiter.reserve(USER_ID, "core")
    assert raised.value.resets_at == dt.datetime.fromtimestamp(reset, dt.UTC)
    assert raised.value.resource == "core"
    assert limiter.state(USER_ID, "core")["remaining"] == 2


def test_a_new_response_overrides_the_local_count(limiter: RateLimiter) -> None:
    reset = in_an_hour()
    limiter.record(USER_ID, headers(remaining=2, reset=reset))
    with pytest.raises(RateLimited):
        limiter.reserve(USER_ID, "core")
    limiter.record(USER_ID, headers(remaining=100, reset=reset))
    limiter.reserve(USER_ID, "core")
    # ... and another app spending the budget is believed too.
    limiter.record(USER_ID, headers(remaining=0, reset=reset))
    with pytest.raises(RateLimited):
        limiter.reserve(USER_ID, "core")


def test_cost_is_taken_from_the_budget(limiter: RateLimiter) -> None:
    limiter.record(USER_ID, headers(remaining=12, reset=in_an_hour()))
    limiter.reserve(USER_ID, "core", cost=10)
    assert limiter.state(USER_ID, "core")["remaining"] == 2
    with pytest.raises(RateLimited):
        limiter.reserve(USER_ID, "core", cost=1)


def test_a_past_reset_allows_again(limiter: RateLimiter) -> None:
    limiter.record(USER_ID, headers(remaining=0, reset=int(time.time()) - 5))
    limiter.reserve(USER_ID, "core")  # the window has ended: the next response tells the truth


def test_unknown_state_allows(limiter: RateLimiter) -> None:
    limiter.reserve(USER_ID, "core")
    assert limiter.state(USER_ID, "core") == {}


def test_responses_without_rate_limit_headers_are_ignored(limiter: RateLimiter) -> None:
    limiter.record(USER_ID, {"content-type": "application/json"})
    assert limiter.state(USER_ID, "core") == {}


def test_budgets_are_per_resource_and_per_user(limiter: RateLimiter) -> None:
    reset = in_an_hour()
    limiter.record(USER_ID, headers(remaining=0, reset=reset, resource="graphql"))
    limiter.reserve(USER_ID, "core")
    limiter.reserve(USER_ID + 1, "graphql")
    with pytest.raises(RateLimited) as raised:
        limiter.reserve(USER_ID, "graphql")
    assert raised.value.resource == "graphql"


def test_state_expires_in_redis(limiter: RateLimiter, redis_client: redis.Redis) -> None:
    limiter.record(USER_ID, headers(remaining=10, reset=in_an_hour()))
    ttl = redis_client.ttl(f"{NAMESPACE}:ratelimit:{USER_ID}:core")
    assert 0 < ttl <= 2 * 3600


def _reserve_many(url: str, count: int, start: object, results: object) -> None:
    """In a child process: try ``count`` reservations, report how many were allowed."""
    client = redis.Redis.from_url(url)
    limiter = RateLimiter(client, reserve=0, namespace=NAMESPACE)
    start.wait()  # type: ignore[attr-defined]
    allowed = 0
    for _ in range(count):
        try:
            limiter.reserve(USER_ID, "core")
        except RateLimited:
            continue
        allowed += 1
    results.put(allowed)  # type: ignore[attr-defined]
    client.close()


def test_parallel_processes_never_overspend(redis_url: str, redis_client: redis.Redis) -> None:
    RateLimiter(redis_client, namespace=NAMESPACE).record(
        USER_ID, headers(remaining=100, reset=in_an_hour())
    )
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_reserve_many, args=(redis_url, 50, start, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    start.set()
    allowed = [results.get(timeout=30) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sum(allowed) == 100  # 200 attempts against a budget of 100: exactly 100 go
    state = RateLimiter(redis_client, namespace=NAMESPACE).state(USER_ID, "core")
    assert state["remaining"] == 0


def test_serial_never_lets_two_holders_overlap(redis_client: redis.Redis) -> None:
    limiter = RateLimiter(redis_client, namespace=NAMESPACE)
    guard = threading.Lock()
    holders = 0
    most_at_once = 0
    entries = 0
    errors: list[BaseException] = []

    def work() -> None:
        nonlocal holders, most_at_once, entries
        try:
            for _ in range(3):
                with limiter.serial(USER_ID):
                    with guard:
                        holders += 1
                        entries += 1
                        most_at_once = max(most_at_once, holders)
                    time.sleep(0.01)
                    with guard:
                        holders -= 1
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert entries == 12
    assert most_at_once == 1


def test_serial_does_not_block_other_users(redis_client: redis.Redis) -> None:
    limiter = RateLimiter(redis_client, namespace=NAMESPACE)
    with limiter.serial(USER_ID), limiter.serial(USER_ID + 1):
        pass  # would wait MUTEX_WAIT_S if the mutex were global


def test_repeated_secondary_limits_double_the_wait(redis_client: redis.Redis) -> None:
    import httpx

    from shared.github.client import limited_until

    limiter = RateLimiter(redis_client)
    response = httpx.Response(403, json={"message": "You have exceeded a secondary rate limit."})
    waits = []
    for _ in range(3):
        strikes = limiter.secondary_strike(USER_ID)
        until = limited_until(response, secondary_strikes=strikes)
        assert until is not None
        waits.append(round((until - dt.datetime.now(dt.UTC)).total_seconds()))
    assert waits == [60, 120, 240]
    assert limiter.secondary_strike(USER_ID + 1) == 0  # another user starts afresh
