"""A person in Chromium against the whole system (sandbox, gateway, fetcher, uploader processes):
from the landing page to a drawn history, and through every problem state a member can meet.

Every page and state is checked with axe-core (0 violations), under the production
Content-Security-Policy (no console error), and photographed at desktop and phone width into
``build/screenshots/``. The browser runs in Berlin time, so times must show in local time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.walk import (
    SYNC_TIMEOUT_MS,
    add_github_user,
    assert_plain_words,
    check,
    connect_github,
    headline,
    log_in,
    new_page,
    sandbox_post,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

READABLE_DATE = re.compile(r"\b\d{1,2} [A-Z][a-z]{2,3} \d{4}\b")
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def database(system: Any) -> Iterator[None]:
    """The system's database, for arranging what only time would do (an old "Sync now")."""
    from shared.db import db, init_database

    init_database(system.env["DATABASE_URL"])
    yield
    db.close()


def age_sync_request(login: str) -> None:
    """As if the member's last "Sync now" were two hours old (the cooldown is an hour)."""
    from shared.db import Member, connection, utcnow

    with connection():
        Member.update(sync_requested_at=utcnow() - dt.timedelta(hours=2)).where(
            Member.oh_username == login
        ).execute()


def wait_up_to_date(page: Any) -> None:
    from playwright.sync_api import expect

    expect(headline(page)).to_have_text("Up to date.", timeout=SYNC_TIMEOUT_MS)


# Time the sandbox takes per GitHub request while the heavy member's bar is watched: its
# ~430 requests then take about 15 s, many of the page's 1-2 s polls.
HEAVY_LATENCY_MS = 35


@contextmanager
def sandbox_latency(system: Any, latency_ms: int) -> Iterator[None]:
    """Every GitHub request of the module's sandbox takes ``latency_ms`` within the block."""
    with httpx.Client(base_url=system.sandbox_url, timeout=10) as sandbox:
        sandbox.post("/_sandbox/config", json={"latency_ms": latency_ms}).raise_for_status()
        try:
            yield
        finally:
            sandbox.post("/_sandbox/config", json={"latency_ms": 0}).raise_for_status()


def sample_progress(page: Any) -> list[int]:
    """The progress bar's values seen until the sync ends (the page is never reloaded)."""
    seen: list[int] = []
    deadline = time.monotonic() + SYNC_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        if headline(page).inner_text() == "Up to date.":
            return seen
        bar = page.locator("#sync-progress")
        if bar.count():
            value = bar.evaluate("el => el.value")
            if not seen or seen[-1] != value:
                seen.append(int(value))
        page.wait_for_timeout(250)
    raise AssertionError(f"no 'Up to date' after {SYNC_TIMEOUT_MS} ms; progress seen: {seen}")


def assert_history_drawn(page: Any, *, years_at_least: int) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#heatmap-svg rect[data-date]")).not_to_have_count(0)
    assert (
        page.locator(
            "#heatmap-svg rect.l1, #heatmap-svg rect.l2, #heatmap-svg rect.l3, #heatmap-svg rect.l4"
        ).count()
        > 0
    )
    assert page.locator("nav.years a").count() >= years_at_least
    assert page.locator("table.totals tbody tr").count() >= years_at_least
    assert page.locator("#weekly-svg path.band").count() == 4
    expect(page.locator("#heatmap-caption")).to_contain_text("contributions in")
    expect(page.locator("#contents")).to_contain_text("commits")
    expect(page.locator("#coverage")).to_have_text(re.compile(r"\d{4} to \d"))
    assert READABLE_DATE.search(page.locator("#coverage").inner_text())
    # Local time (the browser is in Berlin), not the UTC the server writes without script.
    assert "UTC" not in page.locator("#last-synced").inner_text()


