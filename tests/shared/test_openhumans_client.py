"""The Open Humans client: paginated member data, the three-step upload, token refresh."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from shared.errors import MalformedResponse, OpenHumansAuthError, UpstreamUnavailable
from shared.openhumans import client as client_module
from shared.openhumans.client import MAX_ATTEMPTS, OpenHumansApi

OH = "https://openhumans.test"
STORAGE_URL = "https://storage.test/member-files/direct-sharing-1/abc.json?X-Amz-Signature=f00"
ACCESS = "oh-access-token-0123456789"
MEMBER = "12345678"
MEMBER_PATH = "/api/direct-sharing/project/exchange-member/"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "FIRST_BACKOFF_S", 0)


@pytest.fixture
def openhumans() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=False) as router:
        yield router


@pytest.fixture
def api() -> Iterator[OpenHumansApi]:
    with OpenHumansApi(base_url=OH + "/", client_id="oh-client", client_secret="oh-secret") as oh:
        yield oh


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def file_entry(file_id: int) -> dict[str, object]:
    return {
        "id": file_id,
        "basename": "github-activity.json",
        "created": "2024-05-01T00:00:00Z",
        "download_url": f"https://storage.test/{file_id}",
        "metadata": {"description": "d", "tags": ["github"]},
        "source": "direct-sharing-1",
    }


# ---- member ---------------------------------------------------------------------------------


def test_exchange_member_follows_next_pages_and_concatenates_the_files(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    page_2 = f"{OH}{MEMBER_PATH}?limit=100&offset=100"
    page_3 = f"{OH}{MEMBER_PATH}?limit=100&offset=200"
    pages = {
        None: {
            "project_member_id": MEMBER,
            "username": "alice",
            "data": [file_entry(1), file_entry(2)],
            "next": page_2,
        },
        "100": {"data": [file_entry(3)], "next": page_3},
        "200": {"data": [file_entry(4)], "next": None},
    }

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=pages[request.url.params.get("offset")])

    route = openhumans.get(url__startswith=f"{OH}{MEMBER_PATH}").mock(side_effect=respond)
    member = api.exchange_member(ACCESS)
    assert member["project_member_id"] == MEMBER
    assert member["username"] == "alice"
    assert [entry["id"] for entry in member["data"]] == [1, 2, 3, 4]
    assert route.call_count == 3
    assert str(route.calls[1].request.url) == page_2
    for call in route.calls:
        assert call.request.headers["Authorization"] == f"Bearer {ACCESS}"


def test_expired_access_token_is_an_auth_error(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    openhumans.get(f"{OH}{MEMBER_PATH}").respond(401, json={"detail": "Expired token."})
    with pytest.raises(OpenHumansAuthError):
        api.exchange_member(ACCESS)


# ---- upload ---------------------------------------------------------------------------------


def test_upload_requests_a_url_puts_the_bytes_then_completes(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    steps: list[str] = []
    seen: dict[str, httpx.Request] = {}

    def step(name: str, response: httpx.Response):  # type: ignore[no-untyped-def]
        def respond(request: httpx.Request) -> httpx.Response:
            request.read()
            steps.append(name)
            seen[name] = request
            return response

        return respond

    openhumans.post(f"{OH}/api/direct-sharing/project/files/upload/direct/").mock(
        side_effect=step("direct", httpx.Response(201, json={"id": 77, "url": STORAGE_URL}))
    )
    openhumans.put(STORAGE_URL).mock(side_effect=step("put", httpx.Response(200)))
    openhumans.post(f"{OH}/api/direct-sharing/project/files/upload/complete/").mock(
        side_effect=step("complete", httpx.Response(200, json={"status": "ok", "size": 11}))
    )
    content = b'{"a":"\xc3\xa9"}' + b" " * 3
    metadata = {"description": "GitHub activity", "tags": ["github", "commits"], "schema": 1}

    file_id = api.upload(
        ACCESS,
        project_member_id=MEMBER,
        filename="github-activity.json",
        metadata=metadata,
        content=io.BytesIO(content),
        size=len(content),
    )

    assert file_id == 77
    assert steps == ["direct", "put", "complete"]
    direct = form(seen["direct"])
    assert direct["project_member_id"] == MEMBER
    assert direct["filename"] == "github-activity.json"
    assert isinstance(direct["metadata"], str)
    sent_metadata = json.loads(direct["metadata"])
    assert sent_metadata == metadata
    assert isinstance(sent_metadata["description"], str)
    assert isinstance(sent_metadata["tags"], list)
    assert seen["direct"].headers["Authorization"] == f"Bearer {ACCESS}"

    put = seen["put"]
    assert str(put.url) == STORAGE_URL
    assert put.content == content
    assert "content-type" not in put.headers  # it is part of the storage signature
    assert "authorization" not in put.headers  # the member's token never goes to storage
    assert put.headers["content-length"] == str(len(content))

    complete = form(seen["complete"])
    assert complete == {"project_member_id": MEMBER, "file_id": "77"}


def test_a_failed_storage_put_never_completes(openhumans: respx.Router, api: OpenHumansApi) -> None:
    openhumans.post(f"{OH}/api/direct-sharing/project/files/upload/direct/").respond(
        201, json={"id": 78, "url": STORAGE_URL}
    )
    openhumans.put(STORAGE_URL).respond(403, text="SignatureDoesNotMatch")
    complete = openhumans.post(f"{OH}/api/direct-sharing/project/files/upload/complete/")
    complete.respond(200, json={"status": "ok"})
    with pytest.raises(UpstreamUnavailable):
        api.upload(
            ACCESS,
            project_member_id=MEMBER,
            filename="github-activity.json",
            metadata={"description": "d", "tags": []},
            content=io.BytesIO(b"{}"),
            size=2,
        )
    assert complete.call_count == 0


def test_an_upload_url_response_without_url_is_malformed(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    openhumans.post(f"{OH}/api/direct-sharing/project/files/upload/direct/").respond(
        201, json={"detail": "?"}
    )
    with pytest.raises(MalformedResponse):
        api.upload(
            ACCESS,
            project_member_id=MEMBER,
            filename="github-activity.json",
            metadata={"description": "d", "tags": []},
            content=io.BytesIO(b"{}"),
            size=2,
        )


def test_delete_sends_exactly_the_file_id(openhumans: respx.Router, api: OpenHumansApi) -> None:
    route = openhumans.post(f"{OH}/api/direct-sharing/project/files/delete/").respond(
        200, json={"ids": [77]}
    )
    api.delete_file(ACCESS, project_member_id=MEMBER, file_id=77)
    sent = form(route.calls.last.request)
    assert sent == {"project_member_id": MEMBER, "file_id": "77"}
    assert "all_files" not in sent and "file_basename" not in sent


def test_download_follows_the_redirect_to_storage(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    openhumans.get("https://openhumans.test/data/1/").respond(
        302, headers={"Location": "https://storage.test/signed/1"}
    )
    openhumans.get("https://storage.test/signed/1").respond(200, content=b"file-bytes")
    sink = io.BytesIO()
    assert api.download_to("https://openhumans.test/data/1/", sink) == len(b"file-bytes")
    assert sink.read() == b"file-bytes"


# ---- OAuth refresh --------------------------------------------------------------------------


def test_refresh_uses_basic_auth_and_returns_the_rotated_refresh_token(
    openhumans: respx.Router, api: OpenHumansApi
) -> None:
    route = openhumans.post(f"{OH}/oauth2/token/").respond(
        200,
        json={
            "access_token": "new-access",
            "refresh_token": "new-refresh",
            "expires_in": 36000,
            "token_type": "Bearer",
            "scope": "read write",
        },
    )
    token = api.refresh("old-refresh")
    assert token["access_token"] == "new-access"
    assert token["refresh_token"] == "new-refresh"
    request = route.calls.last.request
    expected = base64.b64encode(b"oh-client:oh-secret").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert form(request) == {"grant_type": "refresh_token", "refresh_token": "old-refresh"}


@pytest.mark.parametrize("status", [400, 401])
def test_invalid_grant_is_an_auth_error(
    openhumans: respx.Router, api: OpenHumansApi, status: int
) -> None:
    route = openhumans.post(f"{OH}/oauth2/token/").respond(status, json={"error": "invalid_grant"})
    with pytest.raises(OpenHumansAuthError):
        api.refresh("old-refresh")
    assert route.call_count == 1


def test_refresh_answering_html_is_malformed(openhumans: respx.Router, api: OpenHumansApi) -> None:
    openhumans.post(f"{OH}/oauth2/token/").respond(200, text="<html>maintenance</html>")
    with pytest.raises(MalformedResponse):
        api.refresh("old-refresh")


def test_5xx_is_retried(openhumans: respx.Router, api: OpenHumansApi) -> None:
    route = openhumans.post(f"{OH}/oauth2/token/").mock(
        side_effect=[
            httpx.Response(502),
            httpx.Response(200, json={"access_token": "a", "refresh_token": "r"}),
        ]
    )
    assert api.refresh("old-refresh")["access_token"] == "a"
    assert route.call_count == 2


def test_5xx_forever_is_unavailable(openhumans: respx.Router, api: OpenHumansApi) -> None:
    route = openhumans.get(f"{OH}{MEMBER_PATH}").respond(503)
    with pytest.raises(UpstreamUnavailable):
        api.exchange_member(ACCESS)
    assert route.call_count == MAX_ATTEMPTS


def test_timeouts_are_retried(openhumans: respx.Router, api: OpenHumansApi) -> None:
    route = openhumans.get(f"{OH}{MEMBER_PATH}").mock(
        side_effect=[httpx.ReadTimeout("slow"), httpx.Response(200, json={"data": []})]
    )
    assert api.exchange_member(ACCESS)["data"] == []
    assert route.call_count == 2


def test_plain_user_agent(openhumans: respx.Router, api: OpenHumansApi) -> None:
    route = openhumans.get(f"{OH}{MEMBER_PATH}").respond(200, json={"data": []})
    api.exchange_member(ACCESS)
    agent = route.calls.last.request.headers["User-Agent"]
    assert "bot" not in agent.lower() and "python" not in agent.lower()
