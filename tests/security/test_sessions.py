"""Sessions are bound to a login that the server can end, never only to a database id.

SQLite hands a deleted member's id to the next member who joins; an old cookie of the member who
left must not open the new member's dashboard. Logging out, leaving the project and erasure end
every login of the member, in every browser.
"""

from __future__ import annotations

import datetime as dt

from shared.db import Member, connection
from tests.e2e.harness import submit_authorize_form
from tests.security.conftest import Live, follow, webhook_body


def _leave(live: Live, username: str) -> None:
    with connection():
        project_member_id = Member.get(Member.oh_username == username).oh_member_id
    body = webhook_body(project_member_id, timestamp=dt.datetime.now(dt.UTC).isoformat())
    assert live.webhook(body).json() == {"status": "erased"}


def test_a_cookie_of_a_member_who_left_opens_nobody_s_dashboard(live: Live) -> None:
    leaver, newcomer = live.browser(), live.browser()
    live.log_in(leaver, "alice")
    with connection():
        alice_id = Member.get(Member.oh_username == "alice").id
    old_cookie = dict(leaver.cookies)
    _leave(live, "alice")

    live.log_in(newcomer, "bob")
    with connection():
        assert Member.get(Member.oh_username == "bob").id == alice_id  # the id was reused

    stale = live.browser()
    stale.cookies.update(old_cookie)
    assert stale.get("/api/status").status_code == 401
    dashboard = stale.get("/dashboard")
    assert dashboard.status_code == 303 and dashboard.headers["location"] == "/"
    assert "bob" not in stale.get("/", follow_redirects=True).text
    assert newcomer.get("/api/status").status_code == 200  # bob himself is still logged in


def test_logging_out_ends_every_login_of_the_member(live: Live) -> None:
    laptop, phone = live.browser(), live.browser()
    live.log_in(laptop, "alice")
    live.log_in(phone, "alice")
    assert phone.get("/api/status").status_code == 200

    assert live.log_out(laptop).status_code == 303

    assert laptop.get("/api/status").status_code == 401
    assert phone.get("/api/status").status_code == 401


def test_leaving_ends_every_login(live: Live) -> None:
    laptop, phone = live.browser(), live.browser()
    live.log_in(laptop, "alice")
    live.log_in(phone, "alice")
    _leave(live, "alice")
    assert laptop.get("/api/status").status_code == 401
    assert phone.get("/api/status").status_code == 401


def test_logging_out_of_one_member_leaves_others_logged_in(live: Live) -> None:
    alice, bob = live.browser(), live.browser()
    live.log_in(alice, "alice")
    live.log_in(bob, "bob")
    live.log_out(alice)
    assert bob.get("/api/status").status_code == 200


def test_a_login_ended_while_logging_in_again_does_not_spoil_the_new_one(live: Live) -> None:
    laptop, phone = live.browser(), live.browser()
    live.log_in(laptop, "alice")
    live.log_in(phone, "alice")
    # On the laptop alice starts logging in again (the consent page is open) ...
    page = laptop.get("/login", follow_redirects=True)
    assert page.status_code == 200, page.text[:300]
    # ... while on the phone she logs out, which ends every login of hers, the laptop's too.
    assert live.log_out(phone).status_code == 303

    # The ended login is dropped from the laptop's cookie, but the login under way completes.
    dashboard = follow(laptop, submit_authorize_form(laptop, page, login="alice"))
    assert dashboard.url.path == "/dashboard", (dashboard.url, dashboard.text[:300])
    assert laptop.get("/api/status").status_code == 200
    assert phone.get("/api/status").status_code == 401
