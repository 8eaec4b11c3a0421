"""Waiting for a receiver's answer by polling its socket briefly before going to sleep.

A test emitting events one after another to a receiver in another process spends most of each
delivery waiting for the answer. Sleeping in the kernel for that wait costs little CPU but a lot
of time on an idle machine: the core drops into a power-saving state, and the process wakes to a
slower core and cold caches, so the Python that records the answer runs far slower than it does
warm. Measured with ``benchmarks.bench_goals``' HTTP figure on an idle 2-core machine: 240 us per
emit sleeping, 190 us polling first (the by-hand sender it is compared with: 200 us). On a busy
machine the two are the same, so polling is bounded to cost little where it does not help:

- only the main thread polls: that is where a virtual clock's deliveries run (a pytest test), and
  there is one, so pollers never compete with each other; senders on other threads (``serve``'s
  workers, a real clock's lanes) sleep at once;
- at most :data:`SPIN_SECONDS` per answer and never past the exchange's deadline; another thread
  of this process that wants the interpreter meanwhile waits at most that long, since each poll
  lets go of it and the wait that follows sleeps;
- it adapts, per origin: answers within the window earn credit and misses cost twice as much, so
  a receiver that misses often (a slow one, or one served by a thread of this very process,
  which can answer only when this thread lets go of the interpreter) soon stops being polled,
  for 16, then 32... up to 1,024 exchanges, until a run of answers in time fills the credit.

On a machine (or CPU affinity) with a single core the receiver could not run while this process
polls, so nothing polls there.
"""

from __future__ import annotations

import os
import select
import threading
import time

#: How long one answer is polled for before sleeping: a loopback receiver in another process
#: answers a webhook in 0.1 to 0.3 ms on this project's machines.
SPIN_SECONDS = 0.0003
#: What polling has to show for itself: an answer within the window earns a credit (up to
#: :data:`_MOST_CREDIT`), one that missed it costs :data:`_MISS_COST`; out of credit, the origin
#: stops polling for a while. Misses must be rare for polling to go on: hits and misses taking
#: turns (a receiver in a thread of this process, answering only when it gets the interpreter)
#: run the credit down.
_START_CREDIT = 2
_MISS_COST = 2
_MOST_CREDIT = 8
#: The first and the longest pause (in exchanges); each pause is twice the one before until the
#: credit is full again.
_FIRST_PAUSE = 16
_LONGEST_PAUSE = 1024


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - platforms without affinity
        return os.cpu_count() or 1


#: Whether polling can help at all: with one core, the receiver cannot answer while we poll.
CAN_SPIN = _cores() >= 2 and hasattr(select, "poll")


class AnswerPolling:
    """Brief polling for the answers of one origin, and the memory of whether polling pays
    there. Kept per origin, not per connection: a receiver that closes every connection (HTTP/1.0
    servers such as werkzeug's development server) would otherwise be polled afresh each time."""

    def __init__(self) -> None:
        self._credit = _START_CREDIT
        self._pause = 0
        self._paused_for = 0
        #: Exchanges polled, answers that came within the window, windows that ran out (tests
        #: read these to see what the polling did, never how long it took).
        self.polled = 0
        self.hits = 0
        self.missed = 0

    def wait_briefly(self, poller: select.poll, deadline: float) -> None:
        """Poll (``poller``: the connection's socket, registered for input) for the answer's
        first bytes for at most :data:`SPIN_SECONDS`, never past ``deadline`` (a
        ``time.monotonic`` value); return at once where polling cannot help."""
        if not CAN_SPIN or threading.current_thread() is not threading.main_thread():
            return
        if self._pause:
            self._pause -= 1
            return
        now = time.monotonic()
        until = min(now + SPIN_SECONDS, deadline)
        if until <= now:
            return
        self.polled += 1
        poll = poller.poll
        while now < until:
            if poll(0):
                self.hits += 1
                self._credit = min(self._credit + 1, _MOST_CREDIT)
                if self._credit == _MOST_CREDIT:
                    self._paused_for = 0  # polling pays here again: no backoff remembered
                return
            now = time.monotonic()
        self.missed += 1
        self._credit -= _MISS_COST
        if self._credit <= 0:
            self._credit = _START_CREDIT
            self._paused_for = min(max(2 * self._paused_for, _FIRST_PAUSE), _LONGEST_PAUSE)
            self._pause = self._paused_for
