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
- it adapts: a connection whose answer missed the window :data:`GIVE_UP_AFTER` times in a row (a
  slow receiver, or one served by a thread of this very process, which cannot answer while this
  thread polls) stops polling, and tries again only after 16, then 32... up to 1,024 exchanges,
  so a slow receiver costs a few windows over a whole session.

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
#: Misses in a row after which a connection stops polling for a while.
GIVE_UP_AFTER = 2
#: The first and the longest pause (in exchanges) of a connection whose answers keep missing.
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
        self._misses = 0
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
                self._misses = 0
                self._paused_for = 0
                return
            now = time.monotonic()
        self.missed += 1
        self._misses += 1
        if self._misses >= GIVE_UP_AFTER:
            self._misses = 0
            self._paused_for = min(max(2 * self._paused_for, _FIRST_PAUSE), _LONGEST_PAUSE)
            self._pause = self._paused_for
