"""Run the sandbox in a background thread, for tests (the project's own tests reuse this)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from sandbox.app import create_app
from sandbox.config import SandboxConfig

STARTUP_TIMEOUT_S = 15.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def serve_in_thread(
    app: ASGIApp, *, host: str, port: int, name: str, **options: Any
) -> Callable[[], None]:
    """Serve an ASGI app with uvicorn in a daemon thread; returns a function that stops it."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options))
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.02)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    return stop


def run_in_thread(config: SandboxConfig | None = None) -> tuple[str, Callable[[], None]]:
    """Start a sandbox on a free port; returns its base URL and a function that stops it."""
    config = config or SandboxConfig()
    config.port = free_port(config.host)
    stop = serve_in_thread(
        create_app(config),
        host=config.host,
        port=config.port,
        name="sandbox",
        log_level="warning",
        lifespan="off",
        date_header=False,  # the sandbox sends its own clock's Date
    )
    return f"http://{config.host}:{config.port}", stop
