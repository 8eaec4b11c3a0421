"""The fake's own HTTP server: one event loop receives requests, a few worker threads answer them.

Why not werkzeug's threaded development server, which this replaces: it starts a thread per
connection and that thread waits on its socket with no time limit, so 1,500 half-sent requests
held 1,500 threads forever (slowloris). Here a connection costs a thread only while a complete
request is being answered:

- one loop thread accepts connections and receives each request without blocking, until
  :mod:`~lmif_mock.http.serving.request_framing` says it is whole (head, and a body up to the
  API's size limit);
- a request must arrive whole within ``request_timeout`` seconds of connecting, else 408;
- a head over 64 KiB is refused (414 for the request line, 431 for headers) as soon as it is;
- at most ``max_connections`` connections are open. At the cap, the connection that has waited
  longest without finishing its request is closed with 503 to make room, so a client that sends
  its request promptly is answered even during a flood of slow ones; only when every open
  connection holds a complete request is the newcomer refused (503);
- at most ``workers`` threads run the WSGI app through werkzeug's own request handler (its
  environ, ``Expect: 100-continue``, chunked bodies), fed from the loop's buffer
  (:mod:`lmif_mock.http.serving.arrived_request`);
- a worker never waits on a client that does not read its answer: what the socket does not take
  at once is handed to the loop (:mod:`~lmif_mock.http.serving.unsent_answers`), which sends it
  as the client reads and drops the client after ``write_timeout`` seconds without progress;
- everything the server refuses by itself is answered in the API's JSON error shape
  (:mod:`lmif_mock.http.serving.server_refusals`), never an HTML page;
- one request per connection (``Connection: close``), as werkzeug's handler already did.

The loop is woken through a socket pair, so stopping is immediate rather than polled.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer

from lmif_mock.http.serving.arrived_request import (
    READER_KEY,
    ArrivedRequest,
    ArrivedRequestHandler,
    RequestReader,
)
from lmif_mock.http.serving.request_framing import (
    MAX_HEAD_BYTES,
    BodyTooLarge,
    Complete,
    Incomplete,
    RequestFramer,
    TooLarge,
)
from lmif_mock.http.serving.server_refusals import refusal
from lmif_mock.http.serving.unsent_answers import UNSENT_BUDGET_BYTES, UnsentAnswer, UnsentBudget

#: Defaults (see README "Security"): connections open at once, threads answering, seconds.
MAX_CONNECTIONS = 256
WORKERS = 32
REQUEST_TIMEOUT_SECONDS = 10.0
WRITE_TIMEOUT_SECONDS = 10.0
#: Bytes of unfinished requests the loop holds in all; past it, bodies are read by a worker.
BUFFER_BUDGET_BYTES = 64 * 1024 * 1024

#: After an answer or a refusal, read (and drop) what the client still sends for this long, so
#: that it sees the answer rather than a connection reset.
_LINGER_SECONDS = 2.0
_LINGER_BYTES = 1024 * 1024
#: How long stopping waits for answers being written.
_STOP_GRACE_SECONDS = 2.0
_RECEIVE_BYTES = 64 * 1024
_ACCEPT_BATCH = 64

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class _Arriving:
    """A connection whose request is still being received by the loop."""

    sock: socket.socket
    address: Any
    accepted: float
    framer: RequestFramer
    continue_sent: bool = False


class BoundedWSGIServer(BaseWSGIServer):
    """Serves ``app`` on ``host:port`` with bounded threads and connections (see module doc)."""

    multithread = True
    request_queue_size = 1024

    def __init__(
        self,
        host: str,
        port: int,
        app: WSGIApp,
        *,
        max_body_bytes: int,
        max_connections: int = MAX_CONNECTIONS,
        workers: int = WORKERS,
        request_timeout: float = REQUEST_TIMEOUT_SECONDS,
        write_timeout: float = WRITE_TIMEOUT_SECONDS,
        buffer_budget: int = BUFFER_BUDGET_BYTES,
        unsent_budget: int = UNSENT_BUDGET_BYTES,
    ) -> None:
        super().__init__(host, port, self._serve_then_stop_waiting, handler=ArrivedRequestHandler)
        self.application = app
        self.max_body_bytes = max_body_bytes
        self.max_connections = max_connections
        self.workers = workers
        self.request_timeout = request_timeout
        self.write_timeout = write_timeout
        self.buffer_budget = buffer_budget
        self.unsent_budget = UnsentBudget(unsent_budget)
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._arriving: dict[socket.socket, _Arriving] = {}  # in accept order: oldest first
        self._lingering: dict[socket.socket, float] = {}  # in refusal order, to close time
        self._sending: dict[socket.socket, UnsentAnswer] = {}  # least recent progress first
        self._buffered = 0
        self._stopping = threading.Event()
        self._loop_done = threading.Event()
        self._loop_started = False
        self._work = threading.Condition()
        self._queue: collections.deque[ArrivedRequest] = collections.deque()
        self._answering: set[socket.socket] = set()
        self._handed_back: list[tuple[socket.socket, UnsentAnswer | None]] = []
        self._threads: list[threading.Thread] = []
        self._idle = 0

    # -- what tests and the docs look at ------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """Connections open now: still arriving, being answered (or queued), or lingering."""
        with self._work:
            answering = len(self._answering) + len(self._handed_back)
        return len(self._arriving) + len(self._lingering) + len(self._sending) + answering

    @property
    def unsent_answers(self) -> int:
        """Answers the loop is still sending to clients slow to read them (they hold no thread)."""
        return len(self._sending)

    @property
    def arriving_requests(self) -> int:
        """Connections whose request the loop is still receiving (they hold no thread)."""
        return len(self._arriving)

    @property
    def worker_threads(self) -> int:
        """Worker threads started so far (never more than ``workers``)."""
        with self._work:
            return len(self._threads)

    # -- the loop -----------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Run the loop until :meth:`shutdown` (``poll_interval`` is unused: the loop is woken)."""
        self._loop_started = True
        self.socket.setblocking(False)
        self._wake_reader.setblocking(False)
        self._selector.register(self.socket, selectors.EVENT_READ)
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(self._seconds_to_next_deadline()):
                    self._ready(key.fileobj)  # type: ignore[arg-type]
                self._expire(time.monotonic())
        finally:
            self._close_all()
            self._loop_done.set()

    def shutdown(self) -> None:
        """Stop the loop at once and drop queued requests; answers being written get a moment.

        Waiting (at most a couple of seconds) for answers in progress means that when this
        returns no connection holds the port any more, so it can be bound again at once.
        """
        with self._work:
            self._stopping.set()
        self._wake()
        if self._loop_started:
            self._loop_done.wait()
        with self._work:
            dropped = [arrived.sock for arrived in self._queue]
            for arrived in self._queue:
                self._answering.discard(arrived.sock)
            self._queue.clear()
            self._work.notify_all()
            deadline = time.monotonic() + _STOP_GRACE_SECONDS
            while self._answering and (left := deadline - time.monotonic()) > 0:
                self._work.wait(left)
            handed_back, self._handed_back = self._handed_back, []
        for sock, unsent in handed_back:
            self._release(unsent)
            dropped.append(sock)
        for sock in dropped:
            sock.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (buffer full), or closed
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        for end in (getattr(self, "_wake_reader", None), getattr(self, "_wake_writer", None)):
            if end is not None:  # absent when binding failed inside werkzeug's __init__
                end.close()

    def _seconds_to_next_deadline(self) -> float | None:
        deadlines = []
        if self._arriving:
            deadlines.append(next(iter(self._arriving.values())).accepted + self.request_timeout)
        if self._lingering:
            deadlines.append(next(iter(self._lingering.values())))
        if self._sending:
            deadlines.append(next(iter(self._sending.values())).last_progress + self.write_timeout)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _ready(self, fileobj: socket.socket) -> None:
        if fileobj is self._wake_reader:
            with contextlib.suppress(OSError):
                self._wake_reader.recv(4096)
            self._take_back_answered()
        elif fileobj is self.socket:
            self._accept()
        elif fileobj in self._arriving:
            self._receive(self._arriving[fileobj])
        elif fileobj in self._lingering:
            self._drain_lingering(fileobj)
        elif fileobj in self._sending:
            self._send_more(fileobj)

    def _take_back_answered(self) -> None:
        with self._work:
            answered, self._handed_back = self._handed_back, []
        for sock, unsent in answered:
            if unsent is None:
                self._start_lingering(sock)
                continue
            try:
                sock.setblocking(False)
                self._selector.register(sock, selectors.EVENT_WRITE)
            except (OSError, ValueError):
                self._release(unsent)
                self._close(sock)
                continue
            unsent.last_progress = time.monotonic()
            self._sending[sock] = unsent

    def _start_lingering(self, sock: socket.socket) -> None:
        """The answer is all out: wait (briefly) for the client to close first."""
        try:
            sock.setblocking(False)
            self._selector.register(sock, selectors.EVENT_READ)
        except (OSError, ValueError):
            self._close(sock)
            return
        self._lingering[sock] = time.monotonic() + _LINGER_SECONDS

    def _send_more(self, sock: socket.socket) -> None:
        unsent = self._sending[sock]
        try:
            sent = unsent.send_some(sock)
        except OSError:
            self._drop_sending(sock)
            return
        self.unsent_budget.give_back(sent)
        if sent:  # the least recent progress stays first
            del self._sending[sock]
            self._sending[sock] = unsent
        if unsent.size == 0:
            del self._sending[sock]
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)
            self._start_lingering(sock)

    def _drop_sending(self, sock: socket.socket) -> None:
        """A client gone, or one that took nothing for ``write_timeout`` seconds."""
        self._release(self._sending.pop(sock))
        self._close(sock)

    def _release(self, unsent: UnsentAnswer | None) -> None:
        if unsent is not None:
            self.unsent_budget.give_back(unsent.size)
            unsent.size = 0
            unsent.parts.clear()

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, address = self.socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE) and self._make_room():
                    continue  # out of descriptors: the stalest connection gave its own up
                return
            sock.setblocking(False)
            if self.open_connections >= self.max_connections and not self._make_room():
                self._refuse_busy(sock)
                continue
            self._arriving[sock] = _Arriving(
                sock, address, time.monotonic(), RequestFramer(max_body=self.max_body_bytes)
            )
            self._selector.register(sock, selectors.EVENT_READ)

    def _make_room(self) -> bool:
        """Close the stalest connection the loop holds; False when it holds none."""
        if self._lingering:
            sock = next(iter(self._lingering))
            del self._lingering[sock]
            self._close(sock)
            return True
        if self._arriving:
            oldest = next(iter(self._arriving.values()))
            self._forget_arriving(oldest)
            self._refuse_busy(oldest.sock)
            return True
        return False

    def _refuse_busy(self, sock: socket.socket) -> None:
        message = f"The server has {self.max_connections} connections open; try again"
        self._send_now(
            sock,
            refusal(
                "TOO_MANY_CONNECTIONS",
                message,
                {"limit": self.max_connections},
                retry_after=1,
            ),
        )
        self._close_gently(sock)

    def _close_gently(self, sock: socket.socket) -> None:
        """Close after the answer, first dropping what the client sent, so it gets a FIN
        (and reads the answer) rather than a reset."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            for _ in range(16):
                if not sock.recv(_RECEIVE_BYTES):
                    break
        self._close(sock)

    def _receive(self, conn: _Arriving) -> None:
        try:
            chunk = conn.sock.recv(_RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._forget_arriving(conn)
            self._close(conn.sock)
            return
        self._buffered += len(chunk)
        framing = conn.framer.feed(chunk)
        if isinstance(framing, Complete):
            self._dispatch(conn)
        elif isinstance(framing, Incomplete):
            if framing.expects_continue and not conn.continue_sent:
                conn.continue_sent = True
                self._send_now(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            elif self._buffered > self.buffer_budget and conn.framer.head_complete:
                self._dispatch(conn)  # a worker reads the rest, within the same deadline
        elif isinstance(framing, TooLarge):
            part = framing.part
            code = "URI_TOO_LONG" if part == "request line" else "HEADERS_TOO_LARGE"
            self._forget_arriving(conn)
            self._refuse_and_linger(
                conn.sock,
                code,
                f"The {part} is larger than the server accepts ({MAX_HEAD_BYTES} bytes)",
                {"limit": MAX_HEAD_BYTES, "part": part},
            )
        elif isinstance(framing, BodyTooLarge):
            self._forget_arriving(conn)
            self._refuse_and_linger(
                conn.sock,
                "PAYLOAD_TOO_LARGE",
                f"Request body exceeds {framing.limit} bytes",
                {"limit": framing.limit},
            )
        else:
            self._forget_arriving(conn)
            code = "NOT_IMPLEMENTED" if framing.unsupported else "BAD_REQUEST"
            message = f"Malformed request: {framing.reason}"
            self._refuse_and_linger(conn.sock, code, message, {"reason": framing.reason})

    def _expire(self, now: float) -> None:
        while self._arriving:
            conn = next(iter(self._arriving.values()))
            if conn.accepted + self.request_timeout > now:
                break
            self._forget_arriving(conn)
            if conn.framer.data:
                self._refuse_and_linger(
                    conn.sock,
                    "REQUEST_TIMEOUT",
                    f"The request did not arrive whole within {self.request_timeout:g} seconds",
                    {"limitSeconds": self.request_timeout},
                )
            else:
                self._close(conn.sock)  # an idle connection (a browser's preconnect): just close
        while self._lingering:
            sock, until = next(iter(self._lingering.items()))
            if until > now:
                break
            del self._lingering[sock]
            self._close(sock)
        while self._sending:
            sock, unsent = next(iter(self._sending.items()))
            if unsent.last_progress + self.write_timeout > now:
                break
            self._drop_sending(sock)

    def _forget_arriving(self, conn: _Arriving) -> None:
        del self._arriving[conn.sock]
        self._buffered -= len(conn.framer.data)

    def _refuse_and_linger(
        self, sock: socket.socket, code: str, message: str, details: dict[str, Any]
    ) -> None:
        self._send_now(sock, refusal(code, message, details))
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(sock)
            return
        self._lingering[sock] = time.monotonic() + _LINGER_SECONDS

    def _drain_lingering(self, sock: socket.socket) -> None:
        try:
            chunk = sock.recv(_LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk or len(chunk) >= _LINGER_BYTES:
            del self._lingering[sock]
            self._close(sock)

    def _send_now(self, sock: socket.socket, data: bytes) -> None:
        """Best effort without blocking: a fresh socket's send buffer takes a small answer."""
        with contextlib.suppress(OSError):
            sock.send(data)

    def _close(self, sock: socket.socket) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def _close_all(self) -> None:
        for sock in [*self._sending]:
            self._drop_sending(sock)
        for sock in [*self._arriving, *self._lingering]:
            self._close(sock)
        self._arriving.clear()
        self._lingering.clear()
        self._buffered = 0
        with contextlib.suppress(OSError, RuntimeError):
            self._selector.close()

    # -- the workers --------------------------------------------------------------------------

    def _dispatch(self, conn: _Arriving) -> None:
        self._forget_arriving(conn)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn.sock)
        arrived = ArrivedRequest(
            conn.sock,
            conn.address,
            bytes(conn.framer.data),
            conn.accepted + self.request_timeout,
            conn.continue_sent,
        )
        with self._work:
            self._answering.add(conn.sock)
            self._queue.append(arrived)
            if len(self._queue) > self._idle and len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._work_loop,
                    name=f"lmif-http-{self.port}-{len(self._threads) + 1}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            self._work.notify()

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
                self.RequestHandlerClass(arrived, arrived.address, self)  # type: ignore[arg-type]
            except Exception:  # a broken connection must not end the worker
                pass
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
                self._release(arrived.unsent)
                arrived.sock.close()  # before shutdown() hears that nothing is answering
                self._answering.discard(arrived.sock)
                self._work.notify_all()
        if handed_back:
            self._wake()

    def _serve_then_stop_waiting(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterator[bytes]:
        """The app, and once its answer is out, stop waiting for request bytes it left unread."""
        answer = self.application(environ, start_response)
        try:
            yield from answer
        finally:
            reader = environ.get(READER_KEY)
            if isinstance(reader, RequestReader):
                reader.stop_waiting()
            close = getattr(answer, "close", None)
            if close is not None:
                close()
