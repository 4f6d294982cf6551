"""Open Humans' deauthorization webhook: signed, unsigned re-send, and the erasure it causes."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from shared.db import Member, StagedWeek, connection, utcnow

URL = "/webhooks/openhumans/deauthorize"
SECRET = "sandbox-webhook-secret"


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


@pytest.fixture
def member_id(client: Any) -> int:
    with connection():
        member = Member.create(
            oh_member_id="87654321", oh_username="leaver", github_token="x", oh_access_token="y"
        )
        StagedWeek.create(
            member=member, week="2024-W18", data="{}", complete=True, fetched_at=utcnow()
        )
    return int(member.id)


def members_left() -> int:
    with connection():
        return int(Member.select().count()) + int(StagedWeek.select().count())


def payload(**fields: Any) -> bytes:
    body = {
        "project_member_id": "87654321",
        "erasure_requested": True,
        "timestamp": utcnow().isoformat(),
    }
    body.update(fields)
    return json.dumps(body).encode()


def test_signed_webhook_erases_the_member(client: Any, member_id: int) -> None:
    body = payload()
    response = client.post(
        URL, content=body, headers={"X-OpenHumans-Webhooks-Signature": sign(body)}
    )
    assert response.status_code == 200
    assert response.json() == {"status": "erased"}
    assert members_left() == 0


@pytest.mark.parametrize("header", [None, "sha1=" + "0" * 40, "md5=abc"])
def test_bad_signature_is_ignored_but_answered_2xx(
    client: Any, member_id: int, header: str | None
) -> None:
    headers = {} if header is None else {"X-OpenHumans-Webhooks-Signature": header}
    response = client.post(URL, content=payload(), headers=headers)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert members_left() == 2


def test_signature_with_another_secret_is_ignored(client: Any, member_id: int) -> None:
    body = payload()
    headers = {"X-OpenHumans-Webhooks-Signature": sign(body, "another-secret")}
    assert client.post(URL, content=body, headers=headers).json()["status"] == "ignored"
    assert members_left() == 2


def test_unknown_member_and_garbage_are_answered_2xx(client: Any, member_id: int) -> None:
    body = payload(project_member_id="11111111")
    headers = {"X-OpenHumans-Webhooks-Signature": sign(body)}
    assert client.post(URL, content=body, headers=headers).json() == {"status": "unknown member"}
    garbage = b"not json"
    headers = {"X-OpenHumans-Webhooks-Signature": sign(garbage)}
    response = client.post(URL, content=garbage, headers=headers)
    assert response.status_code == 200
    assert members_left() == 2


def test_a_signed_double_encoded_body_is_understood(client: Any, member_id: int) -> None:
    """Open Humans' re-send shape (JSON inside a JSON string), when it is signed."""
    body = json.dumps(payload().decode()).encode()
    assert body.startswith(b'"')
    response = client.post(
        URL, content=body, headers={"X-OpenHumans-Webhooks-Signature": sign(body)}
    )
    assert response.json() == {"status": "erased"}
    assert members_left() == 0


def test_without_a_secret_no_webhook_erases_anyone(settings: Any, tmp_path: Path) -> None:
    """An unsigned webhook could erase any member: without a secret every webhook is ignored."""
    from dataclasses import replace

    with TestClient(create_app(replace(settings, openhumans_webhook_secret=""))) as client:
        with connection():
            Member.create(oh_member_id="87654321", oh_username="leaver")
        body = json.dumps(payload().decode()).encode()
        response = client.post(URL, content=body)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    with connection():
        assert Member.select().count() == 1


def test_deauthorized_member_is_logged_out_and_erased(browser: Any) -> None:
    """A member who went through both OAuth flows, then left the project on Open Humans."""
    browser.log_in(login="octo-heavy")
    browser.connect_github(login="octo-heavy")
    with connection():
        project_member_id = Member.get().oh_member_id
    body = payload(project_member_id=project_member_id)
    response = browser.gateway.post(
        URL, content=body, headers={"X-OpenHumans-Webhooks-Signature": sign(body)}
    )
    assert response.json() == {"status": "erased"}
    assert members_left() == 0
    assert browser.gateway.get("/api/status").status_code == 401
    assert browser.get("/dashboard").url == "http://testserver/"
