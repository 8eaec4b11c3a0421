"""The dashboard in a real browser (Debian's Chromium, driven by Playwright, no browser download):
each flow a user of the provider's Settings -> Webhooks screens would click through.

``LMIF_UPDATE_SCREENSHOTS=1`` writes the README's screenshots to docs/screenshots/.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmif_mock import LMIFServer, VirtualClock, verify
from tests.receivers import Recorder, wsgi_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"

try:
    from playwright import sync_api
except ImportError:  # pragma: no cover - depends on the machine
    if os.environ.get("CI") == "true":
        raise  # under CI a missing Playwright is a failure, not a skip
    pytest.skip("playwright is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is required under CI=true (.ci/run installs Debian's chromium)")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def receiver() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with wsgi_server(recorder) as base:
        yield base + "/webhooks/lmif", recorder


@pytest.fixture
def server() -> Iterator[LMIFServer]:
    with LMIFServer(clock=VirtualClock(), seed=0) as running:
        yield running


@pytest.fixture
def page(browser: Any, server: LMIFServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    refused: list[str] = []  # what Chromium logs when the CSP blocks something
    errors: list[str] = []  # any error in the console: a failed load (a 401 favicon), a script

    def note(message: Any) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)
        if message.type == "error":
            errors.append(f"{message.text} at {message.location.get('url')}")

    tab.on("console", note)
    tab.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    tab.goto(server.url + "/dashboard/")
    tab.fill("input[name=api_key]", server.api_key)
    go(tab, "button:has-text('Log in')")
    assert tab.title().startswith("Endpoints")
    yield tab
    context.close()
    assert refused == [], refused  # nothing on any page needed what the CSP forbids
    assert errors == [], errors  # no page logged an error in the browser's console


def go(tab: Any, selector: str) -> None:
    """Click something that loads a page, and wait until the new page has loaded."""
    with tab.expect_navigation():
        tab.click(selector)


def shot(tab: Any, name: str, tmp_path: Path) -> None:
    folder = SHOTS if os.environ.get("LMIF_UPDATE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def add_endpoint(tab: Any, url: str, events: list[str]) -> str:
    go(tab, "header >> text=Add endpoint")
    tab.fill("input[name=url]", url)
    for event_type in events:
        tab.check(f"input[value='{event_type}']")
    go(tab, "main button:has-text('Add endpoint')")
    return str(tab.url.rsplit("/", 1)[1])


def test_wrong_key_is_refused(browser: Any, server: LMIFServer) -> None:
    tab = browser.new_page()
    tab.goto(server.url + "/dashboard/")
    tab.fill("input[name=api_key]", "lmif_test_guess")
    go(tab, "button:has-text('Log in')")
    assert "not this server's API key" in tab.inner_text("[role=alert]")
    tab.close()


def test_add_endpoint_copy_secret_send_test_event(
    page: Any, server: LMIFServer, receiver: tuple[str, Recorder], tmp_path: Path
) -> None:
    url, recorder = receiver
    webhook_id = add_endpoint(page, url, ["box.created", "license.approved"])
    secret = page.input_value("#new-secret")
    assert secret == server.webhooks.get(webhook_id).secret
    text = page.inner_text("main")
    assert "Copy it now: it is shown here once." in text
    assert ".:" not in text  # issue 19: "Copy it now: it is shown here once.:"
    page.click("button[data-copy=new-secret]")  # the script is a served file, allowed by the CSP
    assert page.inner_text("button[data-copy=new-secret]") == "Copied"
    assert page.evaluate("navigator.clipboard.readText()") == secret
    shot(page, "endpoint-added", tmp_path)
    page.select_option("select[name=event_type]", "license.approved")
    go(page, "button:has-text('Send test event')")
    assert "Test event" in page.inner_text("[role=status]")
    assert page.get_attribute(".delivery", "data-status") == "succeeded"
    assert page.locator(".delivery form").count() == 0  # no Retry on a delivery that succeeded
    assert secret not in page.content()  # the secret was shown once
    assert page.inner_text("#secret-hint") == "…" + secret[-4:]
    body = recorder.bodies[-1]
    assert json.loads(body)["type"] == "license.approved"
    assert verify(body, recorder.requests[-1].headers["X-LMIF-Signature"], secret)
    go(page, "header >> text=Endpoints")
    assert webhook_id in page.inner_text("#endpoints")
    shot(page, "endpoints", tmp_path)


def test_failed_delivery_clock_and_retry(
    page: Any, server: LMIFServer, receiver: tuple[str, Recorder], tmp_path: Path
) -> None:
    url, recorder = receiver
    recorder.statuses = [500] * 7
    add_endpoint(page, url, ["*"])
    go(page, "button:has-text('Send test event')")
    assert page.get_attribute(".delivery", "data-status") == "pending"
    # The schedule at a glance: the attempt made, the next one due and when, the ones planned.
    assert page.locator(".timeline tr.made").count() == 1
    assert page.inner_text(".timeline tr.next") == "2\t2024-01-15T10:01:00Z (in 1 min)\tnext, due"
    assert page.locator(".timeline tr.planned").count() == 5
    assert "7 attempts: the first at once, then after 1 min" in page.inner_text(".delivery")
    assert page.inner_text(".delivery button") == "Attempt now"
    shot(page, "delivery-pending", tmp_path)
    endpoint_page = page.url
    go(page, "#clock button:has-text('+1 hour')")
    assert page.url == endpoint_page  # the clock form came back to this page
    assert page.locator(".timeline tr.made").count() == 4
    assert "(in " in page.inner_text(".timeline tr.next")
    go(page, "#clock button:has-text('+1 day')")
    go(page, "#clock button:has-text('+1 day')")
    assert page.get_attribute(".delivery", "data-status") == "failed"
    assert page.locator(".timeline tr.made").count() == 7
    assert page.locator(".timeline tr.next, .timeline tr.planned").count() == 0
    assert page.inner_text("#clock-now") == "2024-01-17T11:00:00Z"
    assert "the schedule is used up" in page.inner_text(".delivery")
    shot(page, "delivery-failed", tmp_path)
    go(page, ".delivery button:has-text('Retry')")  # the receiver answers 200 again now
    assert page.get_attribute(".delivery", "data-status") == "succeeded"
    assert "manual" in page.inner_text(".delivery tr:last-child")
    assert page.locator(".delivery form").count() == 0
    assert len(recorder.bodies) == 8


def test_event_page_shows_exact_payload_and_signature(
    page: Any, server: LMIFServer, receiver: tuple[str, Recorder], tmp_path: Path
) -> None:
    url, recorder = receiver
    add_endpoint(page, url, ["*"])
    secret = page.input_value("#new-secret")
    go(page, "button:has-text('Send test event')")
    go(page, ".delivery a")
    payload = page.inner_text("pre.payload")
    assert payload.encode() == recorder.bodies[-1]
    header = page.inner_text("code.signature")
    assert header == f"X-LMIF-Signature: {recorder.requests[-1].headers['X-LMIF-Signature']}"
    assert verify(payload, header.split(": ", 1)[1], secret)
    shot(page, "event", tmp_path)


def test_rotate_disable_delete(
    page: Any, server: LMIFServer, receiver: tuple[str, Recorder]
) -> None:
    url, _ = receiver
    webhook_id = add_endpoint(page, url, ["box.created"])
    first = page.input_value("#new-secret")
    go(page, "button:has-text('Rotate secret')")
    rotated = page.input_value("#new-secret")
    assert rotated != first
    assert rotated == server.webhooks.get(webhook_id).secret
    page.reload()
    assert page.locator("#new-secret").count() == 0
    assert rotated not in page.content()
    go(page, "button:has-text('Disable')")
    assert page.inner_text("#webhook-state") == "disabled"
    assert server.webhooks.get(webhook_id).enabled is False
    go(page, "button:has-text('Enable')")
    assert page.inner_text("#webhook-state") == "enabled"
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("button:has-text('Delete')")  # dismissed: nothing happens
    assert [w.id for w in server.webhooks.list()] == [webhook_id]
    page.once("dialog", lambda dialog: dialog.accept())
    go(page, "button:has-text('Delete')")
    assert page.title().startswith("Endpoints")
    assert server.webhooks.list() == []


def test_a_revoked_key_ends_the_browser_session(page: Any, server: LMIFServer) -> None:
    old_key = server.api_key
    server.rotate_api_key()
    page.reload()
    assert page.title().startswith("Endpoints")  # the rotated-out key's grace period
    server.api.keys.revoke(old_key, server.clock.now())
    page.reload()
    assert page.title().startswith("Log in")
    assert "was revoked" in page.inner_text("[role=status]")
