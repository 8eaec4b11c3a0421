"""Time as an object you pass in: the virtual clock tests advance, and real clocks for ``serve``.

Everything that waits in lmif-mock (a retry falling due, a grace period ending) is a callback
scheduled on a :class:`Clock`. A :class:`VirtualClock` runs those callbacks only inside
:meth:`VirtualClock.advance`, in due order and with ``now()`` reading each one's due time, so a
34-hour retry schedule takes milliseconds and is exactly repeatable. A :class:`RealClock` runs them
from one background thread that sleeps until the next due time (never a polling loop), optionally
faster than the wall clock.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from lmif_mock.durations import to_timedelta
from lmif_mock.errors import LMIFMockError
from lmif_mock.timestamps import utc

#: Where a VirtualClock starts unless told otherwise: the provider's own sample timestamp.
DEFAULT_START = datetime(2024, 1, 15, 10, 0, 0, tzinfo=timezone.utc)

Callback = Callable[[], None]


def requested_advance(
    delta: timedelta | float | None,
    *,
    seconds: float,
    minutes: float,
    hours: float,
    days: float,
) -> timedelta:
    """The step an ``advance`` call asks for; a negative one is a :class:`ClockError`."""
    try:
        step = to_timedelta(delta, seconds=seconds, minutes=minutes, hours=hours, days=days)
    except (TypeError, ValueError, OverflowError) as exc:  # NaN, infinity, past timedelta's range
        raise ClockError(f"not a usable step for a clock: {exc}") from None
    if step < timedelta():
        raise ClockError(f"a clock cannot go backwards (asked to advance by {step})")
    return step


def _moment_after(moment: datetime, step: timedelta) -> datetime:
    """``moment + step``, or a ClockError past the calendar's end (never an OverflowError)."""
    try:
        return moment + step
    except OverflowError:
        raise ClockError("a clock cannot go past the year 9999") from None


class ClockError(LMIFMockError):
    """A clock was asked to do something it cannot (move backwards, advance a real clock...)."""


@dataclass(order=True)
class _Entry:
    when: datetime
    seq: int
    callback: Callback = field(compare=False)
    cancelled: bool = field(default=False, compare=False)


class Timer:
    """A handle on a scheduled callback; :meth:`cancel` stops it if it has not run yet."""

    __slots__ = ("_entry",)

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry

    @property
    def when(self) -> datetime:
        """When the callback is due."""
        return self._entry.when

    def cancel(self) -> None:
        """Forget the callback; harmless if it already ran."""
        self._entry.cancelled = True