def test_octo_typical_from_the_landing_page_to_a_drawn_history(
    system: Any, browser: Any, axe_source: str
) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, system)
    page.goto(system.gateway_url)
    check(page, "landing", axe_source)
    log_in(page, system, "octo-typical")
    check(page, "typical-connect-choice", axe_source)

    connect_github(page, system, "octo-typical")
    expect(page.locator("#github-login")).to_have_text("octo-typical")
    expect(headline(page)).to_have_text(re.compile("Sync queued|Syncing"))
    wait_up_to_date(page)

    # The page changed as a whole, without a reload: data card, charts, no stale message.
    expect(page.locator("#your-data")).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)
    assert "queued" not in page.locator("main").inner_text()
    assert_history_drawn(page, years_at_least=3)
    check(page, "typical-synced", axe_source)

    # A day's read-out under the pointer.
    active_day = page.locator(
        "#heatmap-svg rect.l1, #heatmap-svg rect.l2, #heatmap-svg rect.l3, #heatmap-svg rect.l4"
    ).last
    active_day.hover()
    expect(page.locator("#heatmap-tip")).to_contain_text(re.compile(r"\d+ contributions? on"))
    page.locator("#heatmap").screenshot(path=str(SCREENSHOTS / "typical-day-read-out.png"))

    # Another year, in place.
    years = page.locator("nav.years a")
    older = years.nth(years.count() - 1)
    year = older.inner_text()
    older.click()
    expect(page.locator("#heatmap")).to_have_attribute("data-year", year)
    expect(page.locator("#heatmap-caption")).to_contain_text(f"in {year}")
    assert f"year={year}" in page.url
    expect(page.locator("nav.years a.current")).to_be_focused()

    # The file: a preview here, the real thing on Open Humans.
    page.get_by_text("Preview of the file").click()
    expect(page.locator("#file-preview")).to_contain_text('"schema": 1')
    expect(page.locator("#file-preview")).to_contain_text('"login": "octo-typical"')
    href = page.get_by_role("link", name="View / download on Open Humans").get_attribute("href")
    download = page.request.get(system.gateway_url + href)
    assert download.ok
    assert download.json()["github"]["login"] == "octo-typical"
    check(page, "typical-year-and-preview", axe_source)
    page.context.close()


def test_octo_heavy_progress_moves_and_ten_years_are_drawn(
    system: Any, browser: Any, axe_source: str
) -> None:
    from playwright.sync_api import expect

    page = new_page(browser, system)
    log_in(page, system, "octo-heavy")
    # GitHub's answers take time, as they do for real: without it the whole backfill can fit
    # between two of the page's polls on a busy machine, and the bar seen could not move.
    with sandbox_latency(system, HEAVY_LATENCY_MS):
        connect_github(page, system, "octo-heavy", private=True)
        progress = sample_progress(page)
    (SCREENSHOTS / "heavy-progress.json").write_text(json.dumps(progress))
    # The page a heavy member loads stays light: ten years drawn in well under 150 KB of HTML.
    size = len(page.request.get(f"{system.gateway_url}/dashboard").body())
    (SCREENSHOTS / "heavy-dashboard-bytes.txt").write_text(str(size))
    assert size < 150_000, size
    # The bar moves through many values, not 0 → 59% → done.
    assert len([value for value in progress if 0 < value < 100]) >= 5, progress
    assert progress == sorted(progress), progress

    assert_history_drawn(page, years_at_least=10)
    expect(page.locator("#github-connection")).to_contain_text("public and private")
    check(page, "heavy-synced", axe_source)

    # The weekly chart by keyboard.
    page.locator("#weekly-svg").focus()
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#weekly-tip")).to_contain_text(re.compile(r"Week of .*commits?"))
    page.locator("#weekly").screenshot(path=str(SCREENSHOTS / "heavy-week-read-out.png"))
    page.locator("#heatmap-svg").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#heatmap-tip")).to_be_visible()
    check(page, "heavy-chart-read-outs", axe_source)
    page.context.close()


