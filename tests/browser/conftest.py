"""Fixtures of the real-browser tests: the sandbox and the gateway, each served by uvicorn in a
thread, or the whole system as processes; Debian's Chromium driven by Playwright (never
``playwright install``); axe-core (installed by ``make setup`` from npm) to check every page.

Chromium, Redis, axe-core and the sandbox are required: without them these tests skip on a
laptop but fail when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import TEST_REDIS_URL, service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
AXE_CORE = ROOT / "build" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots of every page and state, for people to look at (gitignored).
SCREENSHOTS = ROOT / "build" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The policy the gateway's security middleware sends; the browser tests add it to every page
# of the gateway so that a page relying on inline script or style fails here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


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


@pytest.fixture
def gateway_url(
    tmp_path: Path, sandbox_url: str, redis_url: str, redis_client: Any
) -> Iterator[str]:
    from gateway.app import create_app
    from sandbox.server import free_port, serve_in_thread
    from shared.settings import Settings

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        app_base_url=base_url,
        gateway_port=port,
        secret_key="browser-test-secret",
        database_url=f"sqlite:///{tmp_path}/gateway.sqlite3",
        redis_url=redis_url,
        openhumans_url=f"{sandbox_url}/openhumans",
        openhumans_client_id="sandbox-oh-client",
        openhumans_client_secret="sandbox-oh-secret",
        openhumans_webhook_secret="sandbox-webhook-secret",
        github_web_url=f"{sandbox_url}/github",
        github_api_url=f"{sandbox_url}/github-api",
        github_client_id="sandbox-github-client",
        github_client_secret="sandbox-github-secret",
    )
    stop = serve_in_thread(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        name="gateway",
        log_config=None,
        access_log=False,
    )
    yield base_url
    stop()


def _chromium_or_skip() -> None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        service_missing(f"no Chromium at {CHROMIUM} (make chromium installs it)")


@pytest.fixture
def page() -> Iterator[Any]:
    _chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        service_missing(f"playwright not installed: {error}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 900})
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


# ---- the whole system, for the walks through the dashboard ------------------------------------


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Sandbox, gateway, fetcher and uploader as processes, shared by one module's tests.

    Each test uses its own sandbox members, so they do not meet.
    """
    from tests.e2e.harness import logs, start_system

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        service_missing(f"Redis is not reachable at {TEST_REDIS_URL}: {error}")
    client.flushdb()
    directory = tmp_path_factory.mktemp("system")
    running = start_system(
        database_url=f"sqlite:///{directory}/browser.sqlite3",
        redis_url=TEST_REDIS_URL,
        log_dir=directory / "logs",
        extra_env={"STALE_AFTER": "4d"},
    )
    try:
        yield running
    finally:
        running.services.stop()
        client.flushdb()
        client.close()
        if os.environ.get("BROWSER_TEST_LOGS"):
            print(logs(directory / "logs"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _chromium_or_skip()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        service_missing(f"playwright not installed: {error}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE_CORE.exists():
        service_missing(f"axe-core is not installed at {AXE_CORE} (make setup installs it)")
    return AXE_CORE.read_text()


def with_csp(context: Any, origin: str) -> None:
    """Send the gateway's pages with the production Content-Security-Policy."""

    def add_policy(route: Any) -> None:
        request = route.request
        if request.resource_type != "document" or not request.url.startswith(origin):
            route.fallback()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": CSP}
        )

    context.route("**/*", add_policy)
