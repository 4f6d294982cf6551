"""One HTTP client per worker process, shared by every member's GitHub and Open Humans calls:
each request carries its own member's token, nothing of one member rides along on another's,
and closing a member's client leaves the process's client open."""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
import respx

from shared.github.client import GitHubClient
from shared.http import process_client
from shared.openhumans.client import USER_AGENT, OpenHumansApi

API = "https://api.github.test"
OH = "https://openhumans.test"


@pytest.fixture
def shared() -> Iterator[httpx.Client]:
    with process_client(timeout_s=5) as client:
        yield client


@pytest.fixture
def mocked() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def user(login: str) -> dict[str, object]:
    return {"id": 1, "login": login, "created_at": "2020-01-01T00:00:00Z"}


def test_each_members_request_carries_its_own_token_and_no_cookie(
    shared: httpx.Client, mocked: respx.Router
) -> None:
    route = mocked.get(f"{API}/user")
    route.side_effect = [
        httpx.Response(200, json=user("first"), headers={"set-cookie": "session=first; Path=/"}),
        httpx.Response(200, json=user("second")),
    ]
    with GitHubClient(api_url=API, token="gho_first", http=shared) as first:
        assert first.get_user().login == "first"
    with GitHubClient(api_url=API, token="gho_second", http=shared) as second:
        assert second.get_user().login == "second"
    requests = [call.request for call in route.calls]
    assert [r.headers["Authorization"] for r in requests] == [
        "Bearer gho_first",
        "Bearer gho_second",
    ]
    assert "cookie" not in requests[1].headers  # the first member's cookie is not kept
    assert "authorization" not in shared.headers  # no member's token stays in the shared client
    assert not shared.is_closed  # a member's client is done; the process's stays open


def test_open_humans_calls_share_the_client_and_the_upload_sends_no_content_type(
    shared: httpx.Client, mocked: respx.Router
) -> None:
    storage = "https://storage.test/put-here"
    direct = mocked.post(f"{OH}/api/direct-sharing/project/files/upload/direct/").respond(
        201, json={"id": 7, "url": storage}
    )
    put = mocked.put(storage).respond(200)
    mocked.post(f"{OH}/api/direct-sharing/project/files/upload/complete/").respond(
        200, json={"status": "ok", "size": 3}
    )
    with OpenHumansApi(base_url=OH, http=shared) as api:
        file_id = api.upload(
            "oh-token",
            project_member_id="12345678",
            filename="f.json",
            metadata={"description": "d", "tags": []},
            content=io.BytesIO(b"abc"),
            size=3,
        )
    assert file_id == 7
    assert direct.calls[0].request.headers["User-Agent"] == USER_AGENT
    assert direct.calls[0].request.headers["Authorization"] == "Bearer oh-token"
    assert "content-type" not in put.calls[0].request.headers  # it would break the signature
    assert put.calls[0].request.content == b"abc"
    assert not shared.is_closed


def test_a_client_without_a_shared_one_closes_its_own(mocked: respx.Router) -> None:
    github = GitHubClient(api_url=API, token="gho_x")
    openhumans = OpenHumansApi(base_url=OH)
    github.close()
    openhumans.close()
    assert github._http.is_closed and openhumans._http.is_closed
