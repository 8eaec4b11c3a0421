"""Dashboard sessions: made by logging in with an API key, and no longer-lived than that key.

A session ends when the key it was made with stops working on the fake's clock (revoked, or
expired after a rotation), after 12 hours of real time, or after 366 days of the fake's clock
(a virtual clock moved ten years ahead does not keep a session from long ago alive). Each check
happens on every request, so the end is immediate. Each session has its own CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from lmif_mock.http.api_keys import KeyRing

#: Real time a session lasts (also the cookie's Max-Age).
WALL_LIFETIME = timedelta(hours=12)
#: Fake time a session lasts, longer than any clock button, far shorter than years.
FAKE_LIFETIME = timedelta(days=366)
#: Sessions kept at once; logging in beyond it ends the oldest.
MAX_SESSIONS = 1000

EndReason = Literal["key_revoked", "key_expired", "key_unknown", "lifetime", "restarted"]

#: What the login page says about each way a session ends.
END_MESSAGES: dict[str, str] = {
    "key_revoked": "Your session ended: the API key you logged in with was revoked.",
    "key_expired": (
        "Your session ended: the API key you logged in with expired after a rotation. "
        "Log in with the current key."
    ),
    "key_unknown": "Your session ended: the API key you logged in with is no longer known.",
    "lifetime": (
        "Your session ended: a session lasts 12 hours, and at most 366 days of the fake's clock."
    ),
    "restarted": (
        "Your session ended: this server does not know it. Sessions are kept in memory, so a "
        "restart ends them (with --db too); or the cookie came from another server."
    ),
}


@dataclass(frozen=True)
class Flash:
    """A one-time notice for the next page; ``secret`` is shown with it, that once."""

    message: str
    secret: str | None = None


@dataclass
class Session:
    """One logged-in browser."""

    token: str
    api_key: str
    started: float
    started_fake: datetime
    flash: Flash | None = None

    @property
    def csrf(self) -> str:
        """The token every form of this session carries (derived, so nothing more to store)."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    def csrf_ok(self, sent: str) -> bool:
        """Whether a submitted form carried this session's token."""
        return hmac.compare_digest(sent.encode("utf-8", "replace"), self.csrf.encode())

    def take_flash(self) -> Flash | None:
        """The pending notice, removed so that it shows once."""
        flash, self.flash = self.flash, None
        return flash


class Sessions:
    """The live sessions, checked against the key ring and both clocks on every lookup."""

    def __init__(
        self,
        keys: KeyRing,
        fake_now: Callable[[], datetime],
        wall_now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._keys = keys
        self._fake_now = fake_now
        self._wall_now = wall_now
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, api_key: str) -> Session:
        """A new session for someone who just logged in with ``api_key``."""
        session = Session(secrets.token_urlsafe(32), api_key, self._wall_now(), self._fake_now())
        with self._lock:
            while len(self._sessions) >= MAX_SESSIONS:
                del self._sessions[next(iter(self._sessions))]
            self._sessions[session.token] = session
        return session

    def find(self, token: str | None) -> tuple[Session | None, EndReason | None]:
        """The live session for ``token``, or why there is none (``None`` without a token;
        ``restarted`` for a token this server does not hold, as after a restart)."""
        if not token:
            return None, None
        with self._lock:
            session = self._sessions.get(token)
        if session is None:  # a cookie this server never issued, or issued before a restart
            return None, "restarted"
        reason = self._ended(session)
        if reason is not None:
            self.end(token)
            return None, reason
        return session, None

    def end(self, token: str) -> None:
        """Log out."""
        with self._lock:
            self._sessions.pop(token, None)

    def _ended(self, session: Session) -> EndReason | None:
        fake_now = self._fake_now()
        status, _ = self._keys.status(session.api_key, fake_now)
        if status == "revoked":
            return "key_revoked"
        if status == "expired":
            return "key_expired"
        if status != "valid":
            return "key_unknown"
        too_long = self._wall_now() - session.started > WALL_LIFETIME.total_seconds()
        if too_long or fake_now - session.started_fake > FAKE_LIFETIME:
            return "lifetime"
        return None
