"""A sandbox in-process and a Runtime pointing at it, for driving ``sync_member`` directly."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis

from sandbox.config import SandboxConfig
from sandbox.server import run_in_thread
from shared import queues
from shared.db import Member
from shared.openhumans.tokens import store_tokens
from shared.runtime import Runtime
from shared.settings import Settings
from shared.syncstate import SyncState

# The sandbox's reset keeps run-time config: every test starts from GitHub's real limits.
DEFAULT_LIMITS = {"core_limit": 5000, "graphql_limit": 5000, "rate_limit_time_scale": 1.0}


@pytest.fixture(scope="module")
def sandbox_base() -> Iterator[str]:
    base_url, stop = run_in_thread(SandboxConfig())
    yield base_url
    stop()


@pytest.fixture
def sandbox(sandbox_base: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox_base, timeout=30) as client:
        client.post("/_sandbox/reset").raise_for_status()
        client.post("/_sandbox/config", json=DEFAULT_LIMITS).raise_for_status()
        yield client


@pytest.fixture
def runtime(
    sandbox_base: str, redis_url: str, database: Any, settings: Settings
) -> Iterator[Runtime]:
    configured = dataclasses.replace(
        settings,
        github_api_url=f"{sandbox_base}/github-api",
        openhumans_url=f"{sandbox_base}/openhumans",
        openhumans_client_id="sandbox-oh-client",
        openhumans_client_secret="sandbox-oh-secret",
        github_reserve=0,
        redis_url=redis_url,
    )
    queues.setup_broker(redis_url)
    built = Runtime(configured)
    yield built
    built.close()


@pytest.fixture
def connect(sandbox: httpx.Client, runtime: Runtime) -> Callable[..., Member]:
    """``connect(login, scope)``: a member who logged in and connected GitHub."""

    def make(login: str, scope: str = "repo read:user") -> Member:
        github = sandbox.post("/_sandbox/github/tokens", json={"login": login, "scope": scope})
        oh = sandbox.post("/_sandbox/openhumans/tokens", json={"username": login}).json()
        truth = sandbox.get(f"/_sandbox/github/users/{login}/truth").json()
        member = Member(
            oh_member_id=oh["project_member_id"],
            oh_username=login,
            github_id=truth["github"]["id"],
            github_login=login,
            github_token=runtime.cipher.encrypt(github.json()["access_token"]),
            github_scopes=scope,
            sync_state=SyncState.QUEUED,
        )
        store_tokens(member, oh, runtime.cipher)
        member.save()
        return member

    return make


def queued(redis_url: str, queue: str) -> list[int]:
    """Member ids of the messages waiting on a queue, immediate and delayed."""
    client = redis.Redis.from_url(redis_url)
    ids = []
    for name in (queue, f"{queue}.DQ"):
        for raw in client.hvals(f"ohgithub:{name}.msgs"):
            ids.append(int(dramatiq_args(raw)[0]))
    client.close()
    return ids


def dramatiq_args(raw: bytes) -> list[Any]:
    import json

    return list(json.loads(raw)["args"])
