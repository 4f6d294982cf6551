"""A person in Chromium, against the whole system: from the landing page to synced data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.harness import System

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOGIN = "octo-small"


@pytest.mark.parametrize("e2e_database_url", ["sqlite"], indirect=True)
def test_a_person_clicks_through_to_their_synced_data(system: System, tmp_path: Path) -> None:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is not installed under CI")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(system.gateway_url)
        page.get_by_role("link", name="Log in with Open Humans").click()
        page.locator("#login").fill(LOGIN)
        page.get_by_role("button", name="Authorize").click()
        expect(page.locator("#oh-username")).to_have_text(LOGIN)

        page.get_by_role("link", name="Connect with private repositories").click()
        page.locator("#login").fill(LOGIN)
        page.get_by_role("button", name="Authorize").click()
        expect(page.locator("#github-login")).to_have_text(LOGIN)

        # The dashboard updates itself (it polls /api/status) until the file is written.
        expect(page.locator("#sync-headline")).to_contain_text("Up to date", timeout=90_000)
        page.reload()
        expect(page.locator("#coverage")).to_contain_text(" to ")
        expect(page.locator("#file-size")).not_to_have_text("—")
        expect(page.get_by_role("button", name="Delete my data")).to_be_visible()
        page.screenshot(path=str(tmp_path / "synced-dashboard.png"), full_page=True)
        browser.close()
    assert len(system.files_of(LOGIN)) == 1