def test_waiting_for_github_says_what_is_uploaded_and_when_it_resumes(
    system: Any, browser: Any, axe_source: str, database: None
) -> None:
    from playwright.sync_api import expect

    login = "octo-waiting"
    add_github_user(system, login, "typical")
    page = new_page(browser, system)
    log_in(page, system, login)
    connect_github(page, system, login, private=True)
    wait_up_to_date(page)
    # GitHub's budgets now below what the first sync spent: the refresh waits for a reset,
    # with the file of the first sync already uploaded.
    sandbox_post(system, "/_sandbox/config", {"core_limit": 1, "graphql_limit": 1})
    try:
        age_sync_request(login)
        page.reload()
        page.get_by_role("button", name="Sync now").click()
        expect(headline(page)).to_contain_text(
            "Paused for GitHub's rate limit until", timeout=SYNC_TIMEOUT_MS
        )
        expect(page.locator("#sync-detail")).to_contain_text(
            "Partial data uploaded", timeout=SYNC_TIMEOUT_MS
        )
    finally:
        sandbox_post(system, "/_sandbox/config", {"core_limit": 5000, "graphql_limit": 5000})
    with httpx.Client(cookies=_cookies(page)) as client:
        status = client.get(f"{system.gateway_url}/api/status").json()
    resumes = dt.datetime.fromisoformat(status["waiting_until"]).astimezone(BERLIN)
    expect(headline(page)).to_contain_text(f"{resumes:%H:%M} your time")
    expect(page.locator("#sync-detail")).to_contain_text(re.compile(r"your file covers .+ to "))
    expect(page.locator("#sync-now")).to_be_disabled()
    expect(page.locator("#heatmap-svg")).to_be_visible()  # the history held is drawn
    assert_plain_words(page)
    check(page, "waiting-partial-data", axe_source)
    page.context.close()


def _cookies(page: Any) -> dict[str, str]:
    return {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}


def test_revoked_github_access_asks_to_reconnect_and_recovers(
    system: Any, browser: Any, axe_source: str, database: None
) -> None:
    from playwright.sync_api import expect

    login = "octo-revoked"
    add_github_user(system, login, "small")
    page = new_page(browser, system)
    log_in(page, system, login)
    connect_github(page, system, login)
    wait_up_to_date(page)

    sandbox_post(system, "/_sandbox/faults", {"kind": "revoke", "login": login})
    age_sync_request(login)
    page.reload()
    page.get_by_role("button", name="Sync now").click()
    expect(headline(page)).to_have_text(
        "GitHub no longer accepts our access: please reconnect GitHub.", timeout=60_000
    )
    expect(page.get_by_role("link", name="Reconnect GitHub")).to_be_visible()
    expect(page.locator("#sync-now")).to_be_disabled()
    expect(page.locator("#sync-blocked")).to_have_text("Reconnect GitHub first.")
    assert_plain_words(page)
    check(page, "needs-reconnect", axe_source)

    page.get_by_role("link", name="Reconnect GitHub").click()
    page.get_by_label("Sign in as GitHub user").fill(login)
    page.get_by_role("button", name="Authorize").click()
    wait_up_to_date(page)
    page.context.close()


def test_lost_open_humans_access_asks_to_log_in_again_and_recovers(
    system: Any, browser: Any, axe_source: str, database: None
) -> None:
    from playwright.sync_api import expect

    login = "octo-relogin"
    add_github_user(system, login, "small")
    page = new_page(browser, system)
    log_in(page, system, login)
    connect_github(page, system, login)
    wait_up_to_date(page)

    # Open Humans revokes the project's tokens (the project is told nothing).
    sandbox_post(
        system,
        "/_sandbox/openhumans/deauthorize",
        {"username": login, "webhook_url": f"{system.sandbox_url}/_sandbox/callback"},
    )
    age_sync_request(login)
    page.get_by_role("button", name="Sync now").click()
    expect(headline(page)).to_have_text("Open Humans asks you to log in again.", timeout=60_000)
    expect(page.locator("#sync-detail")).to_contain_text("nothing fetched is lost")
    assert_plain_words(page)
    check(page, "needs-login", axe_source)

    page.get_by_role("link", name="Log in with Open Humans again").click()
    page.get_by_label("Open Humans username").fill(login)
    page.get_by_role("button", name="Authorize").click()
    wait_up_to_date(page)
    page.context.close()


