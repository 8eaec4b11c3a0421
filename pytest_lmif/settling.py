"""Reading a receiver's side effects when it may act later (a queue, a background worker).

A fixed quiet period cannot tell "done" from "slow": a worker taking 0.3 s per job looks
settled after 0.1 s with only the original acted on, and a receiver that acts on every
duplicate would pass. So judging waits on evidence instead. ``processed(event_id)`` is polled
until every event the receiver is expected to act on shows an effect (bounded by ``limit``);
how long the first of them took from being sent to being acted on is the receiver's latency
``L``; then extra effects are watched for at least ``max(quiet, LATENCY_FACTOR * L +
LATENCY_MARGIN)`` after the later of "last copy answered" and "last expected effect seen", and
for ``quiet`` after the last change, never past ``limit``. A result that could not be waited
for in full says so (:attr:`Settled.complete`), so a check reports it as inconclusive instead
of passing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: Counts a receiver's effects for one event id: the evidence settling waits for.
EffectCounter = Callable[[str], int]

#: Seconds between two reads of the counts.
POLL_INTERVAL = 0.005
#: How many latencies to keep watching after the evidence is in: a FIFO worker reaches a
#: duplicate queued right behind the original one latency later; three leave room for jitter.
LATENCY_FACTOR = 3.0
#: Seconds added to the latency-based watch, so a receiver acting at once still gets a look.
LATENCY_MARGIN = 0.05


@dataclass(frozen=True)
class Settled:
    """Side-effect counts, and how much evidence stands behind them."""

    counts: dict[str, int]
    #: Every expected event showed an effect, and the watch for extra effects ran in full.
    complete: bool
    #: Seconds from sending the first expected event to seeing its effect (0 when unknown).
    latency: float
    #: Seconds spent waiting, for the report.
    waited: float

    def __getitem__(self, event_id: str) -> int:
        return self.counts[event_id]


class Settler:
    """Polls ``processed`` until the evidence is in (see the module docstring)."""

    def __init__(self, processed: EffectCounter, *, quiet: float, limit: float) -> None:
        if quiet < 0 or limit < 0:
            raise ValueError("settle times must be >= 0 seconds")
        self.processed = processed
        self.quiet = quiet
        self.limit = limit
        self._sent_at: dict[str, float] = {}
        self._first_seen: dict[str, float] = {}

    def sending(self, event_id: str) -> None:
        """Note that ``event_id`` is about to be sent (the start of its latency)."""
        self._sent_at.setdefault(event_id, time.monotonic())

    def read(self, event_ids: Iterable[str]) -> dict[str, int]:
        """Every count right now (noting when each effect was first seen)."""
        counts = {event_id: int(self.processed(event_id)) for event_id in event_ids}
        now = time.monotonic()
        for event_id, count in counts.items():
            if count:
                self._first_seen.setdefault(event_id, now)
        return counts

    def latency(self, event_id: str) -> float | None:
        """Seconds from sending ``event_id`` to first seeing its effect, if both are known."""
        if event_id not in self._sent_at or event_id not in self._first_seen:
            return None
        return max(0.0, self._first_seen[event_id] - self._sent_at[event_id])

    def counts(self, event_ids: Iterable[str], *, expect: Iterable[str] = ()) -> Settled:
        """Counts of ``event_ids`` once each of ``expect`` shows an effect and extra effects
        had time to appear; call it right after the last copy was answered."""
        awaited = list(dict.fromkeys(expect))
        ids = list(dict.fromkeys([*event_ids, *awaited]))
        start = time.monotonic()
        deadline = start + self.limit
        counts = self.read(ids)
        while any(counts[e] == 0 for e in awaited) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
            counts = self.read(ids)
        arrived = all(counts[e] > 0 for e in awaited)
        latencies = [lat for e in awaited if (lat := self.latency(e)) is not None]
        latency = latencies[0] if latencies else 0.0
        evidence_at = max([start, *(self._first_seen.get(e, start) for e in awaited)])
        watch = max(self.quiet, LATENCY_FACTOR * latency + LATENCY_MARGIN)
        watch_until = evidence_at + watch
        changed_at = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= deadline or (now >= watch_until and now - changed_at >= self.quiet):
                break
            time.sleep(POLL_INTERVAL)
            latest = self.read(ids)
            if latest != counts:
                counts, changed_at = latest, time.monotonic()
        end = time.monotonic()
        full = end >= watch_until and end - changed_at >= self.quiet
        return Settled(counts, arrived and full, latency, end - start)
