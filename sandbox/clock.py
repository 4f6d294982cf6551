"""The sandbox clock: real time sped up by ``time_scale`` plus an offset moved by the admin API.

Rate-limit windows, token and URL expiry, and which synthetic activity is visible all read this
clock, so a test can make an hour of GitHub's window pass in a second, or jump a week ahead.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable


class SandboxClock:
    """Sandbox time = start + (real elapsed) x time_scale + offset, continuous across rescaling."""

    def __init__(
        self, *, time_scale: float = 1.0, real_time: Callable[[], float] = time.time
    ) -> None:
        self._real_time = real_time
        self._anchor_real_s = real_time()
        self._anchor_sandbox_s = self._anchor_real_s
        self._time_scale = time_scale
        self.offset_s = 0.0

    @property
    def time_scale(self) -> float:
        return self._time_scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        # Re-anchor so that changing the speed never makes time jump.
        now_real = self._real_time()
        self._anchor_sandbox_s = self._scaled(now_real)
        self._anchor_real_s = now_real
        self._time_scale = value

    def _scaled(self, real_s: float) -> float:
        return self._anchor_sandbox_s + (real_s - self._anchor_real_s) * self._time_scale

    def now_s(self) -> float:
        """Sandbox time in epoch seconds."""
        return self._scaled(self._real_time()) + self.offset_s

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now_s(), tz=dt.UTC)

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long ``sandbox_seconds`` of sandbox time take in real time."""
        return sandbox_seconds / self._time_scale
