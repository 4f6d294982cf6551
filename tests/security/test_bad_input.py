"""Malformed input gets a 4xx (or the webhook's ignoring 200), never a 5xx or a traceback."""

from __future__ import annotations

import base64
import datetime as dt
import json

import httpx
import pytest
from itsdangerous import TimestampSigner

from tests.security.conftest import SECRET_KEY, WEBHOOK_PATH, Live, webhook_body

NOW = dt.datetime.now(dt.UTC).isoformat()


def assert_handled(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:500]
    assert "Traceback" not in response.text


def test_a_non_ascii_signature_header(live: Live) -> None:
    body = webhook_body("12345678", timestamp=NOW)
    response = httpx.post(
        live.url + WEBHOOK_PATH,
        content=body,
        headers={"X-OpenHumans-Webhooks-Signature": "sha1=é".encode() + b"0" * 38},
    )
    assert_handled(response)
    assert response.json()["status"] == "ignored"


def test_deeply_nested_json(live: Live) -> None:
    body = b"[" * 30_000 + b"]" * 30_000
    response = live.webhook(body)
    assert_handled(response)
    assert response.json()["status"] == "ignored"


@pytest.mark.parametrize(
    "project_member_id",
    ["\ud800", "12345678\x00", "1" * 5000, 10**200, -1.5e308, ["12345678"], {"id": 1}, True],
)
def test_impossible_member_ids(live: Live, project_member_id: object) -> None:
    body = json.dumps({"project_member_id": project_member_id, "timestamp": NOW}).encode()
    response = live.webhook(body)
    assert_handled(response)
    assert response.json()["status"] in ("ignored", "unknown member")


@pytest.mark.parametrize(
    "timestamp", [10**30, 1e308, "Infinity", "NaN", "0001-01-01T00:00:00+14:00", [], "x" * 100]
)
def test_impossible_timestamps(live: Live, timestamp: object) -> None:
    body = webhook_body("12345678", timestamp=timestamp).replace(b'"Infinity"', b"Infinity")
    response = live.webhook(body.replace(b'"NaN"', b"NaN"))
    assert_handled(response)
    assert response.json()["status"] == "ignored"


def _session_cookie(session: dict[str, object]) -> str:
    """A session cookie as Starlette's SessionMiddleware signs it (the test knows the key)."""
    data = base64.b64encode(json.dumps(session).encode())
    return TimestampSigner(SECRET_KEY).sign(data).decode()


@pytest.mark.parametrize("pending", ["a string", 42, ["list"], None])
def test_a_session_whose_oauth_state_is_not_a_dict(live: Live, pending: object) -> None:
    browser = live.browser()
    browser.cookies.set("ohgithub_session", _session_cookie({"_state_openhumans_abc": pending}))
    response = browser.get("/auth/openhumans/callback", params={"code": "x", "state": "abc"})
    assert_handled(response)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "session",
    [
        {"member_id": "1", "login": "x", "oh_member_id": "1"},
        {"member_id": 10**40, "login": "x", "oh_member_id": "1"},
        {"member_id": True, "login": 5},
        {"flash": "not a list", "csrf": 5},
        {"flash": [1, "x", None]},
    ],
)
def test_odd_but_signed_sessions(live: Live, session: dict[str, object]) -> None:
    browser = live.browser()
    browser.cookies.set("ohgithub_session", _session_cookie(session))
    for path in ("/", "/dashboard", "/api/status"):
        assert_handled(browser.get(path))
    assert_handled(browser.post("/sync", data={"csrf_token": "5"}))


def test_a_forged_session_cookie_is_just_no_session(live: Live) -> None:
    browser = live.browser()
    browser.cookies.set("ohgithub_session", "eyJtZW1iZXJfaWQiOiAxfQ==.forged.signature")
    assert browser.get("/dashboard").headers["location"] == "/"


def test_a_lone_surrogate_in_the_query(live: Live) -> None:
    browser = live.browser()
    for path in (
        "/github/connect?private=%ED%A0%80",
        "/auth/openhumans/callback?code=%ED%A0%80&state=%ff",
    ):
        assert_handled(browser.get(path))


def test_a_form_that_is_not_a_form(live: Live) -> None:
    browser = live.browser()
    live.log_in(browser, "alice")
    for content_type, body in (
        ("multipart/form-data; boundary=x", b"--x\r\nnonsense"),
        ("application/x-www-form-urlencoded", b"csrf_token=%ED%A0%80&" * 10),
        ("application/json", b"{"),
    ):
        response = browser.post("/sync", content=body, headers={"content-type": content_type})
        assert_handled(response)
        assert response.status_code == 400
