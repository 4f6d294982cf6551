"""Second replicas of a running system's services, as a deployment with two of each runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from launcher.services import service_commands, wait_http
from tests.e2e.harness import System, free_port


def start_second_gateway(system: System) -> str:
    """Another gateway process with the same settings, on a port of its own; returns its URL."""
    port = free_port()
    first_port = system.env["GATEWAY_PORT"]
    system.env["GATEWAY_PORT"] = str(port)  # ServiceSet passes this dict to what it starts
    try:
        system.services.start("gateway-2", service_commands()["gateway"])
    finally:
        system.env["GATEWAY_PORT"] = first_port
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/healthz")
    return url


def events(log_path: Path, name: str) -> list[dict[str, Any]]:
    """The events called ``name`` that a service logged, in order."""
    found = []
    for line in log_path.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == name:
            found.append(event)
    return found
