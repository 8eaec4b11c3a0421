"""Answers a client has not read yet, finished by the server's loop instead of a worker thread.

A client that asks for a large answer (a transcript of megabytes) and then never reads it used to
hold a worker for the whole write timeout; forty such clients held every worker, and the server
stopped answering anyone, ``/_mock/health`` included. Now a worker writes what the socket takes
without waiting, keeps the rest here, and moves on; the loop sends the rest as the client reads
and drops the client when a write timeout passes with no progress. The bytes kept for all
clients together are capped (:class:`UnsentBudget`): past the cap a worker writes the rest
itself, as before, so memory stays bounded even when it cannot stay free.
"""

from __future__ import annotations

import collections
import io
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

#: Bytes of unread answers kept in all; past it, workers write the rest themselves.
UNSENT_BUDGET_BYTES = 256 * 1024 * 1024
#: The most one send hands the kernel at a time.
_SEND_BYTES = 256 * 1024


class UnsentBudget:
    """A thread-safe count of the unsent bytes kept, against a cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    @property
    def held(self) -> int:
        """Bytes kept now."""
        with self._lock:
            return self._held

    def take(self, count: int) -> bool:
        """Reserve ``count`` bytes; False (nothing reserved) when that would pass the cap."""
        with self._lock:
            if self._held + count > self.limit:
                return False
            self._held += count
            return True

    def give_back(self, count: int) -> None:
        """Release ``count`` reserved bytes (sent, or dropped with their client)."""
        with self._lock:
            self._held -= count

    def drop(self, unsent: UnsentAnswer | None) -> None:
        """Give back all ``unsent`` still holds and empty it: its client is gone, or the server."""
        if unsent is not None:
            self.give_back(unsent.size)
            unsent.size = 0
            unsent.parts.clear()


@dataclass
class UnsentAnswer:
    """The part of one answer its client has not taken yet, and when it last took some."""

    parts: collections.deque[memoryview] = field(default_factory=collections.deque)
    size: int = 0
    last_progress: float = field(default_factory=time.monotonic)

    def add(self, data: memoryview) -> None:
        """Queue ``data`` (a view: the app's bytes are not copied)."""
        if data:
            self.parts.append(data)
            self.size += len(data)

    def send_some(self, sock: socket.socket) -> int:
        """Send what the socket takes now without blocking; the bytes sent.

        Raises ``OSError`` (other than would-block) when the client is gone."""
        sent_total = 0
        while self.parts:
            head = self.parts[0]
            try:
                sent = sock.send(head[:_SEND_BYTES])
            except (BlockingIOError, InterruptedError):
                break
            sent_total += sent
            if sent == len(head):
                self.parts.popleft()
                continue
            self.parts[0] = head[sent:]
            if sent < _SEND_BYTES:
                break  # the socket is full
        if sent_total:
            self.size -= sent_total
            self.last_progress = time.monotonic()
        return sent_total


class HandOffWriter(io.BufferedIOBase):
    """Writes to the client without waiting on it; what it does not take yet is kept for the loop.

    Each write sends what the socket accepts at once; the rest is kept in :attr:`unsent` (as
    views of the app's bytes) for the server's loop to finish once the worker is done, so a
    client that does not read holds memory within the budget, never a worker. Should the
    budget be spent, the writer falls back to waiting on the client, each write given at most
    ``timeout`` seconds.
    """

    def __init__(self, sock: socket.socket, timeout: float, budget: UnsentBudget) -> None:
        super().__init__()
        self._sock = sock
        self._timeout = timeout
        self._budget = budget
        self._blocking = False
        self._written = False
        self._answered_instead = False
        self.unsent = UnsentAnswer()

    def writable(self) -> bool:
        return True

    def answer_instead(self, answer: bytes) -> None:
        """Write the server's own ``answer``, and drop whatever the app writes after it; a no-op
        once the app has begun its answer (the client then sees that one cut short)."""
        if not self._written:
            self.write(answer)
            self._answered_instead = True

    def write(self, data: Any) -> int:
        view = memoryview(data if isinstance(data, bytes) else bytes(data)).cast("B")
        if self._answered_instead:
            return len(view)
        self._written = True
        if self._blocking:
            self._send_waiting(view)
            return len(view)
        if self.unsent.size:
            self._keep(view)
            self._sock.setblocking(False)
            self._release(self.unsent.send_some(self._sock))
            return len(view)
        self._sock.setblocking(False)
        try:
            sent = self._sock.send(view)
        except (BlockingIOError, InterruptedError):
            sent = 0
        self._keep(view[sent:])
        return len(view)

    def flush(self) -> None:
        return None  # the rest goes out through the loop, or already went (blocking mode)

    def _keep(self, view: memoryview) -> None:
        if not view:
            return
        if self._budget.take(len(view)):
            self.unsent.add(view)
            return
        # over the budget: wait on this client, as a worker did before answers were handed off
        self._blocking = True
        kept = list(self.unsent.parts)
        self._release(self.unsent.size)
        self.unsent = UnsentAnswer()
        for part in [*kept, view]:
            self._send_waiting(part)

    def _release(self, count: int) -> None:
        if count:
            self._budget.give_back(count)

    def _send_waiting(self, view: memoryview) -> None:
        self._sock.settimeout(self._timeout)
        self._sock.sendall(view)

    def take_unsent(self) -> UnsentAnswer | None:
        """The answer's unsent rest, now the loop's (its bytes stay counted in the budget)."""
        unsent, self.unsent = self.unsent, UnsentAnswer()
        return unsent if unsent.size else None
