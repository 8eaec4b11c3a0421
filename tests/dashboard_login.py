"""Logging in to the dashboard the way a browser does: the login page first, then its form."""

from __future__ import annotations

import re

from werkzeug.test import Client, TestResponse


def login_token(client: Client) -> str:
    """The token of the login form this client was just given (its cookie is kept by it)."""
    page = client.get("/dashboard/login").get_data(as_text=True)
    match = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
    assert match is not None, page
    return match.group(1)


def log_in(client: Client, key: str) -> TestResponse:
    """Post ``key`` through the login form, as a browser that opened the login page would."""
    return client.post("/dashboard/login", data={"api_key": key, "csrf": login_token(client)})
