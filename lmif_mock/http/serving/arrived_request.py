"""Answering a request the server's loop has already received, on a worker thread.

werkzeug's own request handler does the HTTP work (parsing the head, the WSGI environ, chunked
bodies, ``Expect: 100-continue``, writing the answer); what is changed here is where its bytes
come from and how long anything may take:

- it reads the bytes the loop received first, then the socket, never past the request's deadline
  (:class:`RequestReader`), and once the answer is written it stops waiting for request bytes the
  app left unread, so draining them cannot hold a worker;
- a request that does not arrive whole by its deadline gets the same JSON 408 the loop gives,
  whatever the app then makes of the missing bytes;
- writing the answer never waits on a client that does not read: what it does not take at once
  is left for the server's loop to send (:class:`HandOffWriter`);
- what the stdlib parser refuses is answered in the API's JSON error shape, and nothing is logged.
"""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from werkzeug.serving import WSGIRequestHandler

from lmif_mock.http.serving.request_framing import MAX_HEAD_BYTES
from lmif_mock.http.serving.server_refusals import CODES_BY_STATUS, refusal
from lmif_mock.http.serving.unsent_answers import UnsentAnswer, UnsentBudget

if TYPE_CHECKING:
    from lmif_mock.http.serving.bounded_server import BoundedWSGIServer

#: Where the handler puts its :class:`RequestReader` in the WSGI environ.
READER_KEY = "lmif_mock.request_reader"

#: After the answer, unread request bytes are drained while they keep coming this often...
_DRAIN_QUIET_SECONDS = 0.05
#: ...up to this many bytes (werkzeug's drain would read 10 MB into memory per request).
_DRAIN_BYTES = 1024 * 1024
_RECEIVE_BYTES = 64 * 1024


@dataclass
class ArrivedRequest:
    """A connection with a complete request (or all of it the loop would hold), for a worker."""

    sock: socket.socket
    address: Any
    data: bytes
    deadline: float
    continue_sent: bool = False
    #: What the client has not read of the answer when the worker is done (the loop sends it).
    unsent: UnsentAnswer | None = None


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


class ArrivedRequestHandler(WSGIRequestHandler):
    """werkzeug's WSGI handler, given a request the loop already received; quiet; JSON refusals."""

    server: BoundedWSGIServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        arrived: ArrivedRequest = self.request
        self.connection = arrived.sock
        arrived.sock.setblocking(True)
        if arrived.sock.family in (socket.AF_INET, socket.AF_INET6):
            arrived.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.writer = HandOffWriter(
            arrived.sock, self.server.write_timeout, self.server.unsent_budget
        )
        self.wfile = self.writer
        self.reader = RequestReader(
            arrived.sock, arrived.data, arrived.deadline, self._answer_timeout
        )
        self.rfile = self.reader

    def _answer_timeout(self) -> None:
        """The request's deadline passed while its body was still being read (the loop handed
        it over early, past its buffer budget): the loop's own 408, not the app's guess."""
        timeout = self.server.request_timeout
        self.writer.answer_instead(
            refusal(
                "REQUEST_TIMEOUT",
                f"The request did not arrive whole within {timeout:g} seconds",
                {"limitSeconds": timeout},
            )
        )

    def finish(self) -> None:
        super().finish()
        arrived: ArrivedRequest = self.request
        arrived.unsent = self.writer.take_unsent()

    def handle(self) -> None:
        self.close_connection = True
        try:
            self.handle_one_request()
        except (ConnectionError, TimeoutError) as exc:
            self.connection_dropped(exc)

    def handle_expect_100(self) -> bool:
        if not self.request.continue_sent:
            super().handle_expect_100()
        return True

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        if parsed and self.request_version == "HTTP/0.9":
            # the loop refuses these first; an HTTP/0.9 answer would have no status line
            self.send_error(400, "Malformed request: the request line has no HTTP version")
            return False
        if parsed and "Expect" in self.headers:
            del self.headers["Expect"]  # answered once already; werkzeug would answer it again
        return parsed

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        environ[READER_KEY] = self.reader
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The stdlib parser's refusals (bad request line, version, header lines) as JSON."""
        self.close_connection = True
        status = int(code)
        name = CODES_BY_STATUS.get(status, "BAD_REQUEST")
        text = message or HTTPStatus(status).phrase
        details: dict[str, Any] = {"reason": explain or text}
        if name == "URI_TOO_LONG":
            details["limit"] = MAX_HEAD_BYTES
        answer = refusal(name, text, details, with_body=getattr(self, "command", "") != "HEAD")
        self.wfile.write(answer)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:
        return None
