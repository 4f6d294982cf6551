"""The system's services as child processes: their commands, and ``ServiceSet``, which starts
them with one environment and stops them together, gracefully (``make run`` and the end-to-end
tests use it).

Each child runs in a session of its own, so a terminal's Ctrl-C reaches only the launcher, which
then sends each child one SIGTERM: Dramatiq takes a second signal as "kill now", so children
must never get the terminal's SIGINT and the launcher's SIGTERM both. Each child also gets
SIGTERM if the process that started it dies (Linux ``PR_SET_PDEATHSIG``, through ``setpriv``),
so no service outlives a killed launcher or test run.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.worker import worker_command

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PORT = 8900


def sandbox_env(base_url: str) -> dict[str, str]:
    """Environment pointing every service at a sandbox served at ``base_url``."""
    return {
        "GITHUB_WEB_URL": f"{base_url}/github",
        "GITHUB_API_URL": f"{base_url}/github-api",
        "GITHUB_CLIENT_ID": "sandbox-github-client",
        "GITHUB_CLIENT_SECRET": "sandbox-github-secret",
        "OPENHUMANS_URL": f"{base_url}/openhumans",
        "OPENHUMANS_CLIENT_ID": "sandbox-oh-client",
        "OPENHUMANS_CLIENT_SECRET": "sandbox-oh-secret",
        "OPENHUMANS_WEBHOOK_SECRET": "sandbox-webhook-secret",
    }


def service_commands(*, processes: int = 1, threads: int = 4) -> dict[str, list[str]]:
    """The command of each service (the container image runs the same ones)."""
    python = sys.executable
    options = ["--processes", str(processes), "--threads", str(threads)]
    return {
        "gateway": [python, "-m", "gateway"],
        "fetcher": worker_command("fetcher.actors", options),
        "uploader": worker_command("uploader.actors", options),
        "scheduler": [python, "-m", "scheduler"],
    }


# util-linux's setpriv sets PR_SET_PDEATHSIG and execs the command (a preexec_fn would do the
# same but is unsafe in a process with threads, as the test harness is).
_SETPRIV = shutil.which("setpriv")


def terminated_with_parent(command: list[str]) -> list[str]:
    """``command`` arranged to get SIGTERM when the process that started it dies (where the
    system has ``setpriv``; elsewhere unchanged)."""
    return [_SETPRIV, "--pdeathsig", "TERM", "--", *command] if _SETPRIV else command


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_http(url: str, *, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


@dataclass
class ServiceSet:
    """Child processes sharing one environment; stopped together, gracefully."""

    env: dict[str, str]
    log_dir: Path | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _logs: list[Any] = field(default_factory=list)

    def start(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        output: Any = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
            self._logs.append(output)
        process = subprocess.Popen(
            terminated_with_parent(command),
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,  # the terminal's Ctrl-C is for the launcher alone
        )
        self.processes[name] = process
        return process

    def stop(self, name: str | None = None, *, timeout_s: float = 35) -> None:
        names = [name] if name else list(self.processes)
        for key in names:
            if self.processes[key].poll() is None:
                self.processes[key].send_signal(signal.SIGTERM)
        for key in names:
            try:
                self.processes[key].wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.processes[key].kill()
                self.processes[key].wait()
            del self.processes[key]
        if name is None:
            for handle in self._logs:
                handle.close()
            self._logs.clear()

    def kill(self, name: str) -> None:
        """SIGKILL to the service and every process it started, as a machine crash would."""
        import psutil

        process = self.processes.pop(name)
        family = psutil.Process(process.pid).children(recursive=True)
        process.kill()
        for child in family:
            with suppress(psutil.NoSuchProcess):
                child.kill()
        process.wait()
        psutil.wait_procs(family, timeout=10)

    def dead(self) -> list[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]
