"""Handing complete requests to a capped number of worker threads, and their connections back.

The loop gives a worker only a request that has arrived (or all of it the loop would hold), so a
worker is busy only while an answer is being made. Threads are started as requests queue up,
never more than ``workers``, and wait for the next request once done. A finished connection
goes back to the loop (which lingers on it, or sends the rest of the answer to a slow reader);
the loop is woken to take it.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
import time
from collections.abc import Callable

from lmif_mock.http.serving.arrived_request import ArrivedRequest
from lmif_mock.http.serving.unsent_answers import UnsentAnswer, UnsentBudget

#: A finished connection, and the part of its answer the client has not taken yet (if any).
HandedBack = tuple[socket.socket, UnsentAnswer | None]


class WorkerPool:
    """At most ``workers`` threads running ``answer`` on queued requests, until stopped."""

    def __init__(
        self,
        answer: Callable[[ArrivedRequest], None],
        *,
        workers: int,
        thread_name: str,
        wake_loop: Callable[[], None],
        budget: UnsentBudget,
    ) -> None:
        self._answer = answer
        self._workers = workers
        self._thread_name = thread_name
        self._wake_loop = wake_loop
        self._budget = budget
        self._stopping = threading.Event()
        self._work = threading.Condition()
        self._queue: collections.deque[ArrivedRequest] = collections.deque()
        self._answering: set[socket.socket] = set()
        self._handed_back: list[HandedBack] = []
        self._threads: list[threading.Thread] = []
        self._idle = 0

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def connections(self) -> int:
        """Connections the workers hold: queued, being answered, or answered but not yet back."""
        with self._work:
            return len(self._answering) + len(self._handed_back)

    @property
    def threads(self) -> int:
        """Worker threads started so far (never more than ``workers``)."""
        with self._work:
            return len(self._threads)

    def submit(self, arrived: ArrivedRequest) -> None:
        """Queue ``arrived`` for a worker, starting one when none is idle and the cap allows."""
        with self._work:
            self._answering.add(arrived.sock)
            self._queue.append(arrived)
            if len(self._queue) > self._idle and len(self._threads) < self._workers:
                thread = threading.Thread(
                    target=self._work_loop,
                    name=f"{self._thread_name}-{len(self._threads) + 1}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            self._work.notify()

    def take_answered(self) -> list[HandedBack]:
        """The connections workers have finished with since the last call (the loop's now)."""
        with self._work:
            answered, self._handed_back = self._handed_back, []
        return answered

    def begin_stop(self) -> None:
        """From now on workers close their connections themselves and take no new request."""
        with self._work:
            self._stopping.set()

    def finish_stop(self, grace: float) -> None:
        """Drop queued requests, give answers being written ``grace`` seconds, close the rest."""
        with self._work:
            dropped = [arrived.sock for arrived in self._queue]
            for arrived in self._queue:
                self._answering.discard(arrived.sock)
            self._queue.clear()
            self._work.notify_all()
            deadline = time.monotonic() + grace
            while self._answering and (left := deadline - time.monotonic()) > 0:
                self._work.wait(left)
            handed_back, self._handed_back = self._handed_back, []
        for sock, unsent in handed_back:
            self._budget.drop(unsent)
            dropped.append(sock)
        for sock in dropped:
            sock.close()

    def _work_loop(self) -> None:
        while True:
            with self._work:
                while not self._queue and not self._stopping.is_set():
                    self._idle += 1
                    self._work.wait()
                    self._idle -= 1
                if not self._queue:
                    return
                arrived = self._queue.popleft()
            try:
                self._answer(arrived)
            except BaseException:  # a broken connection, or an app's sys.exit(), must not end
                pass  # the thread: it counts against ``workers`` for good
            finally:
                self._finish(arrived)

    def _finish(self, arrived: ArrivedRequest) -> None:
        """End the answer (a FIN: the client reading until close has it all), then hand the
        connection to the loop, which closes it once the client has closed too ("lingering
        close"): closing at once could turn request bytes still unread into a reset that
        loses the answer."""
        if arrived.unsent is None:
            with contextlib.suppress(OSError):
                arrived.sock.shutdown(socket.SHUT_WR)
        with self._work:
            handed_back = not self._stopping.is_set()
            if handed_back:
                self._answering.discard(arrived.sock)
                self._handed_back.append((arrived.sock, arrived.unsent))
            else:
                self._budget.drop(arrived.unsent)
                arrived.sock.close()  # before finish_stop() hears that nothing is answering
                self._answering.discard(arrived.sock)
                self._work.notify_all()
        if handed_back:
            self._wake_loop()
