"""Login CSRF: only the dashboard's own login page can log a browser in.

The session's CSRF token protects every form once logged in, but the login form comes before any
session. Without a token, another site could post *its* API key to this login form and leave the
browser logged in to a dashboard the user did not choose (login CSRF). So the login page sets a
random nonce in a cookie of its own (HttpOnly, SameSite=Strict) and puts a keyed hash of it in
the form; a login is accepted only when the posted hash matches the cookie the browser sent. A
page on another site can neither read the cookie nor compute the hash (the key never leaves this
process), and with SameSite=Strict the browser does not even send the cookie with its post.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

#: The cookie holding the login page's nonce (scoped to the login page).
LOGIN_COOKIE = "lmif_login"
#: How long a login page stays usable, in seconds.
LOGIN_COOKIE_SECONDS = 3600

_NONCE = re.compile(r"[A-Za-z0-9_-]{32}")


class LoginGuard:
    """Issues and checks the login form's token; the key lives as long as the dashboard."""

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    @staticmethod
    def new_nonce() -> str:
        """A fresh nonce for a browser that has none (or a malformed one)."""
        return secrets.token_urlsafe(24)

    @staticmethod
    def well_formed(nonce: str | None) -> bool:
        """Whether ``nonce`` could be one this guard issued (else a new one is issued)."""
        return nonce is not None and _NONCE.fullmatch(nonce) is not None

    def form_token(self, nonce: str) -> str:
        """What the login form carries for the browser holding ``nonce``."""
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def accepts(self, nonce: str | None, sent: str) -> bool:
        """Whether a posted login came from the login page this browser was given."""
        if nonce is None or not self.well_formed(nonce):
            return False
        expected = self.form_token(nonce).encode()
        return hmac.compare_digest(sent.encode("utf-8", "replace"), expected)
