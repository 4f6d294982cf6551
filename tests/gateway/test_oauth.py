"""The two OAuth flows against the sandbox, following the real redirects, and every way a
callback can go wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from shared.crypto import TokenCipher
from shared.db import Member, connection
from shared.syncstate import SyncState


def only_member() -> Member:
    with connection():
        members = list(Member.select())
    assert len(members) == 1
    return members[0]


def assert_error_page(response: Any, *, status: int = 400, link: str = "/") -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert f'href="{link}"' in response.text
    assert "Traceback" not in response.text


def test_open_humans_login_creates_member_with_encrypted_tokens(
    browser: Any, settings: Any
) -> None:
    dashboard = browser.log_in(login="octo-typical")

    assert dashboard.status_code == 200
    assert browser.url == "http://testserver/dashboard"
    assert "octo-typical" in dashboard.text
    assert "Connect public activity only" in dashboard.text
    member = only_member()
    assert member.oh_username == "octo-typical"
    assert member.oh_member_id
    assert member.sync_state == SyncState.NEW
    assert member.oh_token_expires_at is not None
    # Stored encrypted: the cipher opens them, and they are not the plain tokens.
    cipher = TokenCipher(settings.token_encryption_keys)
    access = cipher.decrypt(member.oh_access_token)
    assert access and access not in member.oh_access_token
    assert cipher.decrypt(member.oh_refresh_token)
    # The session cookie holds no token.
    cookie = browser.gateway.cookies.get("ohgithub_session")
    assert cookie and access not in cookie


def test_logged_in_member_is_sent_from_landing_to_dashboard(browser: Any) -> None:
    browser.log_in()
    response = browser.gateway.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/dashboard"


def test_github_connect_stores_account_and_queues_a_sync(
    browser: Any, settings: Any, fetch_queue: Callable[[], list[dict[str, Any]]]
) -> None:
    browser.log_in()
    dashboard = browser.connect_github(login="octo-typical", private=False)

    assert dashboard.status_code == 200
    assert browser.url == "http://testserver/dashboard"
    assert "octo-typical" in dashboard.text
    assert "public activity only" in dashboard.text
    assert "Sync queued" in dashboard.text
    member = only_member()
    assert member.github_login == "octo-typical"
    assert member.github_id is not None
    assert member.github_created_at is not None
    assert member.github_scopes == "read:user"
    assert member.sync_state == SyncState.QUEUED
    assert member.sync_requested_at is not None
    token = TokenCipher(settings.token_encryption_keys).decrypt(member.github_token)
    assert token and token not in member.github_token
    messages = fetch_queue()
    assert [(m["actor_name"], m["args"]) for m in messages] == [("sync_member", [member.id])]


def test_private_access_records_the_granted_scopes(browser: Any) -> None:
    browser.log_in()
    dashboard = browser.connect_github(login="octo-small", private=True)
    assert "public and private repositories" in dashboard.text
    assert only_member().github_scopes == "read:user repo"


def test_private_access_asked_but_not_granted_says_so(browser: Any) -> None:
    browser.log_in()
    dashboard = browser.connect_github(login="octo-small", private=True, grant_repo=False)
    assert "granted access to public activity only" in dashboard.text
    assert only_member().github_scopes == "read:user"


@pytest.mark.parametrize("provider", ["openhumans", "github"])
def test_callback_without_code_is_a_400_page(browser: Any, provider: str) -> None:
    browser.log_in()
    response = browser.get(f"/auth/{provider}/callback")
    link = "/" if provider == "openhumans" else "/dashboard"
    assert_error_page(response, link=link)
    assert "lacks the code" in response.text


@pytest.mark.parametrize("provider", ["openhumans", "github"])
def test_callback_with_access_denied_is_a_400_page(browser: Any, provider: str) -> None:
    browser.log_in()
    response = browser.get(f"/auth/{provider}/callback?error=access_denied&state=x")
    link = "/" if provider == "openhumans" else "/dashboard"
    assert_error_page(response, link=link)
    assert "did not authorize" in response.text


def test_github_callback_with_forged_state_is_a_400_page(
    browser: Any, fetch_queue: Callable[[], list[dict[str, Any]]]
) -> None:
    browser.log_in()
    page = browser.get("/github/connect?private=0")
    form = browser.forms()[0]
    assert form.fields["state"]
    response = browser.get("/auth/github/callback?code=abc123def456&state=forged-state")
    assert_error_page(response, link="/dashboard")
    assert "could not match" in response.text
    assert page.status_code == 200
    assert only_member().github_token == ""
    assert fetch_queue() == []


def test_open_humans_callback_with_forged_state_is_a_400_page(browser: Any) -> None:
    browser.get("/login")
    response = browser.get("/auth/openhumans/callback?code=abc123def456&state=forged")
    assert_error_page(response)
    with connection():
        assert Member.select().count() == 0


def test_open_humans_callback_in_a_fresh_session_is_a_400_page(browser: Any) -> None:
    """A code arriving in a browser that never started the flow (or whose session expired)."""
    response = browser.get("/auth/openhumans/callback?code=abc123def456&origin=external")
    assert_error_page(response)
    assert "session expired" in response.text


def test_github_callback_after_session_expired_is_a_400_page(browser: Any) -> None:
    response = browser.get("/auth/github/callback?code=abc123def456&state=s")
    assert_error_page(response)
    assert "session has expired" in response.text


def test_github_code_refused_is_a_400_page(browser: Any) -> None:
    """GitHub answers a bad code with HTTP 200 and {"error": "bad_verification_code"}."""
    browser.log_in()
    browser.get("/github/connect?private=0")
    state = browser.forms()[0].fields["state"]
    response = browser.get(f"/auth/github/callback?code=not-a-real-code&state={state}")
    assert_error_page(response, link="/dashboard")
    assert "did not accept this authorization" in response.text


def test_github_connect_needs_login(browser: Any) -> None:
    response = browser.gateway.get("/github/connect?private=1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_logs_hold_neither_tokens_nor_codes(
    browser: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    logged_flow(browser)
    logs = capsys.readouterr().err
    member = only_member()
    cipher = TokenCipher(settings.token_encryption_keys)
    secrets = [
        cipher.decrypt(member.oh_access_token),
        cipher.decrypt(member.oh_refresh_token),
        cipher.decrypt(member.github_token),
        member.github_token,
    ]
    assert '"event": "github_connected"' in logs
    assert "/auth/github/callback" in logs
    assert "code=" not in logs
    for secret in secrets:
        assert secret not in logs


def logged_flow(browser: Any) -> None:
    browser.log_in()
    browser.get("/github/connect?private=0")
    form = browser.forms()[0]
    callback = browser.request(
        "POST",
        f"{browser.url.split('?')[0]}",
        data={**form.fields, "login": "octo-small"},
    )
    assert callback.status_code == 200
