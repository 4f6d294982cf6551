"""What one ``/api/status`` answer of the gateway is made of, part by part, and how fast the bare
app answers with asynchronous endpoints as well as synchronous ones, and with the gateway's login
check alone.

Each part is the gateway's own code called in a loop in this process, one call after the other
(no load): CPU microseconds per call (``time.process_time``), the least of three rounds. The parts
are what the gateway does beyond the bare app; Starlette and uvicorn, which both do, are not
listed. The bare app's variants (``bench.bare``: ``BARE_ASYNC``, ``BARE_LOGIN_CHECK_REDIS_URL``)
are loaded as in ``bench.gateway``; see bench/README.md for what the figures say about the ratio
goal.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, redirect_stderr
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import redis.asyncio
from itsdangerous import TimestampSigner
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from bench.gateway import synced_member
from bench.load import run_load
from gateway.app import _templates
from gateway.metrics import Metrics
from gateway.middleware import LOGIN_CHECK_SCRIPT
from gateway.routes import routes
from gateway.routes.pages import _dashboard_context
from gateway.status import sync_status
from launcher.services import wait_http
from sandbox.server import free_port
from shared.db import Member, close_database, connection, init_database, member_by_id, utcnow
from shared.logging import configure_logging, get_logger
from shared.settings import Settings
from shared.syncstate import SyncState

CALLS = int(os.environ.get("BENCH_PARTS_CALLS", "5000"))
ROUNDS = 3
HOST = "127.0.0.1"


def _per_call_us(call: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(CALLS):
            call()
        best = min(best, (time.process_time() - started) / CALLS * 1e6)
    return best


async def _per_await_us(call: Callable[[], Awaitable[Any]]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for _ in range(CALLS):
            await call()
        best = min(best, (time.process_time() - started) / CALLS * 1e6)
    return best


@contextmanager
def _member_database() -> Iterator[int]:
    with tempfile.TemporaryDirectory() as folder:
        init_database(f"sqlite:///{Path(folder) / 'parts.sqlite3'}", pool_size=40)
        try:
            with connection():
                member = Member.create(
                    oh_member_id="parts-1",
                    oh_username="parts",
                    github_id=1,
                    github_login="parts",
                    github_token="x",
                    sync_state=SyncState.DONE.value,
                    weeks_done=158,
                    weeks_total=158,
                    coverage_first_week="2023-W48",
                    coverage_last_week="2026-W48",
                )
            yield member.id
        finally:
            close_database()


def _dashboard_renderer(member: Member) -> Callable[[], str]:
    """The dashboard page of ``member`` rendered as the gateway's dashboard route does, from
    the member's row to the page's text, without the request's other work."""
    settings = Settings.from_env()
    app = Starlette(routes=routes())
    app.state.gateway = SimpleNamespace(settings=settings, templates=_templates(settings))
    scope = {"type": "http", "method": "GET", "path": "/dashboard", "query_string": b""}
    request = Request({**scope, "headers": [], "app": app, "session": {}})
    page = app.state.gateway.templates.get_template("dashboard.html")

    def render() -> str:
        context = _dashboard_context(request, member)
        return page.render({**context, "request": request, "flashes": []})

    return render