def test_a_failed_sync_says_so_in_plain_words_and_sync_now_stays_available(
    system: Any, browser: Any, axe_source: str
) -> None:
    from playwright.sync_api import expect

    login = "octo-broken"
    add_github_user(system, login, "small")
    page = new_page(browser, system)
    log_in(page, system, login)
    # GitHub's GraphQL API fails for this member until further notice.
    sandbox_post(
        system,
        "/_sandbox/faults",
        {"kind": "5xx", "login": login, "path_contains": "graphql", "count": None},
    )
    try:
        connect_github(page, system, login)
        expect(headline(page)).to_have_text(
            "The last sync ran into a problem.", timeout=SYNC_TIMEOUT_MS
        )
        expect(page.locator("#sync-detail")).to_contain_text("retried automatically")
        # Requested seconds ago, yet not locked for the hour of the cooldown.
        expect(page.locator("#sync-now")).to_be_enabled()
        assert_plain_words(page)
        check(page, "error", axe_source)
    finally:
        with system.sandbox() as sandbox:
            sandbox.delete("/_sandbox/faults")
    page.get_by_role("button", name="Sync now").click()
    wait_up_to_date(page)
    page.context.close()


def test_delete_my_data_then_leaving_the_project(
    system: Any, browser: Any, axe_source: str
) -> None:
    from playwright.sync_api import expect

    login = "octo-leaving"
    add_github_user(system, login, "small")
    page = new_page(browser, system)
    log_in(page, system, login)
    connect_github(page, system, login)
    wait_up_to_date(page)
    assert len(system.files_of(login)) == 1

    page.on("dialog", lambda dialog: dialog.accept())
    # The first deletion fails and is retried seconds later: else a quick uploader can finish
    # before the page after the press is rendered, which then never shows "deleting".
    sandbox_post(
        system, "/_sandbox/faults", {"kind": "fail_upload_step", "step": "delete", "login": login}
    )
    held: list[Any] = []  # the page's status polls wait while the "deleting" page is checked
    page.route("**/api/status", lambda route: held.append(route))
    page.get_by_role("button", name="Delete my data").click()
    expect(page.locator(".flash")).to_contain_text("being deleted")
    expect(headline(page)).to_have_text("Deleting your file from Open Humans.")
    check(page, "deleting", axe_source)
    for route in held:
        route.continue_()
    page.unroute("**/api/status")
    expect(page.get_by_role("heading", name="Your data is deleted")).to_be_visible(timeout=60_000)
    expect(page.locator(".flash")).to_have_count(0)
    expect(page.get_by_role("link", name="Connect public activity only")).to_be_visible()
    assert system.files_of(login) == []
    with system.sandbox() as sandbox:  # the failed first deletion did happen
        assert sandbox.get("/_sandbox/faults").json()["faults"] == []
    check(page, "after-delete", axe_source)

    # Leaving the project on Open Humans: the open dashboard notices and says what happened.
    sandbox_post(
        system,
        "/_sandbox/openhumans/deauthorize",
        {
            "username": login,
            "erasure_requested": True,
            "webhook_url": f"{system.gateway_url}/webhooks/openhumans/deauthorize",
        },
    )
    page.wait_for_url(f"{system.gateway_url}/", timeout=30_000)
    expect(page.locator(".flash")).to_contain_text("You left this project on Open Humans")
    check(page, "after-leaving", axe_source)
    page.context.close()
