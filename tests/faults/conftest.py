"""Fixtures of the fault suite: the whole system as real processes (the end-to-end fixtures),
plus servers of its own that a test may break: a Redis it can restart empty, a cuttable proxy in
front of PostgreSQL.

Each test ends with the member's file equal to the ground truth and exactly one file.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import service_missing
from tests.e2e.conftest import (  # noqa: F401  (fixtures and the report hook, re-exported)
    e2e_database_url,
    e2e_redis_url,
    extra_env,
    pytest_runtest_makereport,
    system,
)
from tests.e2e.harness import free_port

pytestmark = pytest.mark.e2e


class PrivateRedis:
    """A redis-server of the test's own (never the shared one), which it may restart empty."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("no redis-server binary to run a private Redis")
        self.binary = str(binary)
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
            finally:
                client.close()
        raise AssertionError(f"private Redis on port {self.port} did not start")

    def kill(self) -> None:
        """SIGKILL: everything it held is gone (it keeps nothing on disk)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def restart_empty(self) -> None:
        self.kill()
        self.start()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()
