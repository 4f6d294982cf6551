"""Probes and metrics."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.testclient import TestClient

from gateway.app import create_app


def test_healthz(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_database_and_redis_answer(client: Any) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_is_503_without_redis(settings: Any) -> None:
    broken = replace(settings, redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == "unavailable"


def test_metrics_count_requests_and_members(browser: Any) -> None:
    browser.log_in()
    browser.gateway.get("/no/such/page")
    assert browser.gateway.get("/metrics").status_code == 404  # never on the public site
    text = browser.gateway.app.state.gateway.metrics.render().decode()
    assert 'ohgithub_gateway_requests_total{method="GET",route="/dashboard",status="200"}' in text
    assert 'route="unmatched",status="404"' in text
    assert 'ohgithub_members{sync_state="new"} 1.0' in text
    assert 'ohgithub_members{sync_state="queued"} 0.0' in text


def test_requests_carry_a_request_id(client: Any) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abcdef123456"})
    assert response.headers["x-request-id"] == "abcdef123456"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
    assert len(generated.headers["x-request-id"]) == 32
