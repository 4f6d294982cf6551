"""The uploader against the sandbox's Open Humans: one sandbox per session, reset per test.

The sandbox runs in this process (as ``sandbox.server.run_in_thread`` runs it) so that tests can
also read its state: how many tokens Open Humans issued, which refresh tokens are still valid.
Every file the uploader writes during a test is checked against the JSON Schema with
``jsonschema`` (the reference implementation; production validates with fastjsonschema).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator

import dramatiq
import httpx
import jsonschema
import peewee
import pytest
import redis
import uvicorn
from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.server import free_port
from shared import queues
from shared.fileformat import SCHEMA_PATH
from shared.openhumans import client as oh_client
from shared.runtime import Runtime
from shared.settings import Settings
from tests.uploader.helpers import FILENAME, SANDBOX_CONFIG, Sandbox


@pytest.fixture(scope="session")
def sandbox_app() -> Iterator[tuple[str, Starlette]]:
    config = dataclasses.replace(SANDBOX_CONFIG, port=free_port())
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=config.host, port=config.port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="sandbox-uploader", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the sandbox did not start"
        time.sleep(0.02)
    yield f"http://{config.host}:{config.port}", app
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def sandbox(sandbox_app: tuple[str, Starlette]) -> Iterator[Sandbox]:
    """A freshly reset sandbox; afterwards every file the uploader wrote must match the schema."""
    url, app = sandbox_app
    with httpx.Client(base_url=url, timeout=10) as http:
        http.post("/_sandbox/reset").raise_for_status()
        box = Sandbox(url=url, app=app, http=http)
        yield box
        validator = jsonschema.Draft7Validator(json.loads(SCHEMA_PATH.read_text()))
        for stored in list(box.state.oh.files.values()):
            ours = stored.basename == FILENAME and stored.id not in box.written_by_tests
            if ours and stored.content is not None:
                validator.validate(json.loads(stored.content))


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's retry pauses only slow the tests down; the retries themselves still happen."""
    monkeypatch.setattr(oh_client, "FIRST_BACKOFF_S", 0.0)


@pytest.fixture
def runtime(
    settings: Settings, sandbox: Sandbox, database: peewee.Database, redis_url: str
) -> Iterator[Runtime]:
    """The uploader's runtime pointed at the sandbox, Redis db 13 and the test's SQLite file."""
    built = Runtime(
        dataclasses.replace(
            settings,
            openhumans_url=sandbox.openhumans_url,
            openhumans_client_id=SANDBOX_CONFIG.oh_client_id,
            openhumans_client_secret=SANDBOX_CONFIG.oh_client_secret,
            redis_url=redis_url,
        )
    )
    yield built
    built.close()


@pytest.fixture
def upload_queue(redis_url: str) -> Iterator[redis.Redis]:
    """The real Redis broker on the test database (busy members are re-sent through it)."""
    previous = dramatiq.broker.global_broker
    broker = queues.setup_broker(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()
        broker.close()
        dramatiq.set_broker(previous)  # type: ignore[arg-type]
