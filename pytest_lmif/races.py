"""How the concurrency check makes a check-then-insert race show itself.

A real race window (SELECT, then INSERT, in a SQLite file) is microseconds wide, while copies
released together still start tens of microseconds apart, and on a busy machine the operating
system rarely runs two of them inside the window at once. What raises the odds, as measured in
``benchmarks/bench_detection.py``: many rounds, each with a fresh event id (each round is a new
chance; the check stops at the first double effect), more copies per round (8 caught a race in
one round several times as often as 4 on a loaded machine), and a gate right in front of an
in-process app, so that copies enter it together rather than after each one's hand-off. A
changed interpreter switch interval while copies are in flight was measured too and gave no
steady gain (1 us and 20 ms each did better in one run and worse in another), so it is off
unless asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: How long a copy waits at the gate for its siblings before going in alone.
GATE_WAIT = 1.0


@dataclass(frozen=True)
class RaceProbe:
    """How hard ``idempotent_concurrent`` tries: ``copies`` of one event per round, ``rounds``
    fresh events, the switch interval (seconds, ``None`` to leave it) while copies are in flight,
    and whether in-process WSGI apps are gated."""

    copies: int = 8
    rounds: int = 100
    switch_interval: float | None = None
    gate: bool = True


@contextlib.contextmanager
def switch_interval(seconds: float | None) -> Iterator[None]:
    """Shorten the interpreter's thread switch interval inside the block, then restore it."""
    if seconds is None:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class WSGIGate:
    """A WSGI app in front of ``app`` that, while :meth:`holding` ``n`` copies, lets the next
    ``n`` calls in together; any other call goes straight through."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.__name__ = getattr(app, "__name__", None) or type(app).__name__
        self._barrier: threading.Barrier | None = None
        self._left = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, copies: int) -> Iterator[None]:
        """Gate the next ``copies`` calls together for the duration of the block."""
        with self._lock:
            self._barrier, self._left = threading.Barrier(copies), copies
        try:
            yield
        finally:
            with self._lock:
                barrier, self._barrier, self._left = self._barrier, None, 0
            if barrier is not None:
                barrier.abort()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        with self._lock:
            barrier = self._barrier if self._left > 0 else None
            self._left -= 1
        if barrier is not None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(GATE_WAIT)
        return self.app(environ, start_response)


class ASGIGate:
    """An ASGI app in front of ``app`` that, while :meth:`holding` ``n`` copies, holds each
    request on the event loop until all have arrived and then lets them in together.

    Copies reach an ASGI app one by one from separate threads; released together, they reach a
    ``def`` endpoint's thread pool within one loop pass instead of spread over a few hundred
    microseconds.
    """

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.__name__ = getattr(app, "__name__", None) or type(app).__name__
        self._expected = 0
        self._arrived = 0
        self._opened: asyncio.Event | None = None
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def holding(self, copies: int) -> Iterator[None]:
        """Gate the next ``copies`` HTTP requests together for the duration of the block."""
        with self._lock:
            self._expected, self._arrived, self._opened = copies, 0, None
        try:
            yield
        finally:
            with self._lock:
                self._expected = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        opened: asyncio.Event | None = None
        if scope.get("type") == "http":
            with self._lock:
                if self._arrived < self._expected:  # one of the copies being held
                    if self._opened is None:
                        self._opened = asyncio.Event()
                    opened = self._opened
                    self._arrived += 1
                    if self._arrived == self._expected:
                        opened.set()
        if opened is not None:
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(opened.wait(), GATE_WAIT)
        await self.app(scope, receive, send)


def gate_for(target: Any) -> WSGIGate | ASGIGate | None:
    """The gate that fits an in-process ``target``; ``None`` for a URL (nothing to gate)."""
    if isinstance(target, str) or not callable(target):
        return None
    call = getattr(target, "__call__", None)  # noqa: B004 - the bound method itself
    if inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(call):
        return ASGIGate(target)
    return WSGIGate(target)
