"""A newcomer's first visit in a real Chromium: log in with Open Humans, connect GitHub, and
see the GitHub login and a queued sync on the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

SCREENSHOT = "/tmp/ohgithub-onboarding-dashboard.png"
CHOICE_SCREENSHOT = "/tmp/ohgithub-onboarding-choose-scope.png"


@pytest.mark.browser
def test_onboarding(page: Any, gateway_url: str, redis_client: Any) -> None:
    from playwright.sync_api import expect

    page.goto(gateway_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("GitHub activity history")
    page.get_by_role("link", name="Log in with Open Humans").click()

    # The sandbox's Open Humans authorize page.
    expect(page.get_by_role("heading", level=1)).to_contain_text("Open Humans")
    page.get_by_label("Open Humans username").fill("octo-typical")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(f"{gateway_url}/dashboard")
    expect(page.locator("#oh-username")).to_have_text("octo-typical")
    page.screenshot(path=CHOICE_SCREENSHOT, full_page=True)
    page.get_by_role("link", name="Connect public activity only").click()

    # The sandbox's GitHub authorize page.
    expect(page.get_by_role("heading", level=1)).to_contain_text("GitHub")
    page.get_by_label("Sign in as GitHub user").fill("octo-typical")
    page.get_by_role("button", name="Authorize").click()

    page.wait_for_url(f"{gateway_url}/dashboard")
    expect(page.locator("#github-login")).to_have_text("octo-typical")
    expect(page.locator("#github-connection")).to_contain_text("public activity only")
    expect(page.locator("#sync-headline")).to_contain_text("Sync queued")
    expect(page.locator("#sync-now")).to_be_disabled()
    # The polling script reaches /api/status and keeps the state shown.
    with page.expect_response(lambda r: r.url.endswith("/api/status"), timeout=10_000) as info:
        pass
    assert info.value.status == 200
    assert json.loads(info.value.text())["state"] == "queued"
    expect(page.locator("#sync-headline")).to_contain_text("Sync queued")
    page.screenshot(path=SCREENSHOT, full_page=True)

    messages = [json.loads(body) for body in redis_client.hvals("ohgithub:fetch.msgs")]
    assert [m["actor_name"] for m in messages] == ["sync_member"]
