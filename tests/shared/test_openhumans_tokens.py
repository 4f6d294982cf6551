"""The member's Open Humans tokens: stored encrypted, refreshed once, rotation saved."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import peewee
import pytest
import redis
import respx

from shared.crypto import TokenCipher
from shared.db import Member, connection, utcnow
from shared.errors import OpenHumansAuthError
from shared.openhumans.client import OpenHumansApi
from shared.openhumans.tokens import fresh_access_token
from shared.settings import Settings
from shared.syncstate import SyncState

OH = "https://openhumans.test"
TOKEN_URL = f"{OH}/oauth2/token/"


@pytest.fixture
def cipher(settings: Settings) -> TokenCipher:
    return TokenCipher(settings.token_encryption_keys)


@pytest.fixture
def api() -> Iterator[OpenHumansApi]:
    with OpenHumansApi(base_url=OH, client_id="oh-client", client_secret="oh-secret") as oh:
        yield oh


@pytest.fixture
def openhumans() -> Iterator[respx.Router]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def make_member(cipher: TokenCipher, *, expires_in: dt.timedelta) -> Member:
    return Member.create(
        oh_member_id="12345678",
        oh_access_token=cipher.encrypt("old-access"),
        oh_refresh_token=cipher.encrypt("old-refresh"),
        oh_token_expires_at=utcnow() + expires_in,
        sync_state=SyncState.IDLE,
    )


def token_response(n: int = 1) -> dict[str, object]:
    return {
        "access_token": f"new-access-{n}",
        "refresh_token": f"new-refresh-{n}",
        "expires_in": 36000,
        "token_type": "Bearer",
        "scope": "read write",
    }


def test_a_valid_stored_token_is_returned_without_a_refresh(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    member = make_member(cipher, expires_in=dt.timedelta(hours=5))
    route = openhumans.post(TOKEN_URL).respond(200, json=token_response())
    token = fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    assert token == "old-access"
    assert route.call_count == 0


@pytest.mark.parametrize("expires_in_s", [59, 30, 0, -3600])
def test_a_token_expiring_within_a_minute_is_refreshed_and_both_tokens_stored(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
    expires_in_s: int,
) -> None:
    member = make_member(cipher, expires_in=dt.timedelta(seconds=expires_in_s))
    route = openhumans.post(TOKEN_URL).respond(200, json=token_response())
    token = fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    assert token == "new-access-1"
    assert route.call_count == 1
    sent = parse_qs(route.calls.last.request.content.decode())
    assert sent["refresh_token"] == ["old-refresh"]

    stored = Member.get_by_id(member.id)
    assert "new-access-1" not in stored.oh_access_token  # encrypted at rest
    assert "new-refresh-1" not in stored.oh_refresh_token
    assert cipher.decrypt(stored.oh_access_token) == "new-access-1"
    assert cipher.decrypt(stored.oh_refresh_token) == "new-refresh-1"
    expected_expiry = utcnow() + dt.timedelta(seconds=36000)
    assert abs(stored.oh_token_expires_at - expected_expiry) < dt.timedelta(seconds=30)

    # The refreshed token is now used as is.
    again = fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    assert again == "new-access-1"
    assert route.call_count == 1


def test_force_refreshes_a_token_that_looks_valid(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    member = make_member(cipher, expires_in=dt.timedelta(hours=5))
    route = openhumans.post(TOKEN_URL).respond(200, json=token_response())
    token = fresh_access_token(
        member.id, api=api, cipher=cipher, redis_client=redis_client, force=True
    )
    assert token == "new-access-1"
    assert route.call_count == 1


def test_invalid_grant_marks_the_member_needs_login(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    member = make_member(cipher, expires_in=dt.timedelta(seconds=10))
    openhumans.post(TOKEN_URL).respond(400, json={"error": "invalid_grant"})
    with pytest.raises(OpenHumansAuthError):
        fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    stored = Member.get_by_id(member.id)
    assert stored.sync_state == SyncState.NEEDS_LOGIN
    assert stored.sync_detail  # the dashboard says why
    assert cipher.decrypt(stored.oh_refresh_token) == "old-refresh"


def test_no_refresh_token_is_an_auth_error(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    member = Member.create(oh_member_id="1", sync_state=SyncState.IDLE)
    route = openhumans.post(TOKEN_URL).respond(200, json=token_response())
    with pytest.raises(OpenHumansAuthError):
        fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    assert route.call_count == 0


def test_two_threads_refreshing_at_once_make_one_refresh_call(
    database: peewee.Database,
    redis_url: str,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    member = make_member(cipher, expires_in=dt.timedelta(seconds=5))
    refreshes = iter(range(1, 10))

    def slow_refresh(request: httpx.Request) -> httpx.Response:
        time.sleep(0.2)  # both threads are past the first "is it usable?" check by now
        return httpx.Response(200, json=token_response(next(refreshes)))

    route = openhumans.post(TOKEN_URL).mock(side_effect=slow_refresh)
    start = threading.Barrier(2)
    tokens: list[str] = []
    errors: list[BaseException] = []

    def refresh() -> None:
        client = redis.Redis.from_url(redis_url)
        try:
            with (
                OpenHumansApi(base_url=OH, client_id="c", client_secret="s") as own_api,
                connection(),
            ):
                start.wait()
                tokens.append(
                    fresh_access_token(member.id, api=own_api, cipher=cipher, redis_client=client)
                )
        except BaseException as error:
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert route.call_count == 1
    assert tokens == ["new-access-1", "new-access-1"]
    assert cipher.decrypt(Member.get_by_id(member.id).oh_refresh_token) == "new-refresh-1"


def test_wrong_project_credentials_do_not_send_members_to_log_in_again(
    database: peewee.Database,
    redis_client: redis.Redis,
    openhumans: respx.Router,
    api: OpenHumansApi,
    cipher: TokenCipher,
) -> None:
    from shared.errors import OpenHumansMisconfigured

    member = make_member(cipher, expires_in=dt.timedelta(seconds=10))
    openhumans.post(TOKEN_URL).respond(401, json={"error": "invalid_client"})
    with pytest.raises(OpenHumansMisconfigured):
        fresh_access_token(member.id, api=api, cipher=cipher, redis_client=redis_client)
    stored = Member.get_by_id(member.id)
    assert stored.sync_state != SyncState.NEEDS_LOGIN
    assert cipher.decrypt(stored.oh_refresh_token) == "old-refresh"
