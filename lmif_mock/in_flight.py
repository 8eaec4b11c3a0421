"""Which deliveries have an attempt under way, and waiting until that changes.

The dispatcher marks a delivery in flight for the length of one attempt, so that no second
attempt of it starts meanwhile (a timer and a manual retry can fall due together), and callers
on a real clock wait here for attempts to finish instead of sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class InFlight:
    """A set of delivery ids guarded by the dispatcher's lock, with waits on its changes."""

    def __init__(self, lock: threading.RLock) -> None:
        self._ids: set[str] = set()
        self._changed = threading.Condition(lock)
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many callers are waiting for a change."""
        return self._waiting

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._ids

    def __len__(self) -> int:
        with self._changed:
            return len(self._ids)

    def add(self, delivery_id: str) -> None:
        """Mark an attempt of ``delivery_id`` as under way (the caller holds the lock)."""
        self._ids.add(delivery_id)

    def discard(self, delivery_id: str) -> None:
        """The attempt is over: wake everyone waiting (once: a second discard of the same
        attempt, the dispatcher's safety net, changes nothing and wakes nobody)."""
        with self._changed:
            if delivery_id in self._ids:
                self._ids.remove(delivery_id)
                if self._waiting:  # nobody waiting (every attempt of a test, mostly): no call
                    self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Block until no attempt is under way; ``False`` if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._ids:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wait(remaining)
        return True

    def wait_until(self, done: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
        """Block until ``done()`` (checked under the lock at every change, and every ``poll``
        seconds); ``False`` if ``timeout`` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._wait(min(remaining, poll))
        return True

    def _wait(self, timeout: float) -> None:
        """Wait for a change, counted so that a change with nobody waiting wakes nobody (the
        caller holds the lock, so no change slips in between the count and the wait)."""
        self._waiting += 1
        try:
            self._changed.wait(timeout)
        finally:
            self._waiting -= 1
