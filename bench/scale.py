"""Many members connecting at once, synced by real Dramatiq workers: wall time against its bound.

The sandbox, the fetcher and the uploader run as their own processes (the commands of
``launcher.services``), on the bench's Redis database and a SQLite file. A few heavy members are
queued first, then many typical and small ones (one typical for two small), as the gateway queues
a member who connects GitHub; the run ends when every member's file is uploaded. Each member's
budget is small (75 core requests per 30-second window) so that a heavy member needs several
windows, while the members queued after it keep the fetcher threads busy for longer than a
window, as on a busy day: then the order in which re-sent syncs run decides the wall time.

The bound (bench/README.md) is the larger of two floors: the slowest member's own floor (the
rate limit's windows it must wait for, after the time the sandbox took to answer its
contribution queries, which come before its first commit listing), and the fleet's: the time
the fetcher threads spent running syncs (Dramatiq's own measure of each message), spread over
the threads. The sandbox's CPU time and every request's latency over the threads are shown too.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from launcher.services import ServiceSet, sandbox_env, service_commands, wait_http
from sandbox.server import free_port
from shared import keys, queues
from shared.crypto import TokenCipher
from shared.db import Member, close_database, connection, init_database, transition, utcnow
from shared.openhumans.tokens import store_tokens
from shared.settings import DEV_TOKEN_KEY
from shared.syncstate import SyncState

# Members of the run; the first HEAVY are heavy, the others typical and small (1 to 2).
MEMBERS = int(os.environ.get("BENCH_SCALE_MEMBERS", "180"))
HEAVY = int(os.environ.get("BENCH_SCALE_HEAVY", "3"))
# Fetcher worker threads (one process): few enough that the syncs queued after the heavy
# members outlast a rate-limit window; more than the heavy members, so all of them start at once.
THREADS = int(os.environ.get("BENCH_SCALE_THREADS", "4"))
# Time GitHub takes to answer, added by the sandbox to every API request.
LATENCY_MS = int(os.environ.get("BENCH_SCALE_LATENCY_MS", "100"))
# Each member's budget: a heavy member needs five windows.
CORE_LIMIT = 75
WINDOW_S = 30.0
SCOPE = "repo read:user"
# Members whose backfill the estimate of fetcher threads is for, in one day.
DAILY_BACKFILLS = 50_000
DAY_S = 86_400
# Give up (and fail the bench) after this many times the bound.
GIVE_UP_RATIO = 6


@dataclass
class ScaleFigures:
    members: int
    threads: int
    latency_ms: int
    wall_s: float
    bound_s: float
    member_bound_s: float  # the slowest member's own floor (member_floor_s)
    capacity_bound_s: float  # busy_s spread over the threads
    busy_s: float  # thread time spent running sync messages
    latency_floor_s: float  # every request's latency spread over the threads
    sandbox_cpu_s: float
    requests: int  # charged by the sandbox, every member
    requests_by_profile: dict[str, float]  # average per member
    violations: int
    redis_bytes: int
    redis_bytes_by_kind: dict[str, int]
    slowest: str  # the member who finished last
    slowest_bound: str  # the member with the largest floor

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s

    @property
    def redis_bytes_per_member(self) -> float:
        return self.redis_bytes / self.members

    @property
    def busy_s_per_request(self) -> float:
        """Fetcher thread time per GitHub request: the latency, the sandbox's and our own time."""
        return self.busy_s / self.requests

    @property
    def daily_threads(self) -> float:
        """Fetcher threads that DAILY_BACKFILLS backfills of this run's mix keep busy all day."""
        per_member = self.requests / self.members
        return DAILY_BACKFILLS * per_member * self.busy_s_per_request / DAY_S


def member_floor_s(*, core: int, requests: int, contributions_s: float, latency_s: float) -> float:
    """The least time one member's sync can take, given how long its contribution queries took.

    Its first request (``/user``) opens its first window of CORE_LIMIT core requests; its
    contribution queries (GraphQL, ``contributions_s`` as the sandbox answered them) come before
    its first commit listing. A member's requests go one after the other, each taking at least
    the latency, so its first window holds only the listings that fit in the time left of it
    after the contribution queries (none if they outlast it: the count then restarts when they
    end). Each later window starts when the one before ends, holds CORE_LIMIT requests, and the
    requests of the last one take at least the latency each; every request does too. Request
    time beyond the latency, and the upload, are not counted.
    """
    listings = max(core - 1, 0)
    in_first = 0  # listings that fit in the first window after the contribution queries
    if contributions_s < WINDOW_S:
        time_left_s = WINDOW_S - contributions_s
        fitting = int(time_left_s / latency_s) if latency_s > 0 else CORE_LIMIT
        in_first = min(CORE_LIMIT - 1, fitting)
    later = max(listings - in_first, 0)
    if later == 0:
        end_s = contributions_s + listings * latency_s
    else:
        windows = math.ceil(later / CORE_LIMIT)
        start_of_last = max(WINDOW_S, contributions_s) + (windows - 1) * WINDOW_S
        end_s = start_of_last + (later - (windows - 1) * CORE_LIMIT) * latency_s
    return max(end_s, requests * latency_s)


