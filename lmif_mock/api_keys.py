"""API keys the way the provider runs them: one current key; after a rotation the old key keeps
working for 24 hours and is then expired (KEY_EXPIRED); a revoked key stops at once (KEY_REVOKED).

Time is the fake's clock, so a test rotates, advances a virtual clock by a day, and sees its
client meet KEY_EXPIRED without waiting.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from lmif_mock.errors import ConflictError, NotFoundError

#: How long a rotated-out key keeps working (the provider's documented grace).
ROTATION_GRACE = timedelta(hours=24)

KeyStatus = Literal["valid", "expired", "revoked", "unknown"]


@dataclass
class _Retired:
    kind: Literal["rotated", "revoked"]
    at: datetime


class KeyRing:
    """The current key and every key it replaced or revoked."""

    def __init__(self, key: str) -> None:
        self.initial = key
        self.current = key
        self._retired: dict[str, _Retired] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Back to the key the server started with, nothing rotated or revoked."""
        with self._lock:
            self.current = self.initial
            self._retired.clear()

    def status(self, key: str, now: datetime) -> tuple[KeyStatus, datetime | None]:
        """Whether ``key`` is accepted at ``now``, and since when it is expired or revoked."""
        with self._lock:
            if hmac.compare_digest(key.encode("utf-8", "replace"), self.current.encode()):
                return "valid", None
            retired = self._retired.get(key)
        if retired is None:
            return "unknown", None
        if retired.kind == "revoked":
            return "revoked", retired.at
        ends = retired.at + ROTATION_GRACE
        return ("valid", None) if now < ends else ("expired", ends)

    def rotate(self, new_key: str, now: datetime) -> str:
        """Make ``new_key`` current; the old one works for :data:`ROTATION_GRACE` more."""
        with self._lock:
            old = self.current
            self._retired[old] = _Retired("rotated", now)
            self.current = new_key
            return old

    def revoke(self, key: str, now: datetime) -> None:
        """Stop ``key`` at once; the current key cannot be revoked (rotate first)."""
        with self._lock:
            if key == self.current:
                raise ConflictError("the current key cannot be revoked; rotate it first")
            if key not in self._retired:
                raise NotFoundError("no such API key")
            self._retired[key] = _Retired("revoked", now)
