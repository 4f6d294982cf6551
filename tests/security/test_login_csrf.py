"""Login CSRF: another site must not be able to log a victim's browser into the attacker's
account (whose Open Humans file would then receive the victim's GitHub history), nor attach the
attacker's GitHub account to the victim.

The attacker authorizes in their own browser and keeps the callback's ``code``; the victim's
browser is then sent to the gateway's callback with it. Open Humans (django-oauth-toolkit) and
GitHub send ``state`` back, and the gateway requires it; both flows use PKCE, so a code is only
worth something with the verifier kept in the session of the browser that asked for it.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from shared.db import Member, connection
from tests.security.conftest import Live

OH_CALLBACK = "/auth/openhumans/callback"
GITHUB_CALLBACK = "/auth/github/callback"


def logged_in_as(browser: httpx.Client) -> str | None:
    """The Open Humans username the browser's dashboard shows, if logged in."""
    page = browser.get("/dashboard")
    if page.status_code != 200 or 'id="oh-username"' not in page.text:
        return None
    return page.text.split('id="oh-username">', 1)[1].split("<", 1)[0]


def test_the_sandbox_sends_state_back_like_open_humans(live: Live) -> None:
    attacker = live.browser()
    reply = live.code_for(attacker, "/login", "mallory")
    assert reply["state"] and reply["code"] and reply["origin"] == "external"


@pytest.mark.parametrize("with_state", ["none", "attacker's"])
def test_a_forged_open_humans_callback_does_not_log_the_victim_in(
    live: Live, with_state: str
) -> None:
    attacker, victim = live.browser(), live.browser()
    stolen = live.code_for(attacker, "/login", "mallory")
    # The attacker's page makes the victim's browser start a login (a pending state in the
    # victim's session), then sends it to the callback with the attacker's code.
    victim.get("/login")
    query = {"code": stolen["code"], "origin": "external"}
    if with_state == "attacker's":
        query["state"] = stolen["state"]

    answer = victim.get(OH_CALLBACK, params=query)

    assert answer.status_code == 400
    assert "could not match" in answer.text
    assert logged_in_as(victim) is None
    with connection():
        assert not Member.select().where(Member.oh_username == "mallory").exists()


def test_a_forged_github_callback_does_not_connect_the_attackers_account(live: Live) -> None:
    attacker, victim = live.browser(), live.browser()
    live.log_in(attacker, "mallory")
    stolen = live.code_for(attacker, "/github/connect?private=0", "octo-heavy")
    live.log_in(victim, "alice")
    victim.get(
        "/github/connect", params={"private": 0}
    )  # a pending GitHub flow in the victim's session

    answer = victim.get(GITHUB_CALLBACK, params={"code": stolen["code"]})

    assert answer.status_code == 400
    with connection():
        alice = Member.get(Member.oh_username == "alice")
    assert alice.github_login == ""
    assert not alice.github_connected


@pytest.mark.parametrize(
    ("start", "provider"), [("/login", "openhumans"), ("/github/connect", "github")]
)
def test_both_flows_use_state_and_pkce(live: Live, start: str, provider: str) -> None:
    browser = live.browser()
    if provider == "github":
        live.log_in(browser, "alice")
    redirect = browser.get(start)
    assert redirect.status_code == 302
    query = parse_qs(urlsplit(redirect.headers["location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20


def test_a_code_is_worthless_without_its_browser_s_verifier(live: Live) -> None:
    """Even with the right state, a code issued to another browser's PKCE challenge fails."""
    attacker, victim = live.browser(), live.browser()
    stolen = live.code_for(attacker, "/login", "mallory")
    # The victim starts a login; the attacker somehow learnt the victim's state.
    victims_state = parse_qs(urlsplit(victim.get("/login").headers["location"]).query)["state"][0]

    answer = victim.get(OH_CALLBACK, params={"code": stolen["code"], "state": victims_state})

    assert answer.status_code == 400
    assert logged_in_as(victim) is None


def test_the_normal_flow_still_logs_in(live: Live) -> None:
    browser = live.browser()
    live.log_in(browser, "alice")
    assert logged_in_as(browser) == "alice"
    dashboard = live.connect_github(browser, "octo-small")
    assert "octo-small" in dashboard.text
