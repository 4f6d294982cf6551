"""What a careful reviewer expects of a data-donation site: a strict Content-Security-Policy,
HSTS over https, member pages never cached, bounded request bodies, rate limits, private
metrics, and no URL built from the Host header a client chose."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from launcher.services import wait_http
from sandbox.server import free_port
from tests.security.conftest import WEBHOOK_PATH, Live


def test_pages_carry_a_strict_content_security_policy(live: Live) -> None:
    headers = live.browser().get("/").headers
    policy = headers["content-security-policy"]
    for directive in (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in headers  # plain http: HSTS would mean nothing


def test_hsts_when_the_site_is_https(serve: Callable[..., Live]) -> None:
    live = serve()
    https = serve(app_base_url="https://github.example.org")
    assert "strict-transport-security" not in live.browser().get("/").headers
    assert httpx.get(https.url + "/").headers["strict-transport-security"].startswith("max-age=")


def test_member_pages_and_the_api_are_never_cached(live: Live) -> None:
    browser = live.browser()
    live.log_in(browser, "alice")
    for path in ("/dashboard", "/api/status", "/"):
        assert browser.get(path).headers["cache-control"] == "no-store", path
    assert browser.get("/static/style.css").headers["cache-control"] != "no-store"


def test_a_body_over_the_limit_is_refused_with_413(live: Live) -> None:
    too_big = b"x" * (live.settings.max_request_bytes + 1)
    announced = httpx.post(live.url + WEBHOOK_PATH, content=too_big)
    assert announced.status_code == 413

    def stream() -> Iterator[bytes]:  # no Content-Length: chunked
        for _ in range(10):
            yield b"x" * (live.settings.max_request_bytes // 4)

    streamed = httpx.post(live.url + WEBHOOK_PATH, content=stream())
    assert streamed.status_code == 413


def test_a_login_storm_from_one_address_gets_429(serve: Callable[..., Live]) -> None:
    live = serve(rate_limit_login="5/minute")
    browser = live.browser()
    statuses = [browser.get("/login").status_code for _ in range(7)]
    assert statuses[:5] == [302] * 5
    assert statuses[5:] == [429, 429]
    refused = browser.get("/auth/openhumans/callback", params={"code": "x"})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "Too many requests" in refused.text
    assert browser.get("/healthz").status_code == 200  # probes are never limited


def test_a_member_polling_too_fast_gets_429_alone(serve: Callable[..., Live]) -> None:
    live = serve(rate_limit_member="5/minute")
    alice, bob = live.browser(), live.browser()
    live.log_in(alice, "alice")
    live.log_in(bob, "bob")
    statuses = [alice.get("/api/status").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert alice.get("/api/status").json()["error"] == "too many requests"
    assert bob.get("/api/status").status_code == 200  # per member, not per address


def test_no_url_is_built_from_the_host_header(live: Live) -> None:
    page = live.browser().get("/", headers={"host": "evil.example"})
    assert page.status_code == 200
    assert "evil.example" not in page.text
    assert 'href="/static/style.css"' in page.text


@pytest.fixture
def gateway_process(tmp_path: Path, sandbox_url: str, redis_url: str) -> Iterator[dict[str, str]]:
    port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "APP_BASE_URL": f"http://127.0.0.1:{port}",
        "GATEWAY_PORT": str(port),
        "GATEWAY_METRICS_PORT": str(metrics_port),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "REDIS_URL": redis_url,
        "OPENHUMANS_URL": f"{sandbox_url}/openhumans",
        "GITHUB_API_URL": f"{sandbox_url}/github-api",
        "GITHUB_WEB_URL": f"{sandbox_url}/github",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield {"site": f"http://127.0.0.1:{port}", "metrics": f"http://127.0.0.1:{metrics_port}"}
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_metrics_are_served_apart_from_the_public_site(gateway_process: dict[str, str]) -> None:
    site, metrics = gateway_process["site"], gateway_process["metrics"]
    assert httpx.get(site + "/dashboard").status_code == 303
    assert httpx.get(site + "/metrics").status_code == 404
    scraped = httpx.get(metrics + "/metrics")
    assert scraped.status_code == 200
    assert 'ohgithub_gateway_requests_total{method="GET",route="/dashboard",status="303"}' in (
        scraped.text
    )