def _contributions_s(entries: list[dict[str, Any]]) -> float:
    """From a member's first request to its first commit listing, by the sandbox's log."""
    if not entries:
        return 0.0
    first = dt.datetime.fromisoformat(entries[0]["at"].replace("Z", "+00:00"))
    for entry in entries:
        if "/commits" in entry["path"]:
            listed = dt.datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
            return (listed - first).total_seconds()
    return 0.0


def _redis_usage(client: redis.Redis) -> tuple[int, dict[str, int]]:
    """Bytes Redis holds for every key of the database (MEMORY USAGE), and by kind of key."""
    total, kinds = 0, Counter[str]()
    for key in client.scan_iter(count=1000):
        size = int(client.memory_usage(key) or 0)
        parts = key.decode().split(":")
        kinds[parts[1] if len(parts) > 2 else "dramatiq"] += size
        total += size
    return total, dict(kinds)


def _profile(index: int, heavy: int) -> str:
    if index < heavy:
        return "heavy"
    return "typical" if (index - heavy) % 3 == 0 else "small"


def _connect_members(
    sandbox: httpx.Client, cipher: TokenCipher, count: int, heavy: int
) -> dict[str, str]:
    """Sandbox users with tokens, and their member rows; returns login -> profile."""
    profiles = {}
    for index in range(count):
        login, profile = f"scale-{index:05d}", _profile(index, heavy)
        created = sandbox.post("/_sandbox/github/users", json={"login": login, "profile": profile})
        created.raise_for_status()
        github = sandbox.post("/_sandbox/github/tokens", json={"login": login, "scope": SCOPE})
        oh = sandbox.post("/_sandbox/openhumans/tokens", json={"username": login}).json()
        member = Member(
            oh_member_id=oh["project_member_id"],
            oh_username=login,
            github_id=created.json()["id"],
            github_login=login,
            github_token=cipher.encrypt(github.json()["access_token"]),
            github_scopes=SCOPE,
            sync_state=SyncState.IDLE,
        )
        store_tokens(member, oh, cipher)
        member.save()
        profiles[login] = profile
    return profiles


def _busy_s(metrics_url: str) -> float:
    """Thread time the fetcher spent running sync messages, from its Prometheus metrics."""
    text = httpx.get(metrics_url, timeout=10).text
    total_ms = 0.0
    for line in text.splitlines():
        if line.startswith("dramatiq_message_duration_milliseconds_sum{"):
            total_ms += float(line.rsplit(" ", 1)[1])
    return total_ms / 1000


