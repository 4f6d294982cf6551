"""The dashboard, its POST actions (CSRF-checked), ``/api/status`` and the error pages."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

from shared.db import Member, StagedWeek, connection, utcnow
from shared.fileformat import build_document, serialise, upload_metadata
from shared.history import history_of
from shared.syncstate import SyncState

# A small file: two weeks around New Year 2026, the second one active.
DOCUMENT = build_document(
    github={"id": 1, "login": "octo-typical"},
    weeks={
        "2025-W52": {
            "start": "2025-12-22", "end": "2025-12-28", "complete": True,
            "fetched_at": "2026-01-12T00:00:00Z", "commits": [], "pull_requests": [],
            "issues": [], "reviews": [],
            "contributions": {f"2025-12-{d}": 0 for d in range(22, 29)},
        },
        "2026-W02": {
            "start": "2026-01-05", "end": "2026-01-11", "complete": True,
            "fetched_at": "2026-01-12T00:00:00Z",
            "commits": [{"sha": "a" * 40, "repository": "octo/hello",
                         "authored_at": "2026-01-06T10:00:00Z",
                         "committed_at": "2026-01-06T10:00:00Z", "message": "Fix typo",
                         "url": "https://github.com/octo/hello/commit/" + "a" * 40}],
            "pull_requests": [], "issues": [], "reviews": [],
            "contributions": {**{f"2026-01-{d:02d}": 0 for d in range(5, 12)},
                              "2026-01-06": 3},
        },
    },
)  # fmt: skip


def upload_with_member_token(browser: Any, member: Member) -> None:
    """Upload DOCUMENT into the member's sandbox Open Humans account with their own token."""
    from shared.openhumans.client import OpenHumansApi

    gateway = browser.gateway.app.state.gateway
    with OpenHumansApi.from_settings(gateway.settings) as api:
        token = gateway.cipher.decrypt(member.oh_access_token)
        content = serialise(DOCUMENT)
        api.upload(
            token,
            project_member_id=member.oh_member_id,
            filename=gateway.settings.openhumans_filename,
            metadata=upload_metadata(DOCUMENT),
            content=io.BytesIO(content),
            size=len(content),
        )


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

    assert "Sync queued: your first sync starts as soon as a worker is free." in page.text
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
    assert body["headline"] == "Syncing your GitHub history."
    assert body["progress_text"] == "10 of 40 weeks (25%)"
    assert body["version"]
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
    assert "Syncing your GitHub history." in page.text
    assert "3 of 12 weeks (25%)" in page.text
    assert '<progress id="sync-progress" max="100" value="25"' in page.text

    update_member(sync_state=SyncState.NEEDS_RECONNECT)
    assert "Reconnect GitHub" in browser.get("/dashboard").text

    update_member(
        sync_state=SyncState.ERROR,
        sync_detail="Sync failed, will retry: ConnectError('http://127.0.0.1:8900/github-api')",
    )
    page = browser.get("/dashboard")
    assert "The last sync ran into a problem." in page.text
    assert "Reading your history from GitHub failed" in page.text
    assert "127.0.0.1" not in page.text and "ConnectError" not in page.text

    update_member(sync_state=SyncState.NEEDS_LOGIN)
    assert "Log in with Open Humans again" in browser.get("/dashboard").text


def test_waiting_shows_the_resume_time_for_the_browser_to_localise(browser: Any) -> None:
    browser.log_in()
    browser.connect_github()
    resets = dt.datetime(2026, 12, 1, 15, 5, tzinfo=dt.UTC)
    update_member(sync_state=SyncState.WAITING, waiting_until=resets)
    page = browser.get("/dashboard").text
    assert (
        '<p id="sync-headline" class="headline state-waiting" aria-live="polite">'
        "Paused for GitHub&#39;s rate limit until "
        '<time datetime="2026-12-01T15:05:00Z" data-style="time">15:05 UTC</time>.</p>'
    ) in page


def test_dashboard_draws_the_history_from_the_stored_digest(browser: Any) -> None:
    browser.log_in()
    browser.connect_github()
    update_member(
        sync_state=SyncState.DONE,
        coverage_first_week="2025-W52",
        coverage_last_week="2026-W02",
        file_size=5000,
        file_history=json.dumps(history_of(DOCUMENT)),
    )
    page = browser.get("/dashboard").text
    assert 'id="heatmap-svg"' in page
    assert 'data-date="2026-01-06" data-count="3"' in page
    assert "not known (imported history)" in page  # its first days came from github.json
    assert page.count('class="band band-') == 4
    assert '<a href="/dashboard?year=2025#activity" data-year="2025">2025</a>' in page
    assert "&#34;schema&#34;: 1" in page  # the preview of the file

    older = browser.get("/dashboard?year=2025").text
    assert 'id="heatmap" data-year="2025"' in older
    assert browser.get("/dashboard?year=1999").status_code == 200  # falls back to the latest
    assert browser.get("/dashboard?year=nonsense").status_code == 200

    fragment = browser.get("/dashboard/heatmap?year=2025")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="heatmap-box">')
    assert "<html" not in fragment.text


