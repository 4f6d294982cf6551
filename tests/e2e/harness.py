"""The whole system as real processes against a real sandbox, for end-to-end tests and bench."""

from __future__ import annotations

import html
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

from launcher.services import ServiceSet, sandbox_env, service_commands, wait_http
from shared import keys
from shared.activity import activity_of
from shared.fileformat import parse
from shared.queues import MEMBER_QUEUES

_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"", re.IGNORECASE)
_HIDDEN = re.compile(
    r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", re.IGNORECASE
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    condition: Callable[[], Any],
    *,
    timeout_s: float,
    interval_s: float = 0.5,
    what: str = "",
    services: ServiceSet | None = None,
) -> Any:
    """Poll ``condition`` until truthy; fail at once if one of ``services`` died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if services is not None and services.dead():
            raise AssertionError(f"service(s) died while waiting for {what}: {services.dead()}")
        result = condition()
        if result:
            return result
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")


def submit_authorize_form(
    client: httpx.Client, page: httpx.Response, *, login: str, grant_repo: bool = True
) -> httpx.Response:
    """Press "Authorize" on a sandbox consent page, as a person would."""
    match = _FORM.search(page.text)
    assert match, f"no form on {page.url}: {page.text[:300]}"
    action = str(page.url.join(html.unescape(match.group(1))))
    data = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
    data["login"] = login
    if grant_repo:
        data["grant_repo"] = "1"
    return client.post(action, data=data)


@dataclass
class System:
    """Sandbox, gateway and workers started as subprocesses sharing one environment."""

    services: ServiceSet
    sandbox_url: str
    gateway_url: str
    env: dict[str, str]

    def sandbox(self) -> httpx.Client:
        return httpx.Client(base_url=self.sandbox_url, timeout=30)

    def member_client(self) -> httpx.Client:
        return httpx.Client(follow_redirects=True, timeout=30)

    def log_in(self, client: httpx.Client, login: str, *, private: bool = True) -> httpx.Response:
        """Both OAuth flows through the real redirects; returns the dashboard response."""
        page = client.get(f"{self.gateway_url}/login")
        assert page.status_code == 200, page.text[:500]
        dashboard = submit_authorize_form(client, page, login=login)
        assert dashboard.url.path == "/dashboard", (dashboard.url, dashboard.text[:500])
        page = client.get(f"{self.gateway_url}/github/connect", params={"private": int(private)})
        assert page.status_code == 200, page.text[:500]
        dashboard = submit_authorize_form(client, page, login=login, grant_repo=private)
        assert dashboard.url.path == "/dashboard", (dashboard.url, dashboard.text[:500])
        return dashboard

    def requests_served(self, login: str) -> list[dict[str, Any]]:
        """The sandbox's log of the GitHub requests made for ``login``, oldest first."""
        with self.sandbox() as sandbox:
            log = sandbox.get("/_sandbox/requests", params={"login": login}).json()
        return list(log["requests"] if isinstance(log, dict) else log)

    def commit_pages_served(self, login: str) -> list[str]:
        """The paths of the commit pages GitHub answered (200) for ``login``, in order."""
        return [
            r["path"]
            for r in self.requests_served(login)
            if "/commits" in r["path"] and r["status"] == 200
        ]

    def assert_no_retry_spent(self, redis_url: str, *, by: str) -> None:
        """No message of the member's work was dead-lettered, and the fetcher spent none of
        Dramatiq's retries (kept for failures of the work's own) on the fault ``by``."""
        client = redis.Redis.from_url(redis_url)
        try:
            dead = {queue: client.hlen(keys.dead_messages(queue)) for queue in MEMBER_QUEUES}
        finally:
            client.close()
        assert not any(dead.values()), f"dead-lettered messages: {dead}"
        assert self.services.log_dir is not None
        fetcher_log = (self.services.log_dir / "fetcher.log").read_text(errors="replace")
        assert "Retrying message" not in fetcher_log, f"{by} spent the sync's retries"

    def status(self, client: httpx.Client) -> dict[str, Any]:
        """The member's ``/api/status``."""
        body: dict[str, Any] = client.get(f"{self.gateway_url}/api/status").json()
        return body

    def wait_until_done(
        self, client: httpx.Client, *, what: str, timeout_s: float = 120
    ) -> dict[str, Any]:
        """Wait for the member's sync state "done" (failing at once if a service dies)."""

        def done() -> dict[str, Any] | None:
            status = self.status(client)
            return status if status["state"] == "done" else None

        result: dict[str, Any] = wait_for(
            done, timeout_s=timeout_s, what=what, services=self.services
        )
        return result

    def only_file(self, username: str) -> dict[str, Any]:
        """The member's one file on Open Humans, parsed and validated against the schema."""
        files = self.files_of(username)
        assert len(files) == 1, files
        return parse(self.file_content(int(files[0]["id"])))

    def files_of(self, username: str) -> list[dict[str, Any]]:
        with self.sandbox() as sandbox:
            response = sandbox.get(f"/_sandbox/openhumans/members/{username}/files")
            response.raise_for_status()
            body = response.json()
            return list(body["files"] if isinstance(body, dict) else body)

    def file_content(self, file_id: int) -> bytes:
        with self.sandbox() as sandbox:
            response = sandbox.get(f"/_sandbox/openhumans/files/{file_id}/content")
            response.raise_for_status()
            return response.content

    def truth(self, login: str, *, private: bool = True) -> dict[str, Any]:
        with self.sandbox() as sandbox:
            response = sandbox.get(
                f"/_sandbox/github/users/{login}/truth", params={"private": str(private).lower()}
            )
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            return result


