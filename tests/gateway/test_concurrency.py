"""Fifty members polling at once get their status, on SQLite and on a pooled PostgreSQL.

The gateway runs under uvicorn, as ``python -m gateway`` serves it; before its database pool was
sized to its thread pool, a quarter of these requests got a 500 (MaxConnectionsExceeded).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from gateway.app import create_app
from sandbox.server import free_port, serve_in_thread
from shared import db as shared_db
from tests.gateway.conftest import make_settings

USERS = 50
POLLS_PER_USER = 6
_FORM = re.compile(r"<form[^>]*action=\"([^\"]*)\"", re.IGNORECASE)
_HIDDEN = re.compile(
    r"<input[^>]*type=\"hidden\"[^>]*name=\"([^\"]+)\"[^>]*value=\"([^\"]*)\"", re.IGNORECASE
)


@pytest.fixture(params=["sqlite", "postgres+pool"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/gateway.sqlite3"
        return
    url = urlsplit(request.getfixturevalue("postgres_url"))
    yield urlunsplit(url._replace(scheme="postgres+pool"))
    shared_db.init_database(urlunsplit(url))
    with shared_db.connection():
        shared_db.db.drop_tables(shared_db.MODELS, safe=True)
    shared_db.close_database()


@pytest.fixture
def gateway_url(
    database_url: str, tmp_path: Path, sandbox_url: str, redis_url: str
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = make_settings(
        tmp_path,
        sandbox_url,
        redis_url,
        database_url=database_url,
        app_base_url=url,
        # Fifty logins from one address: the request rates are another test's subject.
        rate_limit_login="off",
        rate_limit_ip="off",
        rate_limit_member="off",
    )
    stop = serve_in_thread(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        name="gateway",
        log_config=None,
        access_log=False,
    )
    yield url
    stop()


def _log_in(gateway_url: str, login: str) -> dict[str, str]:
    """Log in with Open Humans through the sandbox's consent page; returns the cookies."""
    with httpx.Client(follow_redirects=True, timeout=30) as client:
        page = client.get(f"{gateway_url}/login")
        action = _FORM.search(page.text)
        assert action is not None, page.text[:500]
        data = {name: html.unescape(value) for name, value in _HIDDEN.findall(page.text)}
        data["login"] = login
        dashboard = client.post(str(page.url.join(html.unescape(action.group(1)))), data=data)
        assert dashboard.url.path == "/dashboard", dashboard.text[:500]
        return dict(client.cookies.items())


def _poll(gateway_url: str, cookies: dict[str, str]) -> list[Any]:
    answers = []
    with httpx.Client(base_url=gateway_url, cookies=cookies, timeout=60) as client:
        for _ in range(POLLS_PER_USER):
            response = client.get("/api/status")
            answers.append((response.status_code, response.json().get("state")))
    return answers


def test_fifty_members_polling_at_once_all_get_their_status(gateway_url: str) -> None:
    cookies = [_log_in(gateway_url, f"octo-poll-{n}") for n in range(USERS)]
    with ThreadPoolExecutor(max_workers=USERS) as pool:
        answers = [a for user in pool.map(lambda c: _poll(gateway_url, c), cookies) for a in user]
    assert answers == [(200, "new")] * (USERS * POLLS_PER_USER)