def test_the_live_fragment_is_the_page_without_its_frame(browser: Any) -> None:
    assert browser.gateway.get("/dashboard/live").status_code == 401
    browser.log_in()
    browser.connect_github()
    fragment = browser.get("/dashboard/live")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="live" data-version="')
    assert 'id="sync-headline"' in fragment.text
    assert "<html" not in fragment.text and "site-header" not in fragment.text
    # The page and the status API agree on the version while nothing changes, in every state.
    for fields in (
        {"sync_state": SyncState.QUEUED},
        {"sync_state": SyncState.DONE, "last_synced_at": utcnow(), "file_size": 10,
         "coverage_first_week": "2024-W01", "coverage_last_week": "2024-W10"},
        {"sync_state": SyncState.WAITING, "waiting_until": utcnow()},
        {"sync_state": SyncState.ERROR, "sync_detail": "Sync failed, will retry."},
    ):  # fmt: skip
        update_member(**fields)
        version = browser.gateway.get("/api/status").json()["version"]
        assert f'data-version="{version}"' in browser.get("/dashboard/live").text, fields


def test_pages_need_no_inline_script_or_style(browser: Any) -> None:
    """The gateway's Content-Security-Policy allows scripts and styles from files only."""
    pages = [browser.get("/").text]
    browser.log_in()
    pages.append(browser.get("/dashboard").text)
    browser.connect_github()
    update_member(
        sync_state=SyncState.DONE,
        coverage_first_week="2025-W52",
        coverage_last_week="2026-W02",
        file_history=json.dumps(history_of(DOCUMENT)),
    )
    pages.append(browser.get("/dashboard").text)
    pages.append(browser.get("/no/such/page").text)
    for html in pages:
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
        assert "<style" not in html and " style=" not in html, "inline style"
        assert not re.search(r"\son[a-z]+=", html), "inline event handler"
        assert not re.search(r"(src|href)=\"(https?:)?//(?!www\.openhumans\.org)", html)
        assert '<link rel="icon" href="/static/favicon.svg"' in html
        assert "<h1" in html


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
    assert "Deleting your file from Open Humans." in page.text
    assert "Your data is deleted" not in page.text  # not before it is
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


def test_delete_is_confirmed_once_the_file_is_gone(browser: Any, redis_client: Any) -> None:
    browser.log_in()
    browser.connect_github()
    update_member(coverage_first_week="2024-W01", coverage_last_week="2024-W18")
    browser.request("POST", "/data/delete", data={"csrf_token": browser.csrf_token()})
    # The uploader's deletion is done: it forgets the coverage and moves the member on.
    update_member(sync_state=SyncState.NEW, coverage_first_week="", coverage_last_week="")

    page = browser.get("/dashboard/live").text
    assert "Your data is deleted" in page
    assert "Connect public activity only" in page
    assert "Your data is deleted" not in browser.get("/dashboard").text  # said once


def test_a_member_who_left_is_told_so_on_the_landing_page(browser: Any, redis_client: Any) -> None:
    from gateway.members import erase_member

    browser.log_in()
    with connection():
        project_member_id = Member.get().oh_member_id
    erase_member(project_member_id, redis_client=redis_client)  # what the webhook does

    page = browser.get("/dashboard")

    assert browser.url == "http://testserver/"
    assert "You left this project on Open Humans" in page.text
    assert "You left this project" not in browser.get("/").text  # said once


def test_view_on_open_humans_redirects_to_a_fresh_download_url(browser: Any) -> None:
    browser.log_in()
    browser.connect_github()
    missing = browser.get("/data/file")
    assert missing.status_code == 404
    assert "No file yet" in missing.text
    # The member's file, uploaded by the project to the sandbox's Open Humans.
    with connection():
        member = Member.get()
    upload_with_member_token(browser, member)

    file = browser.get("/data/file")

    assert file.status_code == 200
    assert json.loads(file.content)["schema"] == 1
    assert "/storage/" in browser.url  # served by Open Humans' storage, not by the gateway
