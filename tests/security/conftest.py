"""The gateway as an attacker meets it: served by uvicorn on a real port, with the sandbox's
Open Humans and GitHub, and browsers (httpx clients with their own cookies) for the victim and
the attacker. Every attack goes through real HTTP.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.settings import Settings
from tests.conftest import service_missing
from tests.e2e.harness import submit_authorize_form

WEBHOOK_PATH = "/webhooks/openhumans/deauthorize"
WEBHOOK_SECRET = "sandbox-webhook-secret"
SECRET_KEY = "security-test-secret-key-" + "k" * 32


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    try:
        from sandbox.config import SandboxConfig
        from sandbox.server import run_in_thread

        base_url, stop = run_in_thread(SandboxConfig())
    except (ImportError, OSError, RuntimeError) as error:
        service_missing(f"sandbox did not start: {error}")
    yield base_url
    stop()


def gateway_settings(base_url: str, sandbox_url: str, redis_url: str, tmp_path: Path) -> Settings:
    return Settings(
        app_base_url=base_url,
        secret_key=SECRET_KEY,
        database_url=f"sqlite:///{tmp_path}/gateway.sqlite3",
        redis_url=redis_url,
        openhumans_url=f"{sandbox_url}/openhumans",
        openhumans_client_id="sandbox-oh-client",
        openhumans_client_secret="sandbox-oh-secret",
        openhumans_webhook_secret=WEBHOOK_SECRET,
        github_web_url=f"{sandbox_url}/github",
        github_api_url=f"{sandbox_url}/github-api",
        github_client_id="sandbox-github-client",
        github_client_secret="sandbox-github-secret",
        http_timeout_s=10,
    )


@dataclasses.dataclass
class Live:
    """A gateway served on a real port, and what the tests need to talk to it."""

    url: str
    sandbox_url: str
    settings: Settings
    clients: list[httpx.Client] = dataclasses.field(default_factory=list)

    def browser(self) -> httpx.Client:
        """A browser of its own (cookie jar), not following redirects unless asked."""
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def log_in(self, browser: httpx.Client, login: str) -> httpx.Response:
        """Log in with the sandbox's Open Humans as ``login``; returns the dashboard."""
        page = browser.get("/login", follow_redirects=True)
        assert page.status_code == 200, page.text[:300]
        dashboard = submit_authorize_form(browser, page, login=login)
        dashboard = follow(browser, dashboard)
        assert dashboard.url.path == "/dashboard", (dashboard.url, dashboard.text[:300])
        return dashboard

    def log_out(self, browser: httpx.Client) -> httpx.Response:
        """Press "Log out" on the dashboard."""
        page = browser.get("/dashboard").text
        csrf = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return browser.post("/logout", data={"csrf_token": csrf})

    def connect_github(self, browser: httpx.Client, login: str) -> httpx.Response:
        page = browser.get("/github/connect", params={"private": 0}, follow_redirects=True)
        assert page.status_code == 200, page.text[:300]
        return follow(browser, submit_authorize_form(browser, page, login=login))

    def code_for(self, attacker: httpx.Client, start: str, login: str) -> dict[str, str]:
        """What the attacker gets by authorizing in their own browser and stopping before the
        callback: the callback's query (``code``, ``state``, ...)."""
        page = attacker.get(start, follow_redirects=True)
        assert page.status_code == 200, page.text[:300]
        redirect = submit_authorize_form(attacker, page, login=login)
        assert redirect.status_code == 302, redirect.text[:300]
        query = parse_qs(urlsplit(redirect.headers["location"]).query)
        return {key: values[0] for key, values in query.items()}

    def webhook(self, body: bytes, *, signed: bool = True) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if signed:
            headers["X-OpenHumans-Webhooks-Signature"] = sign(body)
        return httpx.post(self.url + WEBHOOK_PATH, content=body, headers=headers, timeout=30)


def follow(client: httpx.Client, response: httpx.Response) -> httpx.Response:
    while response.is_redirect:
        response = client.get(response.headers["location"])
    return response


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def webhook_body(project_member_id: Any, *, timestamp: Any, **extra: Any) -> bytes:
    payload = {"project_member_id": project_member_id, "erasure_requested": True}
    payload.update({"timestamp": timestamp, **extra})
    return json.dumps(payload).encode()


@pytest.fixture
def serve(
    tmp_path: Path, sandbox_url: str, redis_url: str, redis_client: Any
) -> Iterator[Callable[..., Live]]:
    """Serve a gateway (settings changed by keyword arguments); stopped after the test."""
    from gateway.app import create_app
    from sandbox.server import free_port, serve_in_thread

    stops: list[Callable[[], None]] = []
    started: list[Live] = []

    def start(**changes: Any) -> Live:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        base = gateway_settings(url, sandbox_url, redis_url, tmp_path)
        settings = dataclasses.replace(base, **{"app_base_url": url, **changes})
        stops.append(
            serve_in_thread(
                create_app(settings),
                host="127.0.0.1",
                port=port,
                name="gateway",
                log_config=None,
                access_log=False,
            )
        )
        started.append(Live(url=url, sandbox_url=sandbox_url, settings=settings))
        return started[-1]

    yield start
    for live in started:
        live.close()
    for stop in reversed(stops):
        stop()


@pytest.fixture
def live(serve: Callable[..., Live]) -> Live:
    return serve()
