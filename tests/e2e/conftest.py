"""Fixtures starting the whole system: real sandbox, gateway and Dramatiq worker processes.

They use the same services as every other suite (``TEST_REDIS_URL``, ``TEST_POSTGRES_URL``), and
each PostgreSQL run gets a database of its own, so that two runs on one machine never meet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PostgresServer, fresh_postgres_database
from tests.e2e.harness import System, logs, start_system


@pytest.fixture
def e2e_redis_url(redis_url: str) -> str:
    return redis_url


@pytest.fixture(params=["sqlite", "postgresql"])
def e2e_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/e2e.sqlite3"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with fresh_postgres_database(server) as url:
        yield url


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
