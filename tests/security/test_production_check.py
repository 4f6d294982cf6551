"""A gateway given real credentials refuses to start with settings that would put real members
at risk: no webhook secret (unsigned webhooks could erase anyone), development secrets, or a
site without https. The check is not fooled by how a host is spelled."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

SAFE = {
    "SECRET_KEY": "a-long-random-production-secret-" + "s" * 32,
    "TOKEN_ENCRYPTION_KEYS": "Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk=",
    "OPENHUMANS_WEBHOOK_SECRET": "webhook-secret",
    "APP_BASE_URL": "https://github.example.org",
    "OPENHUMANS_CLIENT_ID": "real-id",
    "OPENHUMANS_CLIENT_SECRET": "real-secret",
    "GITHUB_CLIENT_ID": "real-id",
    "GITHUB_CLIENT_SECRET": "real-secret",
}


Start = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def start_gateway(tmp_path: Path, redis_server_url: str) -> Start:
    """``python -m gateway`` with ``env``: it either refuses at once or fails to listen."""

    def start(**env: str) -> subprocess.CompletedProcess[str]:
        environ = {
            **os.environ,
            **SAFE,
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "REDIS_URL": redis_server_url,
            # Not an address of this machine: a gateway that passes the check fails to listen.
            "GATEWAY_HOST": "203.0.113.1",
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "gateway"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return start


@pytest.mark.parametrize(
    "api_url", ["https://api.github.com", "https://API.GITHUB.COM", "https://Api.GitHub.com:443/"]
)
def test_real_credentials_without_a_webhook_secret_refuse_to_start(
    start_gateway: Start, api_url: str
) -> None:
    result = start_gateway(OPENHUMANS_WEBHOOK_SECRET="", GITHUB_API_URL=api_url)
    assert result.returncode != 0
    assert "refusing to serve real members" in result.stderr
    assert "OPENHUMANS_WEBHOOK_SECRET is empty" in result.stderr


def test_an_upper_case_open_humans_host_is_still_real(start_gateway: Start) -> None:
    result = start_gateway(
        SECRET_KEY="",  # the development default
        OPENHUMANS_URL="HTTPS://WWW.OPENHUMANS.ORG",
        GITHUB_API_URL="http://127.0.0.1:9/github-api",
        GITHUB_WEB_URL="http://127.0.0.1:9/github",
    )
    assert "refusing to serve real members" in result.stderr
    assert "SECRET_KEY is the development default" in result.stderr


def test_plain_http_with_real_credentials_refuses_to_start(start_gateway: Start) -> None:
    result = start_gateway(APP_BASE_URL="http://github.example.org")
    assert "APP_BASE_URL is not https" in result.stderr


def test_safe_settings_pass_the_check(start_gateway: Start) -> None:
    result = start_gateway()
    assert "refusing to serve real members" not in result.stderr
    assert "203.0.113.1" in result.stderr  # it got as far as trying to listen
