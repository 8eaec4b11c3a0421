"""The dashboard without a browser: login and sessions, CSRF, routing, escaping, redirects, CSP,
secrets shown once, and the delivery timeline (the browser tests click through the flows)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client, TestResponse

from lmif_mock import FakeLMIF, RetryPolicy
from lmif_mock.errors import ConflictError
from lmif_mock.http.api_keys import KeyRing
from lmif_mock.http.app import API
from lmif_mock.http.dashboard.sessions import FAKE_LIFETIME, WALL_LIFETIME, Sessions
from lmif_mock.http.dashboard.timeline import schedule_summary, timeline
from tests.dashboard_login import log_in, login_token

KEY = "lmif_test_dashboard"


@pytest.fixture
def fake() -> FakeLMIF:
    return FakeLMIF(seed=0)


@pytest.fixture
def api(fake: FakeLMIF) -> API:
    return API(fake, KEY)


@pytest.fixture
def client(api: API) -> Client:
    return Client(api)


def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("500 Internal Server Error", [])
    return [b"down"]


def succeeding(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def login(client: Client, key: str = KEY) -> str:
    log_in(client, key)
    page = client.get("/dashboard/").get_data(as_text=True)
    match = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
    assert match is not None, page
    return match.group(1)


def control(client: Client, path: str, body: dict[str, Any], key: str = KEY) -> TestResponse:
    """A call to the fake's control API, as a test in another language would make it."""
    return client.post(
        path,
        data=json.dumps(body),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )


