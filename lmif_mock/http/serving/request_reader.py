"""A worker's view of a request's bytes: what the loop received, then the socket, to a deadline.

The loop hands a worker a request it has received whole (or all of it the loop would hold), and
werkzeug's handler reads it as if from the socket. Reading here never waits past the request's
deadline, and once the answer is out it stops waiting for request bytes the app left unread, so
draining them (as werkzeug does, to spare the client a reset) cannot hold a worker.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from typing import Any

#: Where the handler puts its :class:`RequestReader` in the WSGI environ.
READER_KEY = "lmif_mock.request_reader"

#: After the answer, unread request bytes are drained while they keep coming this often...
_DRAIN_QUIET_SECONDS = 0.05
#: ...up to this many bytes (werkzeug's drain would read 10 MB into memory per request).
_DRAIN_BYTES = 1024 * 1024
_RECEIVE_BYTES = 64 * 1024


class RequestReader(io.BufferedIOBase):
    """The request's bytes the loop received, then the socket, never past the request's deadline.

    Reads block until satisfied, the client closes, or the deadline passes (``TimeoutError``,
    which werkzeug reports to the app as a disconnected client; ``on_deadline`` is called
    first, to answer the client before the app does). After the answer is written,
    :meth:`stop_waiting` makes reads return what is there instead of waiting, so draining a
    body the app did not read cannot hold a worker.
    """

    def __init__(
        self,
        sock: socket.socket,
        received: bytes,
        deadline: float,
        on_deadline: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__()
        self._sock = sock
        self._on_deadline = on_deadline
        self._buffer = bytearray(received)
        self._deadline = deadline
        self._draining = False
        self._drained = 0
        self._eof = False

    def stop_waiting(self) -> None:
        """The answer is out: from now on only take bytes that arrive promptly, and few."""
        self._draining = True

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        if self._eof:
            return False
        remaining = self._deadline - time.monotonic()
        if self._draining:
            if self._drained >= _DRAIN_BYTES or remaining <= 0:
                return False
            wait = min(remaining, _DRAIN_QUIET_SECONDS)
        elif remaining <= 0:
            self._on_deadline()
            raise TimeoutError("the request did not arrive within the server's time limit")
        else:
            wait = remaining
        self._sock.settimeout(wait)
        try:
            chunk = self._sock.recv(_RECEIVE_BYTES)
        except TimeoutError:
            if self._draining:
                return False
            self._on_deadline()
            raise
        if self._draining:
            self._drained += len(chunk)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _take(self, count: int) -> bytes:
        taken = bytes(self._buffer[:count])
        del self._buffer[:count]
        return taken

    def read(self, size: int | None = -1) -> bytes:
        while size is None or size < 0 or len(self._buffer) < size:
            if not self._fill():
                break
        wanted = len(self._buffer) if size is None or size < 0 else size
        return self._take(min(wanted, len(self._buffer)))

    def read1(self, size: int = -1) -> bytes:
        if not self._buffer:
            self._fill()
        wanted = len(self._buffer) if size < 0 else size
        return self._take(min(wanted, len(self._buffer)))

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                end = newline + 1
                break
            if 0 <= limit <= len(self._buffer) or not self._fill():
                end = len(self._buffer)
                break
        return self._take(end if limit < 0 else min(end, limit))
