"""Run the sandbox in a background thread, for tests (the project's own tests reuse this)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig

STARTUP_TIMEOUT_S = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def run_in_thread(config: SandboxConfig | None = None) -> tuple[str, Callable[[], None]]:
    """Start a sandbox on a free port; returns its base URL and a function that stops it."""
    config = config or SandboxConfig()
    config.port = free_port(config.host)
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            lifespan="off",
            date_header=False,  # the sandbox sends its own clock's Date
        )
    )
    thread = threading.Thread(target=server.run, name="sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return f"http://{config.host}:{config.port}", stop
