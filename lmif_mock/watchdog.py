"""Deadlines for in-process apps called on the main thread, kept by one watchdog thread.

Handing every in-process delivery to a worker thread, so that a hung app could be given up on,
cost two thread switches per delivery (25-150 us on a busy machine), several times the work of
the delivery itself. Most deliveries come from a test's main thread and answer in time, so this
runs the app right there and arms a deadline: one shared daemon thread sleeps until the earliest
deadline and, only if a call is still running when it passes, sends the main thread a real-time
signal whose handler raises :class:`DeadlineExceeded` inside the app. A signal interrupts what a
hung app is usually stuck in (``time.sleep``, a lock or event wait, a socket read), and the
handler raises again every :data:`REPEAT` seconds if the app swallows it.

Arming costs a lock and a comparison; the watchdog is woken only when a call's deadline is
earlier than the one it already sleeps towards. Off the main thread, inside a nested delivery,
where the signal is taken by someone else, or on a platform without real-time signals,
:meth:`Watchdog.usable` is ``False`` and the caller hands the app to a worker thread instead.
"""

from __future__ import annotations

import importlib
import math
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

#: The handler a signal has now, as stored: ``signal.getsignal`` wraps the answer in an enum
#: lookup that would cost more than the rest of arming a call.
_current_handler: Callable[[int], object] = importlib.import_module("_signal").getsignal

#: Every watchdog of this process; in a forked child none has its thread any more.
_EVERY: weakref.WeakSet[Watchdog] = weakref.WeakSet()


def _forget_threads() -> None:
    """In a forked child: no watchdog thread exists, and one may have held a lock at the fork
    (it would then stay held forever): every watchdog gets fresh ones and starts anew."""
    for watchdog in list(_EVERY):
        watchdog._running = False
        watchdog._lock = threading.Lock()
        watchdog._changed = threading.Condition(watchdog._lock)


_FORK_HOOKS = hasattr(os, "register_at_fork")
if _FORK_HOOKS:
    os.register_at_fork(after_in_child=_forget_threads)
#: How often the watchdog signals again while an overdue call keeps running.
REPEAT = 0.25


class DeadlineExceeded(BaseException):
    """Raised inside an app that overran its deadline.

    A ``BaseException``, so that an app's own ``except Exception`` (Flask turning errors into a
    500) does not swallow it; ``token`` says which call it was meant for.
    """

    def __init__(self, token: object) -> None:
        super().__init__("deadline exceeded")
        self.token = token


class Watchdog:
    """Runs calls on the main thread under a deadline; see the module docstring."""

    def __init__(self, signum: int | None = None) -> None:
        self._signum = signum if signum is not None else _default_signal()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: The running call: its token and monotonic deadline (one at a time, main thread only).
        self._armed: tuple[object, float] | None = None
        #: When the watchdog thread next looks (infinity: it waits to be woken).
        self._wake_at = math.inf
        self._installed = False
        self._handler = self._on_signal  # one bound method, so getsignal's answer can be compared
        self._refused = self._signum is None
        self._pid = -1
        #: Whether this process's watchdog thread runs: cleared in a forked child (where the
        #: thread does not exist), so ``call`` need not ask the kernel for its pid every time.
        self._running = False
        _EVERY.add(self)

    def usable(self) -> bool:
        """Whether :meth:`call` may run here (the main thread, not inside another call)."""
        if self._refused or self._armed is not None:
            return False
        if threading.current_thread() is not threading.main_thread():
            return False
        if not self._installed:
            self._install()
        elif _current_handler(self._signum) is not self._handler:  # type: ignore[arg-type]
            self._refused = True  # somebody took the signal since: never send theirs
        return not self._refused

    def call(self, fn: Callable[[], T], timeout: float) -> T:
        """``fn()``'s result, or :class:`TimeoutError` if it is still running after ``timeout``
        seconds (it is then interrupted). Only where :meth:`usable` said so."""
        token = object()
        deadline = time.monotonic() + timeout
        with self._lock:
            self._armed = (token, deadline)
            if not self._running or (not _FORK_HOOKS and self._pid != os.getpid()):
                self._start()
            elif deadline < self._wake_at:
                self._wake_at = deadline
                self._changed.notify()
        try:
            return fn()
        except DeadlineExceeded as exc:
            if exc.token is not token:  # pragma: no cover - only one call is armed at a time
                raise
            raise TimeoutError(f"no answer within {timeout:g} s") from None
        finally:
            self._armed = None

    # -- the watchdog thread and the signal ----------------------------------------------------

    def _install(self) -> None:
        """Take the signal, unless somebody else already handles it."""
        self._installed = True
        assert self._signum is not None
        try:
            if signal.getsignal(self._signum) not in (signal.SIG_DFL, None):
                self._refused = True
                return
            signal.signal(self._signum, self._handler)
        except (ValueError, OSError):  # pragma: no cover - no such signal here
            self._refused = True

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        armed = self._armed
        if armed is not None and time.monotonic() >= armed[1]:
            raise DeadlineExceeded(armed[0])

    def _start(self) -> None:
        """Start the watchdog thread (again, in a forked child, where it does not exist)."""
        self._pid = os.getpid()
        self._running = True
        self._wake_at = math.inf
        main = threading.main_thread().ident
        assert main is not None
        threading.Thread(
            target=self._watch, args=(main,), name="lmif-watchdog", daemon=True
        ).start()

    def _watch(self, main: int) -> None:
        pid = self._pid
        while pid == os.getpid():
            with self._lock:
                armed = self._armed
                now = time.monotonic()
                if armed is None:
                    self._wake_at = math.inf
                    self._changed.wait()
                    continue
                if now < armed[1]:
                    self._wake_at = armed[1]
                    self._changed.wait(armed[1] - now)
                    continue
                self._wake_at = now + REPEAT
            assert self._signum is not None
            signal.pthread_kill(main, self._signum)
            with self._lock:
                self._changed.wait(REPEAT)


def _default_signal() -> int | None:
    """A real-time signal near the top of the range (rarely used by anyone), if there are any."""
    top: Any = getattr(signal, "SIGRTMAX", None)
    return None if top is None else int(top) - 6


#: The process's one watchdog.
WATCHDOG = Watchdog()
