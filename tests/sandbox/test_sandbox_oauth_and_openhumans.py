"""Both OAuth flows through real redirects, and Open Humans driven by the official ohapi client."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from ohapi import api as ohapi
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.server import free_port

CALLBACK = "/_sandbox/callback"


def _authorize(client: httpx.Client, path: str, params: dict[str, str], **form: str) -> Any:
    page = client.get(path, params=params)
    assert page.status_code == 200 and "Authorize" in page.text
    answer = client.post(path, data={**params, **form}, follow_redirects=True)
    assert answer.status_code == 200
    return answer.json()  # the callback echoes its query


def test_github_oauth_flow_and_single_use_code(client: httpx.Client, sandbox_url: str) -> None:
    params = {
        "client_id": "sandbox-github-client",
        "redirect_uri": sandbox_url + CALLBACK,
        "scope": "repo,read:user",
        "state": "xyz",
    }
    echoed = _authorize(client, "/github/login/oauth/authorize", params, login="octo-typical")
    assert echoed["state"] == "xyz"
    exchange = {
        "client_id": "sandbox-github-client",
        "client_secret": "sandbox-github-secret",
        "code": echoed["code"],
        "redirect_uri": sandbox_url + CALLBACK,
    }
    accept = {"Accept": "application/json"}
    token = client.post("/github/login/oauth/access_token", data=exchange, headers=accept).json()
    assert token["token_type"] == "bearer"
    # The repo box was not ticked in the form data: the grant is narrower than the request.
    assert token["scope"] == "read:user"
    again = client.post("/github/login/oauth/access_token", data=exchange, headers=accept)
    assert again.status_code == 200 and again.json()["error"] == "bad_verification_code"
    user = client.get(
        "/github-api/user", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert user.json()["login"] == "octo-typical"
    assert user.headers["x-oauth-scopes"] == "read:user"
    bad = client.post(
        "/github/login/oauth/access_token",
        json={**exchange, "client_secret": "wrong"},
        headers=accept,
    )
    assert bad.json()["error"] == "incorrect_client_credentials"
    unknown = client.get("/github/login/oauth/authorize", params={**params, "client_id": "x"})
    assert unknown.status_code == 404


def _oh_tokens(client: httpx.Client, sandbox_url: str, username: str) -> dict[str, Any]:
    params = {
        "client_id": "sandbox-oh-client",
        "response_type": "code",
        "redirect_uri": sandbox_url + CALLBACK,
    }
    echoed = _authorize(
        client, "/openhumans/direct-sharing/projects/oauth2/authorize/", params, login=username
    )
    assert echoed["origin"] == "external"
    return ohapi.oauth2_token_exchange(
        "sandbox-oh-client",
        "sandbox-oh-secret",
        sandbox_url + CALLBACK,
        base_url=sandbox_url + "/",
        code=echoed["code"],
    )


def test_openhumans_oauth_and_refresh_rotation(client: httpx.Client, sandbox_url: str) -> None:
    tokens = _oh_tokens(client, sandbox_url, "octo-small")
    assert tokens["expires_in"] == 36000 and tokens["token_type"] == "Bearer"
    rotated = ohapi.oauth2_token_exchange(
        "sandbox-oh-client",
        "sandbox-oh-secret",
        sandbox_url + CALLBACK,
        base_url=sandbox_url + "/",
        refresh_token=tokens["refresh_token"],
    )
    assert rotated["refresh_token"] != tokens["refresh_token"]
    reused = client.post(
        "/openhumans/oauth2/token/",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("sandbox-oh-client", "sandbox-oh-secret"),
    )
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    wrong_client = client.post(
        "/openhumans/oauth2/token/",
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
        auth=("sandbox-oh-client", "nope"),
    )
    assert wrong_client.status_code == 401
    client.post("/_sandbox/faults", json={"kind": "expire_oh_token", "login": "octo-small"})
    expired = client.get(
        "/openhumans/api/direct-sharing/project/exchange-member/",
        headers={"Authorization": f"Bearer {rotated['access_token']}"},
    )
    assert expired.status_code == 401 and expired.json() == {"detail": "Expired token."}


def test_ohapi_upload_list_download_delete_message(
    client: httpx.Client, sandbox_url: str, tmp_path: Path
) -> None:
    base = sandbox_url + "/"
    token = _oh_tokens(client, sandbox_url, "octo-small")["access_token"]
    target = tmp_path / "github-activity.json"
    target.write_bytes(b'{"schema": 1}')
    metadata = {"description": "GitHub activity", "tags": ["github"]}
    ohapi.upload_aws(str(target), metadata, token, base_url=base)
    ohapi.upload_aws(str(target), metadata, token, base_url=base)  # a second file, same name
    member = ohapi.exchange_oauth2_member(token, base_url=base)
    assert (
        member["project_member_id"]
        == client.get("/_sandbox/openhumans/members/octo-small").json()["project_member_id"]
    )
    assert [f["basename"] for f in member["data"]] == ["github-activity.json"] * 2
    download = httpx.get(member["data"][0]["download_url"], follow_redirects=True)
    assert download.content == b'{"schema": 1}'
    ohapi.delete_file(
        token, member["project_member_id"], base_url=base, file_id=member["data"][0]["id"]
    )
    files = client.get("/_sandbox/openhumans/members/octo-small/files").json()["files"]
    assert [f["id"] for f in files] == [member["data"][1]["id"]]
    assert files[0]["metadata"] == metadata and files[0]["size"] == 13
    ohapi.message("Hello", "Your data is ready.", token, base_url=base)
    messages = client.get("/_sandbox/openhumans/messages?username=octo-small").json()["messages"]
    assert messages[0]["subject"] == "Hello"
    with pytest.raises(Exception, match="400"):
        ohapi.upload_aws(str(target), {"tags": []}, token, base_url=base)


def test_storage_refuses_a_put_with_content_type(client: httpx.Client) -> None:
    tokens = client.post("/_sandbox/openhumans/tokens", json={"username": "octo-small"}).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    direct = client.post(
        "/openhumans/api/direct-sharing/project/files/upload/direct/",
        data={
            "project_member_id": tokens["project_member_id"],
            "filename": "a.json",
            "metadata": json.dumps({"description": "d", "tags": []}),
        },
        headers=headers,
    )
    assert direct.status_code == 201
    url, file_id = direct.json()["url"], direct.json()["id"]
    complete = "/openhumans/api/direct-sharing/project/files/upload/complete/"
    early = client.post(complete, data={"file_id": file_id}, headers=headers)
    assert early.status_code == 400
    refused = httpx.put(url, content=b"{}", headers={"Content-Type": "application/json"})
    assert refused.status_code == 403 and "SignatureDoesNotMatch" in refused.text
    assert httpx.put(url, content=b"{}").status_code == 200
    done = client.post(complete, data={"file_id": file_id}, headers=headers)
    assert done.json() == {"status": "ok", "size": 2}


def test_deauthorize_calls_the_webhook_signed(client: httpx.Client) -> None:
    client.post("/_sandbox/openhumans/tokens", json={"username": "octo-small"})
    received: list[tuple[bytes, str]] = []

    async def webhook(request: Request) -> Response:
        received.append((await request.body(), request.headers["x-openhumans-webhooks-signature"]))
        return Response(status_code=204)

    app = Starlette(routes=[Route("/hook", webhook, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        answer = client.post(
            "/_sandbox/openhumans/deauthorize",
            json={
                "username": "octo-small",
                "erasure_requested": True,
                "webhook_url": f"http://127.0.0.1:{server.config.port}/hook",
            },
        )
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    assert answer.json() == {"webhook_status": 204}
    body, signature = received[0]
    expected = hmac.new(b"sandbox-webhook-secret", body, hashlib.sha1).hexdigest()
    assert signature == f"sha1={expected}"
    payload = json.loads(body)
    assert payload["erasure_requested"] is True
    member = client.get("/_sandbox/openhumans/members/octo-small").json()
    assert payload["project_member_id"] == member["project_member_id"]
