"""The dashboard, its POST actions (CSRF-checked), ``/api/status`` and the error pages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from shared.db import Member, StagedWeek, connection, utcnow
from shared.syncstate import SyncState


def update_member(**fields: Any) -> None:
    with connection():
        Member.update(**fields).execute()


def member_row() -> Member:
    with connection():
        member: Member = Member.get()
    return member


def test_dashboard_requires_login(client: Any) -> None:
    response = client.get("/dashboard", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_landing_explains_and_offers_login(client: Any) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Log in with Open Humans" in page.text
    assert "GitHub activity" in page.text


def test_sync_now_refused_during_cooldown(
    browser: Any, fetch_queue: Callable[[], list[dict[str, Any]]], redis_client: Any
) -> None:
    browser.log_in()
    browser.connect_github()
    update_member(sync_state=SyncState.DONE, last_synced_at=utcnow())
    redis_client.delete("ohgithub:fetch.msgs", "ohgithub:fetch")  # the sync connecting queued
    page = browser.get("/dashboard")
    assert "Available again in" in page.text
    assert 'id="sync-now" class="button primary" disabled' in page.text

    refused = browser.request("POST", "/sync", data={"csrf_token": browser.csrf_token()})

    assert refused.status_code == 200
    assert "Sync not started: Available again in 60 min." in refused.text
    assert fetch_queue() == []
    assert member_row().sync_state == SyncState.DONE


def test_sync_now_after_cooldown_queues_a_sync(
    browser: Any, fetch_queue: Callable[[], list[dict[str, Any]]], redis_client: Any
) -> None:
    browser.log_in()
    browser.connect_github()
    long_ago = utcnow() - dt.timedelta(hours=2)
    update_member(sync_state=SyncState.DONE, sync_requested_at=long_ago)
    redis_client.delete("ohgithub:fetch.msgs", "ohgithub:fetch")  # the sync connecting queued

    page = browser.request("POST", "/sync", data={"csrf_token": browser.csrf_token()})

    assert "Sync queued." in page.text
    member = member_row()
    assert member.sync_state == SyncState.QUEUED
    assert member.sync_requested_at > long_ago
    assert [m["args"] for m in fetch_queue()] == [[member.id]]


def test_post_without_csrf_token_is_refused(
    browser: Any, fetch_queue: Callable[[], list[dict[str, Any]]], redis_client: Any
) -> None:
    browser.log_in()
    browser.connect_github()
    update_member(sync_state=SyncState.DONE, sync_requested_at=utcnow() - dt.timedelta(hours=2))
    redis_client.delete("ohgithub:fetch.msgs", "ohgithub:fetch")  # the sync connecting queued
    for data in ({}, {"csrf_token": "forged"}):
        response = browser.request("POST", "/sync", data=data)
        assert response.status_code == 400
        assert "This form has expired" in response.text
        assert 'href="/dashboard"' in response.text
    assert fetch_queue() == []
    assert browser.request("POST", "/logout", data={}).status_code == 400


def test_api_status_reports_the_sync(browser: Any) -> None:
    assert browser.gateway.get("/api/status").status_code == 401
    assert browser.gateway.get("/api/status").json() == {"error": "not logged in"}
    browser.log_in()
    browser.connect_github()
    update_member(
        sync_state=SyncState.SYNCING,
        weeks_done=10,
        weeks_total=40,
        coverage_first_week="2020-W01",
        coverage_last_week="2024-W10",
    )

    body = browser.gateway.get("/api/status").json()

    assert body["state"] == "syncing"
    assert body["weeks_done"] == 10
    assert body["weeks_total"] == 40
    assert body["percent"] == 25
    assert body["headline"] == "Syncing: 10 of 40 weeks (25%)."
    assert body["coverage"]["first_week"] == "2020-W01"
    assert body["can_sync_now"] is False
    assert 3500 < body["cooldown_remaining_s"] <= 3600
    for key in ("detail", "waiting_until", "last_synced_at"):
        assert key in body


def test_dashboard_shows_each_state_in_words(browser: Any) -> None:
    browser.log_in()
    browser.connect_github()
    update_member(sync_state=SyncState.SYNCING, weeks_done=3, weeks_total=12)
    page = browser.get("/dashboard")
    assert "Syncing: 3 of 12 weeks (25%)." in page.text
    assert '<progress id="sync-progress" max="100" value="25">' in page.text

    update_member(sync_state=SyncState.NEEDS_RECONNECT)
    assert "Reconnect GitHub" in browser.get("/dashboard").text

    update_member(sync_state=SyncState.ERROR, sync_detail="upload refused by Open Humans")
    page = browser.get("/dashboard")
    assert "The last sync failed." in page.text
    assert "upload refused by Open Humans" in page.text

    update_member(sync_state=SyncState.NEEDS_LOGIN)
    assert "Log in with Open Humans again" in browser.get("/dashboard").text


def test_disconnect_github_forgets_token_and_staged_weeks(browser: Any) -> None:
    browser.log_in()
    browser.connect_github()
    with connection():
        StagedWeek.create(
            member=Member.get(), week="2024-W18", data="{}", complete=True, fetched_at=utcnow()
        )

    page = browser.request("POST", "/github/disconnect", data={"csrf_token": browser.csrf_token()})

    assert "GitHub disconnected" in page.text
    assert "Connect public activity only" in page.text
    member = member_row()
    assert member.github_token == ""
    assert member.sync_state == SyncState.NEW
    with connection():
        assert StagedWeek.select().count() == 0


def test_delete_my_data_disconnects_and_asks_the_uploader_to_delete_the_file(
    browser: Any, redis_client: Any
) -> None:
    browser.log_in()
    browser.connect_github()
    with connection():
        Member.update(coverage_first_week="2024-W01", coverage_last_week="2024-W18").execute()
        github_id = Member.get().github_id
    redis_client.set(f"ohgithub:etag:{github_id}:abc", "cached GitHub body")
    redis_client.set(f"ohgithub:sync-progress:{Member.get().id}", "commits read so far")
    page = browser.request("GET", "/dashboard")
    assert "Delete my data" in page.text

    page = browser.request("POST", "/data/delete", data={"csrf_token": browser.csrf_token()})

    assert "being deleted from your Open Humans account" in page.text
    member = member_row()
    assert member.github_token == "" and member.sync_state == SyncState.DELETING
    messages = [json.loads(body) for body in redis_client.hvals("ohgithub:upload.msgs")]
    assert [(m["actor_name"], m["args"]) for m in messages] == [("delete_member_file", [member.id])]
    assert redis_client.keys("ohgithub:etag:*") == []
    assert redis_client.keys("ohgithub:sync-progress:*") == []


def test_logout_clears_the_session(browser: Any) -> None:
    browser.log_in()
    page = browser.request("POST", "/logout", data={"csrf_token": browser.csrf_token()})
    assert browser.url == "http://testserver/"
    assert "Log in with Open Humans" in page.text
    assert browser.gateway.get("/api/status").status_code == 401


def test_unknown_page_is_a_friendly_404(client: Any) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="/"' in response.text
