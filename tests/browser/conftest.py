"""Fixtures of the real-browser tests: the sandbox and the gateway, each served by uvicorn in a
thread, and Debian's Chromium driven by Playwright (never ``playwright install``).

Chromium, Redis and the sandbox are required: without them these tests skip on a laptop but
fail when ``CI=true``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


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


@pytest.fixture
def page() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        service_missing(f"no Chromium at {CHROMIUM} (make chromium installs it)")
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
