"""Redis locks that a live holder keeps, and a dead one loses within seconds.

A lock whose TTL had to outlast the longest piece of work done under it (a slow GitHub request,
minutes of a sync) would also keep a crashed process's members blocked for that long. Here one
thread per process renews every held lock every third of its TTL, even while the holder's own
thread is blocked in a request, so the TTL only has to cover noticing a dead process: seconds.
A holder that stalls past its TTL (the renewals failed) finds out with ``check()`` and stops,
since another process may have taken over.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType

import redis
from redis.lock import Lock

from shared.errors import LockLost
from shared.logging import get_logger

log = get_logger(__name__)

# The keeper wakes at least this often, to pick up newly held locks with short TTLs.
MAX_SLEEP_S = 1.0


class KeptLock:
    """A Redis lock renewed in the background while held; a context manager once acquired."""

    def __init__(self, client: redis.Redis, key: str, *, ttl_s: float) -> None:
        self.key = key
        self.ttl_s = ttl_s
        # Not thread-local: the keeper's thread renews what the holder's thread acquired.
        self._lock: Lock = client.lock(key, timeout=ttl_s, thread_local=False)
        self._lost = threading.Event()
        self._held = False

    def acquire(self, *, blocking: bool = False, blocking_timeout: float | None = None) -> bool:
        acquired = bool(self._lock.acquire(blocking=blocking, blocking_timeout=blocking_timeout))
        if acquired:
            self._lost.clear()
            self._held = True
            _keeper().hold(self)
        return acquired

    def release(self) -> None:
        self._held = False
        _keeper().drop(self)
        try:
            self._lock.release()
        except redis.exceptions.LockError:  # lapsed: someone else may hold it by now
            self._lost.set()
            log.warning("lock_lost_before_release", key=self.key)

    def renew(self) -> None:
        """Reset the TTL (the keeper calls this); finding it taken marks the lock lost."""
        try:
            self._lock.reacquire()
        except redis.exceptions.LockError:
            if self._held:  # not merely released meanwhile
                self._lost.set()
                log.warning("lock_lost", key=self.key)
        except redis.exceptions.RedisError as error:  # Redis away: try again next round
            log.warning("lock_renewal_failed", key=self.key, error=type(error).__name__)

    def check(self) -> None:
        """Raise ``LockLost`` if the lock lapsed while held (this process stalled)."""
        if self._lost.is_set():
            raise LockLost(f"lost the lock {self.key}")

    def __enter__(self) -> KeptLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class _Keeper:
    """The process's one renewing thread; it runs only while some lock is held."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[KeptLock, float]] = {}  # id -> (lock, next renewal)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def hold(self, lock: KeptLock) -> None:
        with self._changed:
            self._held[id(lock)] = (lock, time.monotonic() + lock.ttl_s / 3)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lock-keeper", daemon=True)
                self._thread.start()
            self._changed.notify()

    def drop(self, lock: KeptLock) -> None:
        with self._changed:
            self._held.pop(id(lock), None)

    def _run(self) -> None:
        while True:
            with self._changed:
                if not self._held:
                    self._thread = None
                    return
                now = time.monotonic()
                due = [lock for lock, at in self._held.values() if at <= now]
                for lock in due:
                    self._held[id(lock)] = (lock, now + lock.ttl_s / 3)
                next_at = min(at for _, at in self._held.values())
            for lock in due:  # outside the condition: a slow Redis must not block holders
                lock.renew()
            with self._changed:
                self._changed.wait(timeout=min(MAX_SLEEP_S, max(0.0, next_at - time.monotonic())))


_the_keeper = _Keeper()


def _keeper() -> _Keeper:
    return _the_keeper
