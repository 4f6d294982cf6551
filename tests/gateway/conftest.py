"""Fixtures of the gateway tests: a temporary SQLite database, real Redis (db 15), the
in-process sandbox, and the gateway under Starlette's TestClient.

Redis and the sandbox are required: without them these fixtures skip on a laptop but fail
when ``CI=true`` (dramatiq's pattern), so a missing service never turns CI green.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import service_missing

GATEWAY_HOST = "testserver"
MAX_REDIRECTS = 10


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    try:
        from sandbox.config import SandboxConfig
        from sandbox.server import run_in_thread
    except ImportError as error:
        service_missing(f"sandbox not importable: {error}")
    try:
        base_url, stop = run_in_thread(SandboxConfig())
    except (OSError, RuntimeError) as error:
        service_missing(f"sandbox did not start: {error}")
    yield base_url
    stop()


def make_settings(tmp_path: Path, sandbox_url: str, redis_url: str, **overrides: Any) -> Any:
    from shared.settings import Settings

    values: dict[str, Any] = {
        "app_base_url": "http://testserver",
        "secret_key": "test-secret-key",
        "database_url": f"sqlite:///{tmp_path}/gateway.sqlite3",
        "redis_url": redis_url,
        "openhumans_url": f"{sandbox_url}/openhumans",
        "openhumans_client_id": "sandbox-oh-client",
        "openhumans_client_secret": "sandbox-oh-secret",
        "openhumans_webhook_secret": "sandbox-webhook-secret",
        "github_web_url": f"{sandbox_url}/github",
        "github_api_url": f"{sandbox_url}/github-api",
        "github_client_id": "sandbox-github-client",
        "github_client_secret": "sandbox-github-secret",
        "sync_cooldown_s": 3600,
        "http_timeout_s": 10,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(tmp_path: Path, sandbox_url: str, redis_url: str, redis_client: Any) -> Any:
    return make_settings(tmp_path, sandbox_url, redis_url)


@pytest.fixture
def client(settings: Any) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from gateway.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def browser(client: Any) -> Iterator[Browser]:
    with Browser(client) as session:
        yield session


# ---- a tiny browser: follows redirects across the gateway and the sandbox, submits forms ----


class Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: dict[str, str] = {}
        self.selects: dict[str, list[str]] = {}
        self.radios: dict[str, list[str]] = {}
        self.submits: list[tuple[str, str, str]] = []  # (name, value, label)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._select: str | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif not self.forms:
            return
        form = self.forms[-1] if self.forms else None
        if form is None:
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            name = a.get("name", "")
            if kind == "submit":
                form.submits.append((name, a.get("value", ""), a.get("value", "")))
            elif kind == "radio" and name:
                form.radios.setdefault(name, []).append(a.get("value", ""))
                if "checked" in a:
                    form.fields[name] = a.get("value", "")
            elif kind == "checkbox":
                if name and "checked" in a:
                    form.fields[name] = a.get("value", "on")
            elif name:
                form.fields[name] = a.get("value", "")
        elif tag == "select":
            self._select = a.get("name", "")
            form.selects[self._select] = []
        elif tag == "option" and self._select is not None:
            form.selects[self._select].append(a.get("value", ""))
            if "selected" in a or self._select not in form.fields:
                form.fields[self._select] = a.get("value", "")
        elif tag == "button":
            if a.get("type", "submit").lower() == "submit":
                self._button = [a.get("name", ""), a.get("value", ""), ""]
        elif tag == "textarea" and a.get("name"):
            form.fields[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "button" and self._button is not None and self.forms:
            name, value, label = self._button
            self.forms[-1].submits.append((name, value, label.strip()))
            self._button = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class Browser:
    """Cookies for both hosts (TestClient keeps the gateway's, httpx the sandbox's)."""

    def __init__(self, gateway: Any) -> None:
        self.gateway = gateway
        self.outside = httpx.Client(timeout=10)
        self.url = ""
        self.response: httpx.Response | None = None

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.outside.close()

    def _client(self, url: str) -> Any:
        return self.gateway if urlsplit(url).hostname == GATEWAY_HOST else self.outside

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send and follow redirects, whichever host they lead to; returns the last response."""
        url = urljoin(f"http://{GATEWAY_HOST}/", url)  # a bare path means the gateway
        for _ in range(MAX_REDIRECTS):
            response: httpx.Response = self._client(url).request(
                method, url, follow_redirects=False, **kwargs
            )
            if response.status_code not in (301, 302, 303, 307, 308):
                self.url = url
                self.response = response
                return response
            url = urljoin(url, response.headers["location"])
            if response.status_code in (301, 302, 303):
                method, kwargs = "GET", {}
        raise AssertionError(f"too many redirects, last at {url}")

    def get(self, url: str) -> httpx.Response:
        return self.request("GET", url)

    def submit(self, *, index: int = 0, button: str | None = None, **values: str) -> httpx.Response:
        """Submit the page's form number ``index`` with ``values``, pressing ``button``."""
        assert self.response is not None
        forms = parse_forms(self.response.text)
        assert forms, f"no form on {self.url}:\n{self.response.text[:2000]}"
        form = forms[index]
        data = dict(form.fields)
        data.update(values)
        for name, value, label in form.submits:
            if name and (button is None or button in (label, value)):
                data[name] = value
                break
        action = urljoin(self.url, form.action or self.url)
        if form.method == "post":
            return self.request("POST", action, data=data)
        return self.request("GET", action, params=data)

    def forms(self) -> list[Form]:
        assert self.response is not None
        return parse_forms(self.response.text)

    def log_in(self, *, login: str = "") -> httpx.Response:
        """Landing → Log in with Open Humans → sandbox Authorize → (the dashboard)."""
        landing = self.get("/")
        assert 'href="/login"' in landing.text
        page = self.get("/login")
        assert page.status_code == 200, page.text[:500]
        return self.submit(**({"login": login} if login else {}))

    def connect_github(
        self, *, login: str = "octo-typical", private: bool = False, grant_repo: bool = True
    ) -> httpx.Response:
        """Dashboard → Connect GitHub → sandbox Authorize as ``login`` → (the dashboard)."""
        page = self.get(f"/github/connect?private={int(private)}")
        assert page.status_code == 200, page.text[:500]
        form = self.forms()[0]
        data = {**form.fields, "login": login}
        if not grant_repo:
            data.pop("grant_repo", None)  # untick "also grant repo": less than was asked
        return self.request("POST", urljoin(self.url, form.action), data=data)

    def csrf_token(self) -> str:
        """The CSRF token of the dashboard's forms."""
        page = self.get("/dashboard")
        return parse_forms(page.text)[0].fields["csrf_token"]

    def form_options(self, *, index: int = 0) -> dict[str, list[str]]:
        """Choices the page's form offers (selects and radio groups)."""
        assert self.response is not None
        form = parse_forms(self.response.text)[index]
        return {**form.selects, **form.radios}


@pytest.fixture
def fetch_queue(redis_client: Any) -> Callable[[], list[dict[str, Any]]]:
    """Reads the messages waiting on the ``fetch`` queue (dramatiq's Redis layout)."""

    def messages() -> list[dict[str, Any]]:
        return [json.loads(body) for body in redis_client.hvals("ohgithub:fetch.msgs")]

    return messages
