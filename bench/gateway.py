"""The gateway under load, beside a bare Starlette app served by uvicorn with the same settings.

For each database (a SQLite file, and PostgreSQL through ``postgres+pool://``) the real gateway
(``python -m gateway``) runs as its own process over a table of many members, one of them logged
in through the real Open Humans login against the sandbox. Its dashboard and ``/api/status`` are
loaded by ``bench.load`` (closed loop, 50 connections) and so is the bare app (``bench.bare``)
answering bodies of the same sizes, one right after the other; then each path is loaded at a fixed
rate to read the latency's 99th percentile. See bench/README.md for the definitions.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil

from bench.load import LoadResult, merged, run_load, run_rate
from bench.merge import synthetic_history
from launcher.services import ServiceSet, sandbox_env, wait_http
from sandbox.config import SandboxConfig
from sandbox.server import free_port, run_in_thread
from shared.activity import ACTIVITY_KINDS
from shared.db import Member, connection, init_database
from shared.fileformat import build_document, serialise
from shared.history import history_of
from shared.syncstate import SyncState

HOST = "127.0.0.1"
# Members in the table beside the one who is logged in (the title's fleet: 50,000).
TABLE_MEMBERS = int(os.environ.get("BENCH_GATEWAY_MEMBERS", "50000"))
# Closed-loop connections of the throughput runs: the "50 users".
CONNECTIONS = 50
# Seconds of load per app and path, in ROUNDS slices alternating between the gateway and the bare
# app, so that both meet the same background load of a shared machine.
DURATION_S = float(os.environ.get("BENCH_GATEWAY_SECONDS", "6"))
ROUNDS = 6
# Fixed rate of the latency runs: 1,000 members watching their dashboard at once, each polling
# /api/status every 5 s (dashboard.js), is 200 requests per second.
LATENCY_RATE_PER_S = 200.0
POSTGRES_CANDIDATES = [
    url
    for url in (
        os.environ.get("BENCH_POSTGRES_URL", ""),
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://root@127.0.0.1:5432/postgres",
    )
    if url
]
_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"", re.IGNORECASE)
_HIDDEN = re.compile(
    r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", re.IGNORECASE
)


@dataclass
class PathFigures:
    gateway: LoadResult
    bare: LoadResult
    fixed_rate: LoadResult  # the gateway at LATENCY_RATE_PER_S
    bare_fixed_rate: LoadResult  # the bare app at the same rate: the machine's own floor
    gateway_cpu_s: float  # the gateway process's CPU time (all threads) during ``gateway``

    @property
    def cpu_us_per_answer(self) -> float:
        return self.gateway_cpu_s / self.gateway.requests * 1e6

    @property
    def ratio(self) -> float:
        return self.gateway.throughput / self.bare.throughput


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL server, dropped afterwards."""
    import psycopg2

    errors = []
    for candidate in POSTGRES_CANDIDATES:
        try:
            admin = psycopg2.connect(candidate, connect_timeout=2)
        except psycopg2.OperationalError as error:
            errors.append(f"{candidate}: {str(error).strip()}")
            continue
        admin.autocommit = True
        name = f"ohgithub_bench_{uuid.uuid4().hex[:12]}"
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            parts = urlsplit(candidate)
            yield urlunsplit(parts._replace(scheme="postgres+pool", path=f"/{name}"))
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        return
    raise RuntimeError("PostgreSQL is not reachable: " + "; ".join(errors))


def _seed(database_url: str, count: int) -> None:
    """``count`` connected members who are up to date, as a large deployment holds."""
    database = init_database(database_url)
    now = "2026-11-30 08:00:00"
    rows = [
        {
            "oh_member_id": f"bench-{index:08d}",
            "oh_username": f"bench-{index}",
            "github_id": 10_000_000 + index,
            "github_login": f"bench-{index}",
            "github_token": "x",
            "sync_state": SyncState.DONE.value,
            "last_synced_at": now,
        }
        for index in range(count)
    ]
    with connection(), database.atomic():
        for start in range(0, len(rows), 500):
            Member.insert_many(rows[start : start + 500]).execute()


