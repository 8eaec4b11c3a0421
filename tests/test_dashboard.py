"""The dashboard without a browser: login, CSRF, escaping, errors (the browser tests click through)."""

from __future__ import annotations

import re

import pytest
from werkzeug.test import Client

from lmif_mock import FakeLMIF
from lmif_mock.api import API

KEY = "lmif_test_dashboard"


@pytest.fixture
def fake() -> FakeLMIF:
    return FakeLMIF(seed=0)


@pytest.fixture
def client(fake: FakeLMIF) -> Client:
    return Client(API(fake, KEY))


def login(client: Client) -> str:
    client.post("/dashboard/login", data={"api_key": KEY})
    page = client.get("/dashboard/").get_data(as_text=True)
    match = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
    assert match is not None
    return match.group(1)


def test_everything_needs_a_login(client: Client) -> None:
    for path in ("/dashboard/", "/dashboard/webhooks/new", "/dashboard/events/evt_x"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == "/dashboard/login"
    assert client.post("/dashboard/webhooks", data={"url": "http://127.0.0.1/x"}).status_code == 303


def test_wrong_key_is_refused_right_key_sets_a_strict_cookie(client: Client) -> None:
    wrong = client.post("/dashboard/login", data={"api_key": "lmif_test_nope"})
    assert wrong.status_code == 401
    assert "not this server" in wrong.get_data(as_text=True)
    right = client.post("/dashboard/login", data={"api_key": KEY})
    cookie = right.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie


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


def test_outside_data_is_escaped(client: Client, fake: FakeLMIF) -> None:
    login(client)
    webhook = fake.webhooks.create("http://127.0.0.1:1/x", ["*"])
    event = fake.emit("box.created", data={"identityName": "<script>alert('x')</script>"})
    page = client.get(f"/dashboard/events/{event.id}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    detail = client.get(f"/dashboard/webhooks/{webhook.id}")
    assert "default-src 'none'" in detail.headers["Content-Security-Policy"]
    assert detail.headers["X-Frame-Options"] == "DENY"


def test_bad_input_is_shown_not_crashed(client: Client, fake: FakeLMIF) -> None:
    token = login(client)
    bad = client.post(
        "/dashboard/webhooks", data={"url": "http://10.0.0.1/x", "events": "*", "csrf": token}
    )
    assert bad.status_code == 400
    assert "not allowed" in bad.get_data(as_text=True)
    assert client.get("/dashboard/webhooks/wh_missing").status_code == 404
    assert client.get("/dashboard/nowhere").status_code == 404
    clock = client.post("/dashboard/clock", data={"seconds": "soon", "csrf": token})
    assert clock.status_code == 303
    assert fake.clock.now().isoformat().startswith("2024-01-15T10:00")


def test_logout_ends_the_session(client: Client) -> None:
    token = login(client)
    assert client.post("/dashboard/logout", data={"csrf": token}).status_code == 303
    assert client.get("/dashboard/").status_code == 303
