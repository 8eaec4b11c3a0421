"""Reading a receiver's side effects when it may act later (a queue, a background worker).

``processed(event_id)`` is polled until the counts settle: first until every event the receiver
is expected to act on shows an effect, then until no count has changed for a quiet period. Both
waits are bounded, so a receiver that never acts costs at most ``limit`` seconds, not a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

Processed = Callable[[str], int]

#: Seconds between two reads of the counts.
POLL_INTERVAL = 0.005


class Settler:
    """Polls ``processed`` until counts are stable for ``quiet`` seconds, for at most ``limit``."""

    def __init__(self, processed: Processed, *, quiet: float, limit: float) -> None:
        if quiet < 0 or limit < 0:
            raise ValueError("settle times must be >= 0 seconds")
        self.processed = processed
        self.quiet = quiet
        self.limit = limit

    def read(self, event_ids: Iterable[str]) -> dict[str, int]:
        """Every count right now."""
        return {event_id: int(self.processed(event_id)) for event_id in event_ids}

    def counts(self, event_ids: Iterable[str], *, expect: Iterable[str] = ()) -> dict[str, int]:
        """Settled counts of ``event_ids``, waiting first for each of ``expect`` to show one."""
        ids = list(dict.fromkeys([*event_ids, *expect]))
        awaited = list(expect)
        deadline = time.monotonic() + self.limit
        counts = self.read(ids)
        while any(counts[e] == 0 for e in awaited) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            counts = self.read(ids)
        stable_since = time.monotonic()
        while time.monotonic() - stable_since < self.quiet and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            now = self.read(ids)
            if now != counts:
                counts, stable_since = now, time.monotonic()
        return counts