def _submit_form(client: httpx.Client, page: httpx.Response, login: str) -> httpx.Response:
    """Press "Authorize" on the sandbox's consent page, as a member would."""
    match = _FORM.search(page.text)
    if match is None:
        raise RuntimeError(f"no form on {page.url}")
    data = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    data["login"] = login
    return client.post(str(page.url.join(html.unescape(match.group(1)))), data=data)


def _log_in(gateway_url: str, login: str) -> str:
    """Log in with Open Humans through the gateway; returns the session's Cookie header."""
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        dashboard = _submit_form(client, client.get(f"{gateway_url}/login"), login)
        if dashboard.url.path != "/dashboard":
            raise RuntimeError(f"login ended at {dashboard.url}")
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def synced_member(login: str) -> dict[str, Any]:
    """The fields of a member with a synced file of three years: the dashboard draws its
    heatmap, weekly chart, yearly totals and preview from the file's digest, as the uploader
    stores it."""
    weeks = synthetic_history(commits=1558, years=3, items=130)
    document = build_document(github={"id": 583231, "login": login}, weeks=weeks)
    coverage = document["coverage"]
    counts = {kind: sum(len(week[kind]) for week in weeks.values()) for kind in ACTIVITY_KINDS}
    return {
        "github_id": 583231,
        "github_login": login,
        "github_token": "x",
        "github_scopes": "read:user repo",
        "sync_state": SyncState.DONE.value,
        "weeks_done": len(weeks),
        "weeks_total": len(weeks),
        "coverage_first_week": coverage["first_week"],
        "coverage_last_week": coverage["last_week"],
        "coverage_last_complete_week": coverage["last_complete_week"],
        "file_size": len(serialise(document)),
        "file_summary": json.dumps({"weeks": len(weeks), **counts}),
        "file_history": json.dumps(history_of(document), separators=(",", ":")),
    }


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def measure_database(
    database_url: str, *, sandbox_url: str, redis_url: str, log_dir: Path
) -> dict[str, PathFigures]:
    """Throughput of the gateway and the bare app on both paths, and the fixed-rate latency."""
    _seed(database_url, TABLE_MEMBERS)
    gateway_port, bare_port = free_port(), free_port()
    gateway_url = f"http://{HOST}:{gateway_port}"
    env = {
        **os.environ,
        **sandbox_env(sandbox_url),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_BASE_URL": gateway_url,
        "GATEWAY_HOST": HOST,
        "GATEWAY_PORT": str(gateway_port),
        "LOG_LEVEL": "INFO",  # the production default: every request writes its access line
        # One member at thousands of requests a second: the rate limits stay on (each request
        # still pays its count in Redis, as in production) but high enough never to answer 429.
        "RATE_LIMIT_IP": "100000000/minute",
        "RATE_LIMIT_MEMBER": "100000000/minute",
        "RATE_LIMIT_LOGIN": "100000000/minute",
    }
    services = ServiceSet(env=env, log_dir=log_dir)
    try:
        process = psutil.Process(services.start("gateway", [sys.executable, "-m", "gateway"]).pid)
        wait_http(f"{gateway_url}/healthz")
        login = "bench-member"
        cookie = _log_in(gateway_url, login)
        with connection():
            Member.update(**synced_member(login)).where(Member.oh_username == login).execute()
        headers = {"Cookie": cookie}
        sizes = {}
        with httpx.Client(base_url=gateway_url, headers=headers) as client:
            for path in ("/dashboard", "/api/status"):
                answer = client.get(path)
                if answer.status_code != 200:
                    raise RuntimeError(f"{path} answered {answer.status_code}")
                sizes[path] = len(answer.content)
        services.env = {
            **env,
            "BARE_DASHBOARD_BYTES": str(sizes["/dashboard"]),
            "BARE_STATUS_BYTES": str(sizes["/api/status"]),
        }
        services.start("bare", [sys.executable, "-m", "bench.bare", str(bare_port)])
        wait_http(f"http://{HOST}:{bare_port}/api/status")
        results: dict[str, PathFigures] = {}
        for path in ("/api/status", "/dashboard"):
            run_load(host=HOST, port=gateway_port, path=path, headers=headers, duration_s=1)
            gateway_runs, bare_runs = [], []
            gateway_cpu_s = 0.0
            for _ in range(ROUNDS):
                cpu_before = _cpu_s(process)
                gateway_runs.append(
                    run_load(
                        host=HOST,
                        port=gateway_port,
                        path=path,
                        headers=headers,
                        connections=CONNECTIONS,
                        duration_s=DURATION_S / ROUNDS,
                    )
                )
                gateway_cpu_s += _cpu_s(process) - cpu_before
                bare_runs.append(
                    run_load(
                        host=HOST,
                        port=bare_port,
                        path=path,
                        connections=CONNECTIONS,
                        duration_s=DURATION_S / ROUNDS,
                    )
                )
            fixed = {
                port: run_rate(
                    host=HOST,
                    port=port,
                    paths=[path],
                    headers=headers,
                    rate_per_s=LATENCY_RATE_PER_S,
                    duration_s=DURATION_S,
                )
                for port in (gateway_port, bare_port)
            }
            results[path] = PathFigures(
                gateway=merged(gateway_runs),
                bare=merged(bare_runs),
                fixed_rate=fixed[gateway_port],
                bare_fixed_rate=fixed[bare_port],
                gateway_cpu_s=gateway_cpu_s,
            )
        return results
    finally:
        services.stop()


