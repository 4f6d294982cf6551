"""What a person does and sees in the browser tests: log in, connect GitHub, wait for words, and
the checks every page gets (axe-core, no console error, screenshots at two widths)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from tests.browser.conftest import DESKTOP, PHONE, SCREENSHOTS, with_csp

# Long enough for octo-heavy's whole history on a loaded two-core machine.
SYNC_TIMEOUT_MS = 240_000


def new_page(browser: Any, system: Any, *, timezone: str = "Europe/Berlin") -> Any:
    """A fresh person (no cookies) in ``timezone``, with the production CSP on every page."""
    context = browser.new_context(viewport=DESKTOP, timezone_id=timezone, locale="en-GB")
    with_csp(context, system.gateway_url)
    page = context.new_page()
    page.console_errors = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: message.type == "error" and page.console_errors.append(message.text),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


def add_github_user(system: Any, login: str, profile: str) -> None:
    with system.sandbox() as sandbox:
        response = sandbox.post("/_sandbox/github/users", json={"login": login, "profile": profile})
        assert response.status_code in (201, 409), response.text


def sandbox_post(system: Any, path: str, body: dict[str, Any]) -> httpx.Response:
    with system.sandbox() as sandbox:
        response = sandbox.post(path, json=body)
        assert response.status_code < 400, response.text
        return response


def log_in(page: Any, system: Any, login: str) -> None:
    """Landing → "Log in with Open Humans" → the sandbox's consent page → the dashboard."""
    from playwright.sync_api import expect

    page.goto(system.gateway_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("GitHub activity history")
    page.get_by_role("link", name="Log in with Open Humans").click()
    page.get_by_label("Open Humans username").fill(login)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{system.gateway_url}/dashboard")
    expect(page.locator("#oh-username")).to_have_text(login)


def connect_github(page: Any, system: Any, login: str, *, private: bool = False) -> None:
    label = "Connect with private repositories" if private else "Connect public activity only"
    page.get_by_role("link", name=label).click()
    page.get_by_label("Sign in as GitHub user").fill(login)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{system.gateway_url}/dashboard")


def headline(page: Any) -> Any:
    return page.locator("#sync-headline")


def check(page: Any, name: str, axe_source: str) -> None:
    """axe-core finds nothing, nothing failed in the console, and screenshots at both widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(150)  # layout settles
        violations = run_axe(page, axe_source)
        assert violations == [], f"{name} at {label}: " + json.dumps(violations, indent=1)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
        if label == "phone":
            assert_fits_phone(page, name)
    page.set_viewport_size(DESKTOP)
    # A 401 from the status API is how a page learns that its member is gone: not an error.
    errors = [e for e in page.console_errors if "status of 401" not in e]
    assert errors == [], f"{name}: {errors}"


def run_axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page, each with the failing elements' selectors."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the page's CSP does not govern.
        page.evaluate(axe_source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "help": violation["help"],
            "nodes": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in result["violations"]
    ]


def assert_fits_phone(page: Any, name: str) -> None:
    """At 390 px nothing scrolls sideways and no button or date wraps onto two lines."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a phone"
    wrapped = page.evaluate(
        """() => Array.from(document.querySelectorAll('.button, button, time'))
            .filter(el => el.offsetParent !== null)
            .filter(el => {
              const lines = el.getClientRects().length;
              const style = getComputedStyle(el);
              const lineHeight = parseFloat(style.lineHeight) || 20;
              const inner = el.getBoundingClientRect().height
                - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom)
                - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth);
              return lines > 1 || inner > lineHeight * 1.5;
            })
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert wrapped == [], f"{name}: wrapped on a phone: {wrapped}"
    spilling = page.evaluate(
        """() => Array.from(document.querySelectorAll('.card .button, .card button'))
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().right >
                          el.closest('.card').getBoundingClientRect().right - 1)
            .map(el => el.outerHTML.slice(0, 80))"""
    )
    assert spilling == [], f"{name}: sticks out of its card on a phone: {spilling}"


def text_of(page: Any) -> str:
    return str(page.locator("main").inner_text())


RAW_ERROR = re.compile(r"Traceback|Exception|Error:|https?://|\{|/github-api|127\.0\.0\.1")


def assert_plain_words(page: Any) -> None:
    """No exception text and no internal URL in what the member reads."""
    visible = page.locator("#live").inner_text()
    assert not RAW_ERROR.search(visible), visible