def _wait_for_workers(client: redis.Redis, count: int, *, timeout_s: float = 60) -> None:
    """Until ``count`` worker processes have announced themselves to the broker."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.zcard(f"{keys.NAMESPACE}:__heartbeats__") >= count:
            return
        time.sleep(0.2)
    raise TimeoutError("the workers did not start")


def run(
    *,
    members: int = MEMBERS,
    heavy: int = HEAVY,
    threads: int = THREADS,
    latency_ms: int = LATENCY_MS,
) -> ScaleFigures:
    from bench.fetch import BENCH_REDIS_URL

    client = redis.Redis.from_url(BENCH_REDIS_URL)
    client.flushdb()
    with tempfile.TemporaryDirectory() as folder:
        log_dir = Path(os.environ.get("BENCH_LOG_DIR") or Path(folder) / "logs")
        database_url = f"sqlite:///{Path(folder) / 'scale.sqlite3'}"
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = {
            **os.environ,
            **sandbox_env(sandbox_url),
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": database_url,
            "REDIS_URL": BENCH_REDIS_URL,
            "TOKEN_ENCRYPTION_KEYS": DEV_TOKEN_KEY,
            "GITHUB_RESERVE": "0",
            "LOG_LEVEL": "INFO",
        }
        services = ServiceSet(env=env, log_dir=log_dir)
        try:
            services.start(
                "sandbox", [sys.executable, "-m", "sandbox", "--port", str(sandbox_port)]
            )
            wait_http(f"{sandbox_url}/_sandbox/clock")
            sandbox = httpx.Client(base_url=sandbox_url, timeout=120)
            sandbox.post(
                "/_sandbox/config",
                json={
                    "core_limit": CORE_LIMIT,
                    "rate_limit_time_scale": 3600 / WINDOW_S,
                    "latency_ms": latency_ms,
                },
            ).raise_for_status()
            init_database(database_url)
            queues.setup_broker(BENCH_REDIS_URL)
            with connection():
                profiles = _connect_members(sandbox, TokenCipher(DEV_TOKEN_KEY), members, heavy)
                ids = [m.id for m in Member.select(Member.id).order_by(Member.id)]
            fetcher = service_commands(processes=1, threads=threads)["fetcher"]
            uploader = service_commands(processes=1, threads=2)["uploader"]
            metrics_port = free_port()
            services.env = {**env, "WORKER_METRICS_PORT": str(metrics_port)}
            services.start("fetcher", fetcher)
            services.env = env
            services.start("uploader", uploader)
            metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
            wait_http(metrics_url)
            _wait_for_workers(client, 2)
            sandbox_process = psutil.Process(services.processes["sandbox"].pid)
            cpu_before = sum(sandbox_process.cpu_times()[:2])
            started = time.monotonic()
            with connection():
                for member_id in ids:  # as the gateway does when a member connects GitHub
                    transition(member_id, SyncState.QUEUED, sync_requested_at=utcnow())
                    queues.send_sync(member_id)
            finished: dict[str, float] = {}
            while len(finished) < len(ids):
                if services.dead():
                    raise RuntimeError(f"a service died: {services.dead()} (logs in {log_dir})")
                with connection():
                    done = Member.select(Member.github_login).where(
                        Member.sync_state == SyncState.DONE.value
                    )
                    for row in done:
                        finished.setdefault(row.github_login, time.monotonic() - started)
                if time.monotonic() - started > GIVE_UP_RATIO * 300:
                    raise TimeoutError(f"{len(ids) - len(finished)} members never finished")
                time.sleep(0.25)
            wall_s = max(finished.values())
            busy_s = _busy_s(metrics_url)
            sandbox_cpu_s = sum(sandbox_process.cpu_times()[:2]) - cpu_before
            floors, charged = {}, {}
            for login in profiles:
                stats = sandbox.get("/_sandbox/stats", params={"login": login}).json()
                entries = sandbox.get("/_sandbox/requests", params={"login": login}).json()
                charged[login] = int(stats["requests"])
                floors[login] = member_floor_s(
                    core=int(stats["counted_by_resource"].get("core", 0)),
                    requests=charged[login],
                    contributions_s=_contributions_s(entries["requests"]),
                    latency_s=latency_ms / 1000,
                )
            violations = int(sandbox.get("/_sandbox/stats").json()["violations"])
            sandbox.close()
            redis_bytes, by_kind = _redis_usage(client)
        finally:
            services.stop()
            close_database()
    member_bound = max(floors.values())
    capacity_bound = busy_s / threads
    by_profile: dict[str, list[int]] = {}
    for login, profile in profiles.items():
        by_profile.setdefault(profile, []).append(charged[login])
    client.flushdb()
    return ScaleFigures(
        members=members,
        threads=threads,
        latency_ms=latency_ms,
        wall_s=wall_s,
        bound_s=max(member_bound, capacity_bound),
        member_bound_s=member_bound,
        capacity_bound_s=capacity_bound,
        busy_s=busy_s,
        latency_floor_s=sum(charged.values()) * latency_ms / 1000 / threads,
        sandbox_cpu_s=sandbox_cpu_s,
        requests=sum(charged.values()),
        requests_by_profile={p: sum(n) / len(n) for p, n in sorted(by_profile.items())},
        violations=violations,
        redis_bytes=redis_bytes,
        redis_bytes_by_kind=by_kind,
        slowest=max(finished, key=lambda login: finished[login]),
        slowest_bound=max(floors, key=lambda login: floors[login]),
    )


def describe(figures: ScaleFigures) -> str:
    per_profile = ", ".join(f"{p} {n:.0f}" for p, n in figures.requests_by_profile.items())
    return (
        f"scale: {figures.members} members, {figures.threads} fetcher threads, "
        f"{figures.latency_ms} ms latency: {figures.wall_s:.1f} s; bound {figures.bound_s:.1f} s "
        f"(slowest member's floor {figures.member_bound_s:.1f} ({figures.slowest_bound}), "
        f"fleet {figures.capacity_bound_s:.1f}; latency over threads "
        f"{figures.latency_floor_s:.1f}, sandbox CPU {figures.sandbox_cpu_s:.1f}); "
        f"{figures.requests} requests "
        f"(per member: {per_profile}); {figures.violations} violations; "
        f"last to finish {figures.slowest}"
    )


def main() -> None:
    figures = run()
    print(describe(figures))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(figures.redis_bytes_by_kind.items()))
    print(f"scale redis bytes: {figures.redis_bytes} ({kinds})")
    per_member = figures.requests / figures.members
    print(
        f"scale fetcher threads for {DAILY_BACKFILLS} backfills a day: "
        f"{figures.daily_threads:.1f} (= {DAILY_BACKFILLS} x {per_member:.1f} requests x "
        f"{figures.busy_s_per_request:.3f} s of thread time each / {DAY_S} s)"
    )
    print(f"scale time ratio: {figures.ratio:.2f}")
    print(f"redis bytes per member: {figures.redis_bytes_per_member:.0f}")


if __name__ == "__main__":
    main()