def test_everything_needs_a_login(client: Client) -> None:
    for path in ("/dashboard/", "/dashboard/webhooks/new", "/dashboard/events/evt_x"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == "/dashboard/login"
    assert client.post("/dashboard/webhooks", data={"url": "http://127.0.0.1/x"}).status_code == 303


def test_wrong_key_is_refused_right_key_sets_a_strict_cookie(client: Client) -> None:
    wrong = log_in(client, "lmif_test_nope")
    assert wrong.status_code == 401
    assert "not this server" in wrong.get_data(as_text=True)
    right = log_in(client, KEY)
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie
    assert f"Max-Age={int(WALL_LIFETIME.total_seconds())}" in cookie


def test_the_login_form_needs_the_token_of_the_login_page(api: API, client: Client) -> None:
    """Login CSRF: another site posting a key to the login form must not log the browser in."""
    forged = Client(api)  # a browser that never opened the login page: no cookie, no token
    refused = forged.post("/dashboard/login", data={"api_key": KEY})
    assert refused.status_code == 403
    assert not any("lmif_dashboard=" in c for c in refused.headers.getlist("Set-Cookie"))
    assert forged.get("/dashboard/").status_code == 303  # still logged out
    guessed = forged.post("/dashboard/login", data={"api_key": KEY, "csrf": "0" * 64})
    assert guessed.status_code == 403
    other_browser = Client(api)
    stolen_token = login_token(other_browser)  # a token that belongs to another browser's cookie
    assert log_in(forged, KEY).status_code == 303  # its own login page's token works
    forged.post("/dashboard/logout", data={"csrf": login(forged)})
    victim = Client(api)
    login_token(victim)  # the victim has a login cookie of its own, not the attacker's token
    crossed = victim.post("/dashboard/login", data={"api_key": KEY, "csrf": stolen_token})
    assert crossed.status_code == 403
    assert victim.get("/dashboard/").status_code == 303
    page = client.get("/dashboard/login")
    cookie = page.headers["Set-Cookie"]
    assert "lmif_login=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/dashboard/login" in cookie


def test_posts_without_the_csrf_token_are_refused(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    refused = client.post(
        "/dashboard/webhooks", data={"url": "http://127.0.0.1:1/x", "events": "*"}
    )
    assert refused.status_code == 403
    assert fake.webhooks.list() == []
    accepted = client.post(
        "/dashboard/webhooks", data={"url": "http://127.0.0.1:1/x", "events": "*", "csrf": token}
    )
    assert accepted.status_code == 303
    assert len(fake.webhooks.list()) == 1


def test_routes_answer_405_for_the_wrong_method_and_404_for_no_page(client: Client) -> None:
    login(client)
    for method, path, allowed in (
        ("GET", "/dashboard/clock", "POST"),
        ("GET", "/dashboard/logout", "POST"),
        ("GET", "/dashboard/webhooks", "POST"),
        ("GET", "/dashboard/deliveries/dlv_x/retry", "POST"),
        ("POST", "/dashboard/events/evt_x", "GET, HEAD"),
    ):
        response = client.open(path, method=method)
        assert response.status_code == 405, (method, path)
        assert response.headers["Allow"] == allowed
    assert client.get("/dashboard/nowhere").status_code == 404
    assert client.get("/dashboard/webhooks/wh_x/rotate").status_code == 405
    assert client.get("/dashboard").headers["Location"] == "/dashboard/"


class _Scripts(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.sources: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.inline += [f"{tag} {name}" for name, _ in attrs if name.startswith("on")]
        if tag == "style" or "style" in named:
            self.inline.append(f"{tag} style")
        if tag == "script":
            self._in_script = True
            if named.get("src"):
                self.sources.append(str(named["src"]))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(f"script {data[:40]!r}")


def test_the_csp_forbids_inline_script_and_no_page_needs_it(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    fake.retry_policy = RetryPolicy(delays=[0, 60])
    webhook = fake.webhooks.create(failing, ["*"])
    event = fake.emit("box.created")
    created = client.post(
        "/dashboard/webhooks", data={"url": "http://127.0.0.1:1/y", "events": "*", "csrf": token}
    )
    pages = [
        client.get(created.headers["Location"]),  # with the new secret and its Copy button
        client.get("/dashboard/"),
        client.get("/dashboard/webhooks/new"),
        client.get(f"/dashboard/webhooks/{webhook.id}"),
        client.get(f"/dashboard/events/{event.id}"),
        client.get("/dashboard/login"),
        client.get("/dashboard/nowhere"),
    ]
    for response in pages:
        assert response.headers["Content-Security-Policy"] == (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
        assert response.headers["X-Frame-Options"] == "DENY"
        scripts = _Scripts()
        scripts.feed(response.get_data(as_text=True))
        assert scripts.inline == [], scripts.inline
        assert scripts.sources == ["/dashboard/static/dashboard.js"]
    script = client.get("/dashboard/static/dashboard.js")
    assert script.status_code == 200
    assert script.mimetype == "text/javascript"
    assert "data-copy" in script.get_data(as_text=True)


def test_outside_data_is_escaped(client: Client, fake: FakeLMIF) -> None:
    login(client)
    hostile = "<script>alert('x')</script>"
    webhook = fake.webhooks.create("http://127.0.0.1:1/x?a=<b>&c='d'", ["*"])
    event = fake.emit("box.created", data={"identityName": hostile})
    page = client.get(f"/dashboard/events/{event.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    detail = client.get(f"/dashboard/webhooks/{webhook.id}").get_data(as_text=True)
    assert "?a=<b>" not in detail
    assert "?a=&lt;b&gt;&amp;c=&#39;d&#39;" in detail


def test_bad_input_is_shown_not_crashed(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    bad = client.post(
        "/dashboard/webhooks", data={"url": "http://10.0.0.1/x", "events": "*", "csrf": token}
    )
    assert bad.status_code == 400
    assert "not allowed" in bad.get_data(as_text=True)
    assert client.get("/dashboard/webhooks/wh_missing").status_code == 404
    for seconds in ("soon", "nan", "inf", "-5", "1e300", str(401 * 86400)):
        clock = client.post("/dashboard/clock", data={"seconds": seconds, "csrf": token})
        assert clock.status_code == 303
    assert fake.clock.now().isoformat().startswith("2024-01-15T10:00")
    unknown = client.post("/dashboard/deliveries/dlv_missing/retry", data={"csrf": token})
    assert unknown.status_code == 404


def test_failures_are_pages_not_tracebacks(
    client: Client, fake: FakeLMIF, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = login(client)

    def broken() -> None:
        raise RuntimeError("a bug with a secret inside")

    monkeypatch.setattr(fake.webhooks, "list", broken)
    failed = client.get("/dashboard/")
    assert failed.status_code == 500
    assert failed.mimetype == "text/html"
    assert "see the server&#39;s log" in failed.get_data(as_text=True)
    assert "secret inside" not in failed.get_data(as_text=True)
    assert "Traceback" not in failed.get_data(as_text=True)
    monkeypatch.undo()

    def in_flight(delivery_id: str) -> None:
        raise ConflictError(f"an attempt of {delivery_id} is in flight; try again shortly")

    monkeypatch.setattr(fake, "retry", in_flight)
    busy = client.post("/dashboard/deliveries/dlv_x/retry", data={"csrf": token})
    assert busy.status_code == 409
    assert "is in flight" in busy.get_data(as_text=True)


def test_test_events_are_sandbox_only(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    webhook = fake.webhooks.create(succeeding, ["*"])
    fake.webhooks.sandbox = False  # what a live LMIFServer sets
    sent = client.post(
        f"/dashboard/webhooks/{webhook.id}/test", data={"event_type": "box.created", "csrf": token}
    )
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "Test events are a sandbox feature: none sent." in page
    assert fake.deliveries() == []
    fake.webhooks.sandbox = True
    client.post(
        f"/dashboard/webhooks/{webhook.id}/test", data={"event_type": "box.created", "csrf": token}
    )
    assert [d.status for d in fake.deliveries()] == ["succeeded"]


def test_logout_ends_the_session(client: Client) -> None:
    token = login(client)
    assert client.post("/dashboard/logout", data={"csrf": token}).status_code == 303
    assert client.get("/dashboard/").status_code == 303


# -- sessions end with their key, and do not outlive years of fake time ----------------------


def ended(client: Client) -> str:
    response = client.get("/dashboard/")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/dashboard/login?ended=")
    assert "lmif_dashboard=;" in response.headers.get("Set-Cookie", "")  # the cookie is cleared
    return location.split("=", 1)[1]


def test_a_session_ends_when_its_key_is_revoked(client: Client) -> None:
    login(client)
    rotated = control(client, "/_mock/keys/rotate", {}).get_json()["data"]
    assert client.get("/dashboard/").status_code == 200  # the old key's 24 h grace
    revoke = control(client, "/_mock/keys/revoke", {"apiKey": KEY}, key=rotated["apiKey"])
    assert revoke.status_code == 200
    assert ended(client) == "key_revoked"
    page = client.get("/dashboard/login?ended=key_revoked").get_data(as_text=True)
    assert "the API key you logged in with was revoked" in page
    login(client, rotated["apiKey"])  # the new key logs in again
    assert client.get("/dashboard/").status_code == 200


def test_a_session_ends_when_its_key_expires_after_rotation(client: Client) -> None:
    login(client)
    new_key = control(client, "/_mock/keys/rotate", {}).get_json()["data"]["apiKey"]
    control(client, "/_mock/clock/advance", {"hours": 23}, key=new_key)
    assert client.get("/dashboard/").status_code == 200
    control(client, "/_mock/clock/advance", {"hours": 2}, key=new_key)
    assert ended(client) == "key_expired"


def test_a_session_does_not_survive_ten_fake_years(client: Client) -> None:
    token = login(client)
    assert client.post("/dashboard/clock", data={"seconds": "2592000", "csrf": token}).status_code
    assert client.get("/dashboard/").status_code == 200  # +30 days from the dashboard is fine
    control(client, "/_mock/clock/advance", {"days": 3650})
    assert ended(client) == "lifetime"


def test_after_a_restart_the_login_page_says_why_the_session_ended(
    client: Client, fake: FakeLMIF
) -> None:
    login(client)
    cookie = client.get_cookie("lmif_dashboard", path="/dashboard")
    assert cookie is not None
    restarted = Client(API(fake, KEY))  # the same data (as with --db), a new server process
    restarted.set_cookie("lmif_dashboard", cookie.value, path="/dashboard")
    assert ended(restarted) == "restarted"
    page = restarted.get("/dashboard/login?ended=restarted").get_data(as_text=True)
    assert "Sessions are kept in memory, so a restart ends them (with --db too)" in page


def test_the_favicon_is_served_without_a_key_and_every_page_names_it(client: Client) -> None:
    anonymous = client.get("/favicon.ico")  # what a browser asks for on its own
    assert anonymous.status_code == 204
    icon = client.get("/dashboard/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert icon.get_data().startswith(b"<svg")
    login_page = client.get("/dashboard/login").get_data(as_text=True)
    assert '<link rel=icon href="/dashboard/static/favicon.svg"' in login_page


def test_sessions_last_twelve_hours_of_real_time() -> None:
    wall = [1000.0]
    now = datetime(2024, 1, 15, tzinfo=timezone.utc)
    sessions = Sessions(KeyRing(KEY), lambda: now, lambda: wall[0])
    session = sessions.start(KEY)
    wall[0] += WALL_LIFETIME.total_seconds() - 1
    assert sessions.find(session.token) == (session, None)
    wall[0] += 2
    assert sessions.find(session.token) == (None, "lifetime")
    assert sessions.find(session.token) == (None, "restarted")  # gone: no longer known
    later = sessions.start(KEY)
    now += FAKE_LIFETIME + timedelta(seconds=1)
    assert sessions.find(later.token) == (None, "lifetime")


# -- redirects only to the dashboard's own pages ------------------------------------------------


def test_the_clock_form_returns_to_its_page_and_never_elsewhere(
    client: Client, fake: FakeLMIF
) -> None:
    token = login(client)
    webhook = fake.webhooks.create("http://127.0.0.1:1/x", ["*"])
    own = f"/dashboard/webhooks/{webhook.id}"
    back = client.post("/dashboard/clock", data={"seconds": "60", "csrf": token, "next": own})
    assert back.headers["Location"] == own
    for hostile in (
        "http://evil.example/dashboard/",
        "//evil.example/dashboard/",
        "/dashboard//evil.example/",
        "/dashboard/\\evil.example",
        "/dashboard/../evil",
        "/dashboard/clock",
        "/dashboard/login",
        "https://evil.example",
    ):
        answer = client.post(
            "/dashboard/clock",
            data={"seconds": "60", "csrf": token, "next": hostile},
            headers={"Referer": "http://evil.example/dashboard/"},
        )
        assert answer.headers["Location"] == "/dashboard/", hostile


hosts = st.sampled_from(["http://evil.example", "https://evil.example:8765", "//evil.example", ""])
places = st.one_of(
    st.text(max_size=60),
    st.builds(lambda host, rest: f"{host}/dashboard/{rest}", hosts, st.text(max_size=40)),
)


@settings(deadline=None)  # each example logs in through the whole app: slow on a busy machine
@given(target=places, referer=places)
def test_no_clock_form_redirect_leaves_the_dashboard(target: str, referer: str) -> None:
    client = Client(API(FakeLMIF(seed=0), KEY))
    token = login(client)
    try:
        headers = {"Referer": referer}
        answer = client.post(
            "/dashboard/clock",
            data={"seconds": "1", "csrf": token, "next": target},
            headers=headers,
        )
    except ValueError:  # werkzeug's test client refuses some header values itself
        return
    location = answer.headers["Location"]
    resolved = urlsplit(urljoin("http://127.0.0.1:8765/dashboard/clock", location))
    assert (resolved.scheme, resolved.netloc) == ("http", "127.0.0.1:8765")
    assert resolved.path.startswith("/dashboard/")


# -- secrets are shown once ------------------------------------------------------------------


def test_a_new_secret_is_shown_once_then_only_hinted(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    created = client.post(
        "/dashboard/webhooks", data={"url": "http://127.0.0.1:1/x", "events": "*", "csrf": token}
    )
    (webhook,) = fake.webhooks.list()
    first = client.get(created.headers["Location"]).get_data(as_text=True)
    assert webhook.secret in first
    assert "Copy it now: it is shown here once." in first
    assert ".:" not in first
    again = client.get(created.headers["Location"]).get_data(as_text=True)
    assert webhook.secret not in again
    assert f"…{webhook.secret[-4:]}" in again
    rotated = client.post(f"/dashboard/webhooks/{webhook.id}/rotate", data={"csrf": token})
    new_secret = fake.webhooks.get(webhook.id).secret
    assert new_secret in client.get(rotated.headers["Location"]).get_data(as_text=True)
    for path in ("/dashboard/", created.headers["Location"]):
        later = client.get(path).get_data(as_text=True)
        assert new_secret not in later
        assert webhook.secret not in later


# -- deliveries: what Retry does, and the retry schedule at a glance ------------------------


def test_retry_is_offered_only_where_it_means_something(client: Client, fake: FakeLMIF) -> None:
    login(client)
    ok = fake.webhooks.create(succeeding, ["*"])
    down = fake.webhooks.create(failing, ["*"])
    fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 60]))
    ok_page = client.get(f"/dashboard/webhooks/{ok.id}").get_data(as_text=True)
    assert 'data-status="succeeded"' in ok_page
    assert "/retry" not in ok_page
    down_page = client.get(f"/dashboard/webhooks/{down.id}").get_data(as_text=True)
    assert "<button>Attempt now</button>" in down_page
    assert "instead of waiting for the next scheduled attempt" in down_page
    fake.clock.advance(minutes=1)
    failed_page = client.get(f"/dashboard/webhooks/{down.id}").get_data(as_text=True)
    assert 'data-status="failed"' in failed_page
    assert "<button>Retry</button>" in failed_page
    assert "one more attempt now; the schedule is used up" in failed_page
    # The event page (the one `serve` links to when a delivery fails for good) has it too,
    # and the button brings you back there.
    (delivery,) = fake.deliveries(webhook_id=down.id)
    event_page = f"/dashboard/events/{delivery.event_id}"
    listed = client.get(event_page).get_data(as_text=True)
    assert listed.count("<button>Retry</button>") == 1  # the succeeded copy has none
    token = re.search(r'name=csrf value="([0-9a-f]{64})"', listed).group(1)  # type: ignore[union-attr]
    retried = client.post(
        f"/dashboard/deliveries/{delivery.id}/retry", data={"csrf": token, "next": event_page}
    )
    assert retried.headers["Location"] == event_page
    assert len(fake.delivery(delivery.id).attempts) == 3


def test_no_retry_is_offered_for_a_deleted_webhook_and_the_page_says_why(
    client: Client, fake: FakeLMIF
) -> None:
    login(client)
    down = fake.webhooks.create(failing, ["*"])
    fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 60]))
    (delivery,) = fake.deliveries(webhook_id=down.id)
    fake.webhooks.delete(down.id)
    fake.clock.advance(minutes=1)  # the pending attempt finds no webhook: failed for good
    assert fake.delivery(delivery.id).status == "failed"
    made = len(fake.delivery(delivery.id).attempts)
    event_page = f"/dashboard/events/{delivery.event_id}"
    shown = client.get(event_page).get_data(as_text=True)
    assert "<button>Retry</button>" not in shown
    assert f"No retry: its webhook {down.id} was deleted" in shown
    token = re.search(r'name=csrf value="([0-9a-f]{64})"', shown).group(1)  # type: ignore[union-attr]
    posted = client.post(
        f"/dashboard/deliveries/{delivery.id}/retry", data={"csrf": token, "next": event_page}
    )
    assert posted.headers["Location"] == event_page
    assert "Not retried: its webhook" in client.get(event_page).get_data(as_text=True)
    assert len(fake.delivery(delivery.id).attempts) == made  # nothing recorded


def test_the_timeline_shows_attempts_made_the_next_due_and_those_planned(fake: FakeLMIF) -> None:
    webhook = fake.webhooks.create(failing, ["*"])
    fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 60, 300, 1800]))
    fake.clock.advance(minutes=1)
    (delivery,) = fake.deliveries(webhook_id=webhook.id)
    start = delivery.attempts[0].at
    steps = [(s.number, s.kind, s.at - start) for s in timeline(delivery)]
    assert steps == [
        (1, "made", timedelta(0)),
        (2, "made", timedelta(minutes=1)),
        (3, "next", timedelta(minutes=6)),
        (4, "planned", timedelta(minutes=36)),
    ]
    assert (
        schedule_summary(delivery)
        == "4 attempts: the first at once, then after 1 min, 5 min, 30 min"
    )
    fake.retry(delivery.id)  # a manual attempt does not use up the schedule
    (delivery,) = fake.deliveries(webhook_id=webhook.id)
    kinds = [(s.number, s.kind) for s in timeline(delivery)]
    assert kinds == [(1, "made"), (2, "made"), (3, "made"), (4, "next"), (5, "planned")]
