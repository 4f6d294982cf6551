"""GitHub's primary limits, shared by every fetcher process through Redis.

GitHub's headers are the truth (other apps spend the same per-user budget), so the state is
overwritten from every response; between responses a Lua script reserves requests atomically so
that parallel fetchers never send a request once the budget (less a reserve) is spent. A per-user
mutex keeps one user's requests serial across the fleet, as GitHub asks.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources

import redis

from shared import keys
from shared.errors import RateLimited
from shared.locks import KeptLock

_RESERVE_SCRIPT = resources.files("shared.github").joinpath("reserve.lua").read_text()
# A dead fetcher's hold on a GitHub user's mutex lapses after this (a live one renews it).
MUTEX_TTL_S = 10
# Secondary limits are remembered this long: a strike within it doubles the next wait.
SECONDARY_STRIKE_MEMORY_S = 3600


class RateLimiter:
    def __init__(
        self,
        client: redis.Redis,
        *,
        reserve: int = 0,
        request_timeout_s: float = 30,
        namespace: str = keys.NAMESPACE,
    ) -> None:
        self._redis = client
        self._reserve = reserve
        # The mutex is held for one request and kept alive meanwhile (shared.locks): a holder
        # that died loses it within MUTEX_TTL_S; a live one may hold it a whole request long.
        self.mutex_wait_s = request_timeout_s * 1.5 + MUTEX_TTL_S
        self._namespace = namespace
        self._reserve_script = client.register_script(_RESERVE_SCRIPT)

    def _key(self, user_id: int, resource: str) -> str:
        return keys.rate_limit(user_id, resource, namespace=self._namespace)

    def reserve(self, user_id: int, resource: str, *, cost: int = 1) -> None:
        """Take ``cost`` from the user's budget, or raise ``RateLimited`` until it resets."""
        allowed, reset = self._reserve_script(
            keys=[self._key(user_id, resource)], args=[int(time.time()), self._reserve, cost]
        )
        if not allowed:
            raise RateLimited(
                dt.datetime.fromtimestamp(int(reset), dt.UTC),
                resource=resource,
                reason="budget spent (local state)",
            )

    def record(self, user_id: int, headers: Mapping[str, str]) -> None:
        """Store the budget GitHub reported in a response's ``x-ratelimit-*`` headers."""
        if "x-ratelimit-remaining" not in headers or "x-ratelimit-reset" not in headers:
            return
        resource = headers.get("x-ratelimit-resource", "core")
        key = self._key(user_id, resource)
        self._redis.hset(
            key,
            mapping={
                "remaining": int(headers["x-ratelimit-remaining"]),
                "reset": int(headers["x-ratelimit-reset"]),
                "limit": int(headers.get("x-ratelimit-limit", 0)),
            },
        )
        self._redis.expire(key, 2 * 3600)

    def secondary_strike(self, user_id: int) -> int:
        """Count a secondary limit for the user; returns how many came before it.

        Each strike within an hour of the previous doubles the wait (GitHub warns that an
        integration that keeps requesting while limited may be banned).
        """
        key = keys.secondary_strikes(user_id, namespace=self._namespace)
        pipe = self._redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, SECONDARY_STRIKE_MEMORY_S)
        count, _ = pipe.execute()
        return int(count) - 1

    def state(self, user_id: int, resource: str) -> dict[str, int]:
        raw = self._redis.hgetall(self._key(user_id, resource))
        return {k.decode(): int(v) for k, v in raw.items()}  # type: ignore[union-attr]

    @contextmanager
    def serial(self, user_id: int) -> Iterator[None]:
        """Hold the user's mutex for one request, so one user's requests never overlap."""
        lock = KeptLock(
            self._redis,
            keys.github_user_mutex(user_id, namespace=self._namespace),
            ttl_s=MUTEX_TTL_S,
        )
        if not lock.acquire(blocking=True, blocking_timeout=self.mutex_wait_s):
            raise TimeoutError(f"GitHub user {user_id}: the previous request is still running")
        with lock:
            yield
