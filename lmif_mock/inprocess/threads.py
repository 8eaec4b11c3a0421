"""Worker threads that an in-process WSGI app runs on when it must be given up on at a timeout.

Python cannot stop a thread, so a call that overruns is abandoned to its thread instead: the
caller gets its timeout at once, and the thread ends whenever the app returns (or never).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class _Job:
    """One call handed to a worker; ``done`` is a bare lock, released when the call finishes.

    A bare lock rather than ``threading.Event``: waiting on it with a timeout is one C call,
    where an Event builds a Condition and a waiter lock every time.
    """

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.abandoned = False
        threading.Thread(target=self._loop, name="lmif-inprocess", daemon=True).start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job.result = job.fn()
            except BaseException as exc:
                job.error = exc
            job.done.release()
            if self.abandoned:
                return


class ThreadRunner:
    """Runs calls on reusable daemon threads, so a hung in-process app can be given up on.

    A call that overruns its timeout leaves its thread to finish (or hang) alone; the next call
    gets a fresh one. Idle threads are reused, so the common case costs a hand-off, not a start.
    """

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], Any], timeout: float) -> Any:
        """``fn()``'s result, or :class:`TimeoutError` if it takes longer than ``timeout``."""
        with self._lock:
            worker = self._idle.pop() if self._idle else _Worker()
        job = _Job(fn)
        worker.jobs.put(job)
        if not job.done.acquire(timeout=timeout):
            worker.abandoned = True
            worker.jobs.put(None)  # exits at once if the call ended just after the timeout
            raise TimeoutError(f"no answer within {timeout:g} s")
        with self._lock:
            self._idle.append(worker)
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        """Let idle threads exit."""
        with self._lock:
            for worker in self._idle:
                worker.jobs.put(None)
            self._idle.clear()
