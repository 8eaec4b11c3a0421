"""The dashboard's lists come in pages of 20 with previous/next links, over real HTTP.

A webhook with 20,000 deliveries once rendered them all on one 36 MB page; 32 of those at once
kept the fake from answering its health check for minutes. Now a page holds at most
:data:`PAGE_SIZE` rows, and following the links shows every row exactly once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from urllib.parse import urlencode

import urllib3

from lmif_mock import LMIFServer, VirtualClock
from lmif_mock.http.dashboard.paging import PAGE_SIZE

_POOL = urllib3.PoolManager(retries=False)


def _ok(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


class Browser:
    """Just enough of a browser for the dashboard: cookies kept, redirects not followed."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, fields: dict[str, str] | None = None
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if fields is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(fields)
        response = _POOL.request(
            method, self.base + path, body=body, headers=headers, redirect=False, timeout=60
        )
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response

    def log_in(self, key: str) -> None:
        page = self.request("GET", "/dashboard/login").data.decode()
        match = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
        assert match is not None, page
        done = self.request("POST", "/dashboard/login", {"api_key": key, "csrf": match.group(1)})
        assert done.status == 303, done.data[:300]


def _cards(html: str) -> list[str]:
    return re.findall(r'<div class="card delivery" id="(dlv_[^"]+)"', html)


def _next(html: str) -> str | None:
    match = re.search(r'<a rel=next href="([^"]+)"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_a_webhook_page_shows_its_deliveries_twenty_at_a_time_newest_first() -> None:
    with LMIFServer(clock=VirtualClock()) as server:
        webhook = server.webhooks.create(_ok, events=["*"])
        for _ in range(5 * PAGE_SIZE + 3):
            server.emit("box.created")
        every = [d.id for d in server.deliveries(webhook_id=webhook.id)]
        browser = Browser(server.url)
        browser.log_in(server.api_key)
        seen: list[str] = []
        path: str | None = f"/dashboard/webhooks/{webhook.id}"
        pages = 0
        while path is not None:
            answer = browser.request("GET", path)
            assert answer.status == 200, answer.data[:300]
            html = answer.data.decode()
            cards = _cards(html)
            assert 0 < len(cards) <= PAGE_SIZE
            seen.extend(cards)
            pages += 1
            path = _next(html)
        assert pages == 6
        assert seen == every[::-1]  # every delivery once, newest first
        last = browser.request("GET", f"/dashboard/webhooks/{webhook.id}?page=6").data.decode()
        assert 'rel=prev href="/dashboard/webhooks/' in last
        assert "page 6 of 6" in last
        for bad, status in (("0", 400), ("x", 400), ("7", 404), ("99999999999", 400)):
            answer = browser.request("GET", f"/dashboard/webhooks/{webhook.id}?page={bad}")
            assert answer.status == status, (bad, answer.status)


def test_the_endpoints_list_is_paged_too() -> None:
    with LMIFServer(clock=VirtualClock()) as server:
        made = [server.webhooks.create(_ok, events=["*"]).id for _ in range(2 * PAGE_SIZE + 1)]
        browser = Browser(server.url)
        browser.log_in(server.api_key)
        seen: list[str] = []
        path: str | None = "/dashboard/"
        while path is not None:
            html = browser.request("GET", path).data.decode()
            rows = re.findall(r'<tr><td><a href="/dashboard/webhooks/(wh_[^"]+)">', html)
            assert 0 < len(rows) <= PAGE_SIZE
            seen.extend(rows)
            path = _next(html)
        assert seen == made


def test_whole_transcript_downloads_are_built_two_at_a_time() -> None:
    """The download is the whole run in one answer; a third while two are built gets a 503."""
    from lmif_mock.http.dashboard.app import MAX_CONCURRENT_DOWNLOADS

    with LMIFServer(clock=VirtualClock()) as server:
        server.webhooks.create(_ok, events=["*"])
        server.emit("box.created")
        browser = Browser(server.url)
        browser.log_in(server.api_key)
        downloads = server.api.dashboard._downloads
        held = [downloads.acquire(blocking=False) for _ in range(MAX_CONCURRENT_DOWNLOADS)]
        assert all(held)
        try:
            busy = browser.request("GET", "/dashboard/transcript.json")
            assert busy.status == 503
            assert busy.headers["Retry-After"] == "1"
        finally:
            for _ in held:
                downloads.release()
        done = browser.request("GET", "/dashboard/transcript.json")
        assert done.status == 200
        assert json.loads(done.data) == server.transcript()