def measure_parts(redis_url: str) -> dict[str, float]:
    """Microseconds of CPU per call of each part of a status answer."""
    parts: dict[str, float] = {}
    signer = TimestampSigner("s" * 40)
    session = {"member_id": 1, "oh_member_id": "parts-1", "login": "l" * 43, "csrf": "c" * 43}
    cookie = signer.sign(base64.b64encode(json.dumps(session).encode()))
    parts["cookie check"] = _per_call_us(
        lambda: json.loads(base64.b64decode(signer.unsign(cookie, max_age=3600)))
    )
    with _member_database() as member_id:

        def read() -> Member | None:
            with connection():
                return member_by_id(member_id)

        member = read()
        assert member is not None
        parts["member read (SQLite)"] = _per_call_us(read)
        parts["status body"] = _per_call_us(
            lambda: json.dumps(
                sync_status(member, now=utcnow(), cooldown_s=3600, stale_after_s=345600).as_json()
            )
        )
        parts["dashboard page (a three-year history)"] = _per_call_us(
            _dashboard_renderer(Member(id=member_id, oh_username="parts", **synced_member("parts")))
        )
        metrics = Metrics(count_by_state=dict)

        def count() -> None:
            metrics.requests.labels("/api/status", "GET", "200").inc()
            metrics.duration.labels("/api/status").observe(0.001)

        parts["metrics"] = _per_call_us(count)
        parts["request id"] = _per_call_us(lambda: uuid.uuid4().hex)
        configure_logging("INFO", service="bench")
        access = get_logger("gateway.access")
        with open(os.devnull, "w") as devnull, redirect_stderr(devnull):
            parts["access log line"] = _per_call_us(
                lambda: access.info(
                    "request",
                    method="GET",
                    path="/api/status",
                    route="/api/status",
                    status=200,
                    duration_ms=1.0,
                )  # fmt: skip
            )

        async def awaited() -> None:
            client = redis.asyncio.Redis.from_url(redis_url)
            check = client.register_script(LOGIN_CHECK_SCRIPT)
            keys = ["bench:parts:login", "bench:parts:member", "bench:parts:ip"]
            parts["login check and rate count (Redis)"] = await _per_await_us(
                lambda: check(keys=keys, args=["1:parts-1", 60, 60])
            )
            await client.delete(*keys)
            await client.aclose()
            parts["thread-pool hop, nothing done"] = await _per_await_us(
                lambda: run_in_threadpool(lambda: None)
            )
            parts["member read in the thread pool"] = await _per_await_us(
                lambda: run_in_threadpool(read)
            )

        asyncio.run(awaited())
    return parts


# The bare app's variants: its endpoints synchronous (as the gateway's) or asynchronous, and
# asynchronous with the gateway's login check and rate count in Redis before each answer.
BARE_VARIANTS = ("sync", "async", "async + login check")


def measure_bare(redis_url: str, *, seconds: float = 3) -> dict[str, dict[str, float]]:
    """Requests per second of each variant of the bare app on both paths."""
    figures: dict[str, dict[str, float]] = {}
    for variant in BARE_VARIANTS:
        port = free_port()
        env = {
            **os.environ,
            "BARE_ASYNC": "1" if variant.startswith("async") else "",
            "BARE_LOGIN_CHECK_REDIS_URL": redis_url if "login" in variant else "",
        }
        process = subprocess.Popen([sys.executable, "-m", "bench.bare", str(port)], env=env)
        try:
            wait_http(f"http://{HOST}:{port}/api/status")
            run_load(host=HOST, port=port, path="/api/status", duration_s=1)
            figures[variant] = {
                path: run_load(
                    host=HOST, port=port, path=path, connections=50, duration_s=seconds
                ).throughput
                for path in ("/api/status", "/dashboard")
            }
        finally:
            process.terminate()
            process.wait(timeout=30)
    return figures


def main() -> None:
    from bench.fetch import BENCH_REDIS_URL

    for name, us in measure_parts(BENCH_REDIS_URL).items():
        print(f"gateway part {name}: {us:.1f} µs")
    bare = measure_bare(BENCH_REDIS_URL)
    for path in ("/api/status", "/dashboard"):
        each = ", ".join(f"{bare[v][path]:.0f} {v}" for v in BARE_VARIANTS)
        print(f"bare {path} req/s: {each}")
        checked = bare["async + login check"][path]
        print(
            f"bare {path} with the login check alone: {checked / bare['async'][path]:.2f} of "
            f"the async bare app, {checked / bare['sync'][path]:.2f} of the sync one"
        )


if __name__ == "__main__":
    main()
