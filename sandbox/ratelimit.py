"""GitHub's primary rate limits: a fixed window per user and resource, reset at ``reset_at``."""

from __future__ import annotations

import math
from dataclasses import dataclass

# GitHub's windows: an hour for core and GraphQL, a minute for search.
WINDOW_S = {"core": 3600, "graphql": 3600, "search": 60}


@dataclass
class Window:
    limit: int
    used: int
    reset_at_s: int  # epoch seconds (sandbox clock) when the budget is restored

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset_at_s),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": resource,
        }


class RateLimiter:
    """Budgets per (GitHub user id, resource); ``limits`` is shared so config changes apply."""

    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self._windows: dict[tuple[int, str], Window] = {}

    def window(self, user_id: int, resource: str, now_s: float) -> Window:
        """The user's current window, starting a new one if the previous has reset."""
        key = (user_id, resource)
        window = self._windows.get(key)
        limit = self.limits[resource]
        if window is None or now_s >= window.reset_at_s:
            window = Window(
                limit=limit, used=0, reset_at_s=math.ceil(now_s) + WINDOW_S.get(resource, 3600)
            )
            self._windows[key] = window
        window.limit = limit
        return window

    def set_remaining(self, user_id: int, resource: str, remaining: int, now_s: float) -> Window:
        """Drain (or refill) a budget, as another app acting for the same user would."""
        window = self.window(user_id, resource, now_s)
        window.used = max(0, window.limit - remaining)
        return window
