"""Workers export Dramatiq's Prometheus metrics when WORKER_METRICS_PORT is set."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from launcher.services import ServiceSet, service_commands, wait_http
from shared import queues
from tests.e2e.harness import free_port, wait_for

pytestmark = pytest.mark.e2e


def test_a_fetcher_worker_serves_its_metrics(tmp_path: Path, e2e_redis_url: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/metrics.sqlite3",
        "REDIS_URL": e2e_redis_url,
        "OPENHUMANS_URL": "http://127.0.0.1:9/openhumans",
        "GITHUB_API_URL": "http://127.0.0.1:9/github-api",
        "GITHUB_WEB_URL": "http://127.0.0.1:9/github",
        "WORKER_METRICS_PORT": str(port),
    }
    services = ServiceSet(env=env, log_dir=tmp_path / "logs")
    services.start("fetcher", service_commands(processes=1, threads=1)["fetcher"])
    try:
        wait_http(f"http://127.0.0.1:{port}/metrics", timeout_s=30)
        queues.setup_broker(e2e_redis_url)
        queues.send_sync(424242)  # no such member: the worker handles it and moves on

        def counted() -> bool:
            body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            return (
                'dramatiq_messages_total{actor_name="sync_member",queue_name="fetch"} 1.0' in body
            )

        wait_for(counted, timeout_s=30, what="the message in the metrics", services=services)
    finally:
        services.stop()
