"""The loop's side of answers a client reads slowly: sending the rest as the client takes it.

A worker writes what the socket takes at once and hands the rest over
(:mod:`~lmif_mock.http.serving.unsent_answers`); this table sends it whenever the socket can take
more, drops a client that took nothing for ``write_timeout`` seconds, and hands a connection
whose answer is all out to the lingering close. It holds no thread: a client that never reads
costs memory within the unsent budget, and a table entry.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time

from lmif_mock.http.serving.lingering_close import LingeringClose
from lmif_mock.http.serving.loop_sockets import LoopSockets
from lmif_mock.http.serving.unsent_answers import UnsentAnswer, UnsentBudget


class SlowReaders:
    """Answers the loop is still sending, the least recent progress first."""

    def __init__(
        self,
        sockets: LoopSockets,
        lingering: LingeringClose,
        budget: UnsentBudget,
        write_timeout: float,
    ) -> None:
        self._sockets = sockets
        self._lingering = lingering
        self._budget = budget
        self._write_timeout = write_timeout
        self._sending: dict[socket.socket, UnsentAnswer] = {}

    def __len__(self) -> int:
        return len(self._sending)

    def __contains__(self, sock: object) -> bool:
        return sock in self._sending

    def take_over(self, sock: socket.socket, unsent: UnsentAnswer) -> None:
        """A worker is done with ``sock`` but its client has not taken all of the answer."""
        if not self._sockets.watch(sock, selectors.EVENT_WRITE):
            self._budget.drop(unsent)
            return
        unsent.last_progress = time.monotonic()
        self._sending[sock] = unsent

    def send_more(self, sock: socket.socket) -> None:
        """The socket can take more: send it; once all is out, linger until the client closes."""
        unsent = self._sending[sock]
        try:
            sent = unsent.send_some(sock)
        except OSError:
            self.drop(sock)
            return
        self._budget.give_back(sent)
        if sent:  # the least recent progress stays first
            del self._sending[sock]
            self._sending[sock] = unsent
        if unsent.size == 0:
            del self._sending[sock]
            self._sockets.unwatch(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            self._lingering.start(sock)

    def drop(self, sock: socket.socket) -> None:
        """A client gone, or one that took nothing for ``write_timeout`` seconds."""
        self._budget.drop(self._sending.pop(sock))
        self._sockets.close(sock)

    def next_deadline(self) -> float | None:
        """When the client with the least recent progress is dropped unless it reads."""
        for unsent in self._sending.values():
            return unsent.last_progress + self._write_timeout
        return None

    def expire(self, now: float) -> None:
        """Drop the clients that took nothing for ``write_timeout`` seconds."""
        while self._sending:
            sock, unsent = next(iter(self._sending.items()))
            if unsent.last_progress + self._write_timeout > now:
                break
            self.drop(sock)

    def close_all(self) -> None:
        for sock in [*self._sending]:
            self.drop(sock)