@runtime_checkable
class Clock(Protocol):
    """What the dispatcher needs from time: the current instant and a way to be called later."""

    def now(self) -> datetime:
        """The current instant, aware, in UTC."""
        ...

    def call_at(self, when: datetime, callback: Callback) -> Timer:
        """Run ``callback`` once ``now()`` reaches ``when``."""
        ...

    def clear(self) -> None:
        """Cancel everything scheduled (used by ``reset``)."""
        ...

    def advance(
        self,
        delta: timedelta | float | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> None:
        """Jump forward, so that whatever falls due in the skipped time runs."""
        ...

    def pending(self) -> list[datetime]:
        """Due times of everything scheduled, earliest first."""
        ...


class _Schedule:
    """A thread-safe heap of timed callbacks, shared by both clock kinds."""

    def __init__(self) -> None:
        #: (when, seq, entry): tuples compare in C, where a dataclass's ``__lt__`` is Python code
        #: run some twenty times per push and pop.
        self._heap: list[tuple[datetime, int, _Entry]] = []
        self._seq = itertools.count()
        self.lock = threading.Condition(threading.RLock())

    def push(self, when: datetime, callback: Callback) -> Timer:
        entry = _Entry(utc(when, whole_seconds=False), next(self._seq), callback)
        with self.lock:
            heapq.heappush(self._heap, (entry.when, entry.seq, entry))
            self.lock.notify_all()
        return Timer(entry)

    def peek(self) -> datetime | None:
        with self.lock:
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            return self._heap[0][0] if self._heap else None

    def pop_due(self, moment: datetime) -> _Entry | None:
        with self.lock:
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            if self._heap and self._heap[0][0] <= moment:
                return heapq.heappop(self._heap)[2]
            return None

    def pending(self) -> list[datetime]:
        with self.lock:
            return sorted(when for when, _, e in self._heap if not e.cancelled)

    def clear(self) -> None:
        with self.lock:
            for _, _, entry in self._heap:
                entry.cancelled = True
            self._heap.clear()
            self.lock.notify_all()


class VirtualClock:
    """A clock that moves only when told to, running what falls due as it passes.

    >>> clock = VirtualClock()
    >>> seen = []
    >>> _ = clock.call_later(60, lambda: seen.append(clock.now()))
    >>> clock.advance(minutes=5)
    >>> seen == [DEFAULT_START + timedelta(minutes=1)]
    True
    """

    def __init__(self, start: datetime | None = None) -> None:
        self.start = utc(start, whole_seconds=False) if start is not None else DEFAULT_START
        self._now = self.start
        self._schedule = _Schedule()
        self._advancing = threading.RLock()
        self._state = threading.Lock()  # time and schedule; never held while a callback runs
        self._generation = 0  # bumped by reset(): an advance begun before it stops

    def now(self) -> datetime:
        """The clock's current instant."""
        return self._now

    def call_at(self, when: datetime, callback: Callback) -> Timer:
        """Run ``callback`` when an :meth:`advance` passes ``when`` (or at once on the next one)."""
        return self._schedule.push(when, callback)

    def call_later(self, delay: timedelta | float, callback: Callback) -> Timer:
        """Run ``callback`` ``delay`` after now."""
        return self.call_at(self._now + to_timedelta(delay), callback)

    def advance(
        self,
        delta: timedelta | float | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> None:
        """Move forward, running every callback that falls due, in due order, before returning.

        While a callback runs, ``now()`` reads its due time, so an attempt made at minute 1 is
        recorded at minute 1 even when the clock is advanced by a whole day. Callbacks may schedule
        more callbacks; those run too if they fall due within the same advance.
        """
        step = requested_advance(delta, seconds=seconds, minutes=minutes, hours=hours, days=days)
        generation = self._generation  # read now: an advance asked before a reset is void
        with self._advancing:
            self._run_until(_moment_after(self._now, step), generation)

    def move_to(self, moment: datetime) -> None:
        """Advance to ``moment`` (which must not be in the clock's past)."""
        target = utc(moment, whole_seconds=False)
        if target < self._now:
            raise ClockError(f"a clock cannot go backwards (from {self._now} to {target})")
        generation = self._generation
        with self._advancing:
            self._run_until(target, generation)

    def next_due(self) -> datetime | None:
        """When the next scheduled callback falls due, or ``None`` if nothing is scheduled."""
        return self._schedule.peek()

    def run_all(self, limit: timedelta | float = timedelta(days=366)) -> None:
        """Advance until nothing is scheduled, but never further than ``limit`` from now."""
        horizon = self._now + to_timedelta(limit)
        generation = self._generation
        with self._advancing:
            while (due := self._schedule.peek()) is not None and due <= horizon:
                if not self._run_until(due, generation):
                    return

    def pending(self) -> list[datetime]:
        """Due times of everything scheduled, earliest first."""
        return self._schedule.pending()

    def clear(self) -> None:
        """Cancel everything scheduled; the time stays where it is."""
        self._schedule.clear()

    def reset(self) -> None:
        """Cancel everything scheduled and go back to the start, without waiting for an advance
        in progress (it may wait an hour on a receiver): that advance, and any asked for before
        the reset, moves the fresh clock no further."""
        with self._state:
            self._generation += 1
            self._schedule.clear()
            self._now = self.start

    def _run_until(self, target: datetime, generation: int) -> bool:
        """Run what falls due up to ``target``; False if a reset came meanwhile (then stop)."""
        while True:
            with self._state:
                if self._generation != generation:
                    return False
                entry = self._schedule.pop_due(target)
                self._now = max(self._now, target if entry is None else entry.when)
            if entry is None:
                return True
            entry.callback()

    def __repr__(self) -> str:
        return f"VirtualClock({self._now.isoformat()})"


class RealClock:
    """Wall-clock time, optionally sped up by ``scale`` (``scale=60``: a minute per second).

    A single daemon thread sleeps on a condition until the earliest due time, or until something
    earlier is scheduled, and then runs the callback; callbacks must be quick (the dispatcher
    hands work to its worker pool). ``now()`` at scale 1 is the system time.
    """

    def __init__(self, scale: float = 1.0, start: datetime | None = None) -> None:
        if not scale > 0:
            raise ClockError(f"time scale must be positive, not {scale!r}")
        self.scale = float(scale)
        self._origin = (
            utc(start, whole_seconds=False) if start is not None else datetime.now(timezone.utc)
        )
        self._origin_monotonic = time.monotonic()
        self._schedule = _Schedule()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def now(self) -> datetime:
        """The scaled current instant."""
        elapsed = (time.monotonic() - self._origin_monotonic) * self.scale
        return self._origin + timedelta(seconds=elapsed)

    def call_at(self, when: datetime, callback: Callback) -> Timer:
        """Run ``callback`` from the clock's thread once ``now()`` reaches ``when``."""
        self._ensure_thread()
        return self._schedule.push(when, callback)

    def call_later(self, delay: timedelta | float, callback: Callback) -> Timer:
        """Run ``callback`` ``delay`` (in clock time) after now."""
        return self.call_at(self.now() + to_timedelta(delay), callback)

    def pending(self) -> list[datetime]:
        """Due times of everything scheduled, earliest first."""
        return self._schedule.pending()

    def clear(self) -> None:
        """Cancel everything scheduled."""
        self._schedule.clear()

    def advance(
        self,
        delta: timedelta | float | None = None,
        *,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> None:
        """Jump forward; what falls due in between runs promptly on the clock's thread.

        Unlike the virtual clock this returns at once: the work happens in the background, as
        everything on a real clock does.
        """
        step = requested_advance(delta, seconds=seconds, minutes=minutes, hours=hours, days=days)
        with self._schedule.lock:
            _moment_after(self.now(), step)  # refuse to run off the calendar before moving at all
            self._origin += step
            self._schedule.lock.notify_all()

    def stop(self) -> None:
        """Stop the clock's thread; scheduled callbacks never run."""
        with self._schedule.lock:
            self._stopped = True
            self._schedule.lock.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    def _ensure_thread(self) -> None:
        with self._schedule.lock:
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._loop, name="lmif-clock", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        lock = self._schedule.lock
        while True:
            with lock:
                if self._stopped:
                    return
                due = self._schedule.peek()
                if due is None:
                    lock.wait()
                    continue
                wait = (due - self.now()).total_seconds() / self.scale
                if wait > 0:
                    lock.wait(timeout=wait)
                    continue
                entry = self._schedule.pop_due(self.now())
            if entry is not None:
                try:
                    entry.callback()
                except Exception:  # a failing callback must not stop every later one
                    continue

    def __repr__(self) -> str:
        return f"RealClock(scale={self.scale})"
