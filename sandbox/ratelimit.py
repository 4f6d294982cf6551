"""GitHub's primary rate limits: a fixed window per user and resource, reset at ``reset_at``.

Windows run on real time, shortened by ``rate_limit_time_scale`` (at 3600 an hour-long window
lasts one real second). ``x-ratelimit-reset`` is told on the sandbox clock, the clock of the
``Date`` header, as github.com tells both on its own clock: a client that measures the wait
against ``Date`` waits the right real time even when the sandbox clock was moved, and one that
compares the reset with its local clock is wrong exactly as it would be against a skewed server.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

# GitHub's windows: an hour for core and GraphQL, a minute for search.
WINDOW_S = {"core": 3600, "graphql": 3600, "search": 60}


@dataclass
class Window:
    limit: int
    used: int
    reset_at_s: int  # real epoch seconds when the budget is restored
    clock_offset_s: float = 0.0  # sandbox clock minus real clock when last looked at

    @property
    def reported_reset_s(self) -> int:
        """The reset on the sandbox clock, as headers and GraphQL tell it."""
        return math.ceil(self.reset_at_s + self.clock_offset_s)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self, resource: str) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reported_reset_s),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": resource,
        }


class RateLimiter:
    """Budgets per (GitHub user id, resource); ``limits`` is shared so config changes apply."""

    def __init__(self, limits: dict[str, int], *, time_scale: float = 1.0) -> None:
        self.limits = limits
        self.time_scale = time_scale
        self._windows: dict[tuple[int, str], Window] = {}

    def window(self, user_id: int, resource: str, sandbox_now_s: float | None = None) -> Window:
        """The user's current window, starting a new one if the previous has reset."""
        now_s = time.time()
        key = (user_id, resource)
        window = self._windows.get(key)
        limit = self.limits[resource]
        if window is None or now_s >= window.reset_at_s:
            window = Window(
                limit=limit,
                used=0,
                reset_at_s=math.ceil(now_s + WINDOW_S.get(resource, 3600) / self.time_scale),
            )
            self._windows[key] = window
        window.limit = limit
        if sandbox_now_s is not None:
            window.clock_offset_s = sandbox_now_s - now_s
        return window

    def advance(self, sandbox_seconds: float) -> None:
        """The sandbox clock jumped ahead: windows end that much (scaled) earlier."""
        # Shifted by the window scale: a jump of a window's length always ends the window.
        for window in self._windows.values():
            window.reset_at_s -= math.ceil(sandbox_seconds / self.time_scale)

    def set_remaining(self, user_id: int, resource: str, remaining: int, now_s: float) -> Window:
        """Drain (or refill) a budget, as another app acting for the same user would."""
        window = self.window(user_id, resource, now_s)
        window.used = max(0, window.limit - remaining)
        return window
