"""API keys the way the provider runs them: one current key; after a rotation the old key keeps
working for 24 hours and is then expired (KEY_EXPIRED); a revoked key stops at once (KEY_REVOKED).

Time is the fake's clock, so a test rotates, advances a virtual clock by a day, and sees its
client meet KEY_EXPIRED without waiting. ``serve --db`` saves the ring after every change
(:meth:`KeyRing.on_change`, :meth:`KeyRing.snapshot`) so a rotation outlives a restart.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

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
        self._listeners: list[Callable[[], None]] = []

    def on_change(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` after every rotation, revocation and reset (to save the ring)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    def snapshot(self) -> dict[str, Any]:
        """The whole ring as JSON-ready data; :meth:`restore` takes it back."""
        with self._lock:
            return {
                "initial": self.initial,
                "current": self.current,
                "retired": [
                    {"key": key, "kind": retired.kind, "at": retired.at.isoformat()}
                    for key, retired in self._retired.items()
                ],
            }

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Become the ring :meth:`snapshot` described; ``ValueError`` if it is not one.

        Checked completely before anything changes, so a damaged snapshot leaves the ring as it was.
        """
        try:
            initial, current = saved["initial"], saved["current"]
            retired = {
                str(entry["key"]): _Retired(entry["kind"], datetime.fromisoformat(entry["at"]))
                for entry in saved["retired"]
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a saved key ring: {exc!r}") from None
        if not (isinstance(initial, str) and isinstance(current, str)) or any(
            r.kind not in ("rotated", "revoked") or r.at.tzinfo is None for r in retired.values()
        ):
            raise ValueError("not a saved key ring: wrong types")
        with self._lock:
            self.initial, self.current, self._retired = initial, current, retired

    def reset(self) -> None:
        """Back to the key the server started with, nothing rotated or revoked."""
        with self._lock:
            self.current = self.initial
            self._retired.clear()
        self._changed()

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
        self._changed()
        return old

    def revoke(self, key: str, now: datetime) -> None:
        """Stop ``key`` at once; the current key cannot be revoked (rotate first)."""
        with self._lock:
            if key == self.current:
                raise ConflictError("the current key cannot be revoked; rotate it first")
            if key not in self._retired:
                raise NotFoundError("No such API key (only replaced keys can be revoked)")
            self._retired[key] = _Retired("revoked", now)
        self._changed()
