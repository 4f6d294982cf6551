"""The deauthorization webhook erases only for a fresh, signed delivery seen once.

A captured signed delivery replayed later (after the member joined again) must not erase them
again; without a webhook secret nothing is erased (an unsigned webhook could name any member).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from shared.db import Member, connection
from tests.security.conftest import Live, webhook_body


def _project_member_id(username: str) -> str:
    with connection():
        return str(Member.get(Member.oh_username == username).oh_member_id)


def _still_member(username: str) -> bool:
    with connection():
        return bool(Member.select().where(Member.oh_username == username).exists())


def test_a_replayed_delivery_does_not_erase_a_member_who_came_back(live: Live) -> None:
    live.log_in(live.browser(), "alice")
    captured = webhook_body(
        _project_member_id("alice"), timestamp=dt.datetime.now(dt.UTC).isoformat()
    )
    assert live.webhook(captured).json() == {"status": "erased"}
    live.log_in(live.browser(), "alice")  # alice joins the project again

    replay = live.webhook(captured)

    assert replay.status_code == 200
    assert replay.json()["status"] == "ignored"
    assert _still_member("alice")


def test_an_old_delivery_is_refused(live: Live) -> None:
    live.log_in(live.browser(), "alice")
    an_hour_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    old = webhook_body(_project_member_id("alice"), timestamp=an_hour_ago)

    assert live.webhook(old).json()["status"] == "ignored"
    assert _still_member("alice")


def test_a_delivery_without_timestamp_is_refused(live: Live) -> None:
    live.log_in(live.browser(), "alice")
    body = webhook_body(_project_member_id("alice"), timestamp=None)
    assert live.webhook(body).json()["status"] == "ignored"
    assert _still_member("alice")


def test_open_humans_timestamp_formats_are_understood(live: Live) -> None:
    """``str(timezone.now())`` (a space, an offset) as Open Humans writes it, and epoch seconds."""
    now = dt.datetime.now(dt.UTC)
    for username, timestamp in (("alice", str(now)), ("bob", now.timestamp())):
        live.log_in(live.browser(), username)
        body = webhook_body(_project_member_id(username), timestamp=timestamp)
        assert live.webhook(body).json() == {"status": "erased"}, timestamp


def test_without_a_secret_an_unsigned_webhook_erases_nobody(serve: Callable[..., Live]) -> None:
    live = serve(openhumans_webhook_secret="")
    live.log_in(live.browser(), "alice")
    body = webhook_body(_project_member_id("alice"), timestamp=dt.datetime.now(dt.UTC).isoformat())

    answer = live.webhook(body, signed=False)

    assert answer.status_code == 200
    assert answer.json()["status"] == "ignored"
    assert _still_member("alice")