def start_system(
    *,
    database_url: str,
    redis_url: str,
    log_dir: Path,
    extra_env: dict[str, str] | None = None,
    workers: tuple[str, ...] = ("fetcher", "uploader"),
) -> System:
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    env = {
        **os.environ,
        **sandbox_env(sandbox_url),
        "PYTHONUNBUFFERED": "1",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "APP_BASE_URL": gateway_url,
        "GATEWAY_PORT": str(gateway_port),
        "GITHUB_RESERVE": "0",
        "LOG_LEVEL": "INFO",
        **(extra_env or {}),
    }
    services = ServiceSet(env=env, log_dir=log_dir)
    try:
        services.start("sandbox", [sys.executable, "-m", "sandbox", "--port", str(sandbox_port)])
        wait_http(f"{sandbox_url}/_sandbox/clock")
        commands = service_commands(processes=1, threads=2)
        services.start("gateway", commands["gateway"])
        for worker in workers:
            services.start(worker, commands[worker])
        wait_http(f"{gateway_url}/healthz")
    except BaseException:
        services.stop()
        raise
    return System(services=services, sandbox_url=sandbox_url, gateway_url=gateway_url, env=env)


def logs(log_dir: Path) -> str:
    """Every service's log, for an assertion message when something went wrong."""
    parts = []
    for path in sorted(log_dir.glob("*.log")):
        parts.append(f"==== {path.name}\n{path.read_text(errors='replace')[-4000:]}")
    return "\n".join(parts)


def assert_holds_ground_truth(document: dict[str, Any], truth: dict[str, Any]) -> None:
    """Every week with activity equals the ground truth; every other week is empty."""
    weeks = document["weeks"]
    assert set(truth["weeks"]) <= set(weeks), "weeks with activity are missing from the file"
    for key, week in weeks.items():
        expected = truth["weeks"].get(key)
        if expected is None:
            assert _empty(activity_of(week)), f"{key} has activity the ground truth does not"
        else:
            assert activity_of(week) == expected, f"{key} differs from the ground truth"


def _empty(activity: Mapping[str, Any]) -> bool:
    lists = ("commits", "pull_requests", "issues", "reviews")
    return not any(activity[k] for k in lists) and not any(activity["contributions"].values())
