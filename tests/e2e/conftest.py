"""Fixtures starting the whole system: real sandbox, gateway and Dramatiq worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.e2e.harness import System, logs, start_system

E2E_REDIS_URL = "redis://127.0.0.1:6379/12"
E2E_POSTGRES_ADMIN = "postgresql://127.0.0.1:5432/postgres"
E2E_POSTGRES_DB = "ohgithub_e2e"


def _unavailable(what: str) -> None:
    """Skip on a laptop without the service; fail under CI, where it must be there."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not available under CI")
    pytest.skip(f"{what} is not available")


@pytest.fixture
def e2e_redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(E2E_REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        _unavailable("Redis on 127.0.0.1:6379")
    client.flushdb()
    yield E2E_REDIS_URL
    client.flushdb()


def _fresh_postgres_database() -> str:
    import psycopg2

    try:
        connection = psycopg2.connect(E2E_POSTGRES_ADMIN, connect_timeout=3)
    except psycopg2.OperationalError:
        _unavailable("PostgreSQL on 127.0.0.1:5432")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {E2E_POSTGRES_DB} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {E2E_POSTGRES_DB}")
    connection.close()
    return f"postgresql://127.0.0.1:5432/{E2E_POSTGRES_DB}"


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/e2e.sqlite3"
    return _fresh_postgres_database()


@pytest.fixture
def extra_env() -> dict[str, str]:
    """Settings a test module gives every service (override the fixture to set some)."""
    return {}


@pytest.fixture
def system(
    e2e_database_url: str,
    e2e_redis_url: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    extra_env: dict[str, str],
) -> Iterator[System]:
    log_dir = tmp_path / "logs"
    running = start_system(
        database_url=e2e_database_url,
        redis_url=e2e_redis_url,
        log_dir=log_dir,
        extra_env=extra_env,
    )
    yield running
    running.services.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(logs(log_dir))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    setattr(item, f"rep_{report.when}", report)  # type: ignore[attr-defined]
    return report
