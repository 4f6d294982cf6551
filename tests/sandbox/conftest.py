"""One sandbox per test session (started in-process on a free port), reset before each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from sandbox.config import SandboxConfig
from sandbox.server import run_in_thread


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    base_url, stop = run_in_thread(SandboxConfig())
    yield base_url
    stop()


@pytest.fixture
def client(sandbox_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_url, timeout=10) as http:
        http.post("/_sandbox/reset").raise_for_status()
        yield http


TokenFactory = Callable[..., dict[str, str]]


@pytest.fixture
def github_token(client: httpx.Client) -> TokenFactory:
    """``github_token(login, scope)``: Authorization headers for a fresh token of ``login``."""

    def make(login: str, scope: str = "read:user") -> dict[str, str]:
        answer = client.post("/_sandbox/github/tokens", json={"login": login, "scope": scope})
        answer.raise_for_status()
        return {"Authorization": f"token {answer.json()['access_token']}"}

    return make