def run() -> dict[str, dict[str, PathFigures]]:
    """Both databases; the bench's Redis database serves the gateway's broker and sessions."""
    from bench.fetch import BENCH_REDIS_URL

    base_url, stop = run_in_thread(SandboxConfig())
    try:
        with tempfile.TemporaryDirectory() as folder:
            # BENCH_LOG_DIR keeps the services' logs for a look after the run.
            log_dir = Path(os.environ.get("BENCH_LOG_DIR") or Path(folder) / "logs")
            figures = {
                "sqlite": measure_database(
                    f"sqlite:///{Path(folder) / 'gateway.sqlite3'}",
                    sandbox_url=base_url,
                    redis_url=BENCH_REDIS_URL,
                    log_dir=log_dir,
                )
            }
            with _postgres_database() as url:
                figures["postgresql"] = measure_database(
                    url, sandbox_url=base_url, redis_url=BENCH_REDIS_URL, log_dir=log_dir
                )
            return figures
    finally:
        stop()


def describe(figures: dict[str, dict[str, PathFigures]]) -> list[str]:
    lines = []
    for database, paths in figures.items():
        for path, f in paths.items():
            errors = sum(n for status, n in f.gateway.statuses.items() if status != 200)
            lines.append(
                f"gateway {database} {path}: {f.gateway.throughput:.0f} req/s "
                f"(bare {f.bare.throughput:.0f}, ratio {f.ratio:.2f}; non-200 {errors}); "
                f"at {LATENCY_RATE_PER_S:.0f} req/s p50 {f.fixed_rate.percentile_ms(0.5):.1f} ms "
                f"p99 {f.fixed_rate.percentile_ms(0.99):.1f} ms "
                f"(bare p99 {f.bare_fixed_rate.percentile_ms(0.99):.1f} ms); "
                f"gateway CPU {f.cpu_us_per_answer:.0f} µs per answer; "
                f"load generator used {f.gateway.client_cpu_share:.0%} of a core"
            )
    return lines


def summary(figures: dict[str, dict[str, PathFigures]]) -> dict[str, Any]:
    """The worst database's figure for each printed line."""
    every = [paths for paths in figures.values()]
    return {
        "dashboard_ratio": min(p["/dashboard"].ratio for p in every),
        "status_ratio": min(p["/api/status"].ratio for p in every),
        "p99_ms": max(f.fixed_rate.percentile_ms(0.99) for p in every for f in p.values()),
    }


def main() -> None:
    figures = run()
    for line in describe(figures):
        print(line)
    worst = summary(figures)
    print(f"gateway dashboard ratio: {worst['dashboard_ratio']:.2f}")
    print(f"gateway status ratio: {worst['status_ratio']:.2f}")
    print(f"gateway p99 ms: {worst['p99_ms']:.1f}")


if __name__ == "__main__":
    main()
