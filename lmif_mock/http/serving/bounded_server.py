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

The loop is woken through a socket pair, so stopping is immediate rather than polled. This
module is the loop itself; each table it keeps is its own module: requests arriving
(:mod:`~lmif_mock.http.serving.request_intake`), answers sent to slow readers
(:mod:`~lmif_mock.http.serving.slow_readers`), connections lingering before their close
(:mod:`~lmif_mock.http.serving.lingering_close`), and the workers
(:mod:`~lmif_mock.http.serving.worker_pool`); the defaults are in
:mod:`~lmif_mock.http.serving.server_limits`.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from lmif_mock.http.serving.arrived_request import (
    AnsweringServer,
    ArrivedRequest,
    ArrivedRequestHandler,
)
from lmif_mock.http.serving.lingering_close import LingeringClose
from lmif_mock.http.serving.loop_sockets import LoopSockets
from lmif_mock.http.serving.request_intake import IntakeLimits, RequestIntake
from lmif_mock.http.serving.request_reader import READER_KEY, RequestReader
from lmif_mock.http.serving.server_limits import (
    BUFFER_BUDGET_BYTES,
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT_SECONDS,
    STOP_GRACE_SECONDS,
    WORKERS,
    WRITE_TIMEOUT_SECONDS,
)
from lmif_mock.http.serving.slow_readers import SlowReaders
from lmif_mock.http.serving.unsent_answers import UNSENT_BUDGET_BYTES, UnsentBudget
from lmif_mock.http.serving.worker_pool import WorkerPool

__all__ = [
    "BUFFER_BUDGET_BYTES",
    "MAX_CONNECTIONS",
    "REQUEST_TIMEOUT_SECONDS",
    "WORKERS",
    "WRITE_TIMEOUT_SECONDS",
    "BoundedWSGIServer",
    "WSGIApp",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class BoundedWSGIServer(AnsweringServer):
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
        try:  # the port is bound already: a failure from here on must not leave it listening
            self._wake_reader, self._wake_writer = socket.socketpair()
            self._sockets = LoopSockets()
        except OSError:
            self.server_close()
            raise
        self._lingering = LingeringClose(self._sockets)
        self._slow_readers = SlowReaders(
            self._sockets, self._lingering, self.unsent_budget, write_timeout
        )
        self._pool = WorkerPool(
            self._answer,
            workers=workers,
            thread_name=f"lmif-http-{self.port}",
            wake_loop=self._wake,
            budget=self.unsent_budget,
        )
        self._intake = RequestIntake(
            self.socket,
            self._sockets,
            self._lingering,
            IntakeLimits(max_body_bytes, max_connections, request_timeout, buffer_budget),
            open_connections=lambda: self.open_connections,
            hand_over=self._pool.submit,
        )
        self._loop_done = threading.Event()
        self._loop_started = False

    # -- what tests and the docs look at ------------------------------------------------------

    @property
    def open_connections(self) -> int:
        """Connections open now: still arriving, being answered (or queued), or lingering."""
        answering = self._pool.connections
        return len(self._intake) + len(self._lingering) + len(self._slow_readers) + answering

    @property
    def unsent_answers(self) -> int:
        """Answers the loop is still sending to clients slow to read them (they hold no thread)."""
        return len(self._slow_readers)

    @property
    def arriving_requests(self) -> int:
        """Connections whose request the loop is still receiving (they hold no thread)."""
        return len(self._intake)

    @property
    def worker_threads(self) -> int:
        """Worker threads started so far (never more than ``workers``)."""
        return self._pool.threads

    # -- the loop -----------------------------------------------------------------------------

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Run the loop until :meth:`shutdown` (``poll_interval`` is unused: the loop is woken)."""
        self._loop_started = True
        self.socket.setblocking(False)
        self._wake_reader.setblocking(False)
        self._sockets.register(self.socket, selectors.EVENT_READ)
        self._sockets.register(self._wake_reader, selectors.EVENT_READ)
        try:
            while not self._pool.stopping:
                for sock in self._sockets.ready(self._seconds_to_next_deadline()):
                    self._ready(sock)
                now = time.monotonic()
                self._intake.expire(now)
                self._lingering.expire(now)
                self._slow_readers.expire(now)
        finally:
            self._slow_readers.close_all()
            self._intake.close_all()
            self._lingering.close_all()
            self._sockets.close_selector()
            self._loop_done.set()

    def shutdown(self) -> None:
        """Stop the loop at once and drop queued requests; answers being written get a moment.

        Waiting (at most a couple of seconds) for answers in progress means that when this
        returns no connection holds the port any more, so it can be bound again at once.
        """
        self._pool.begin_stop()
        self._wake()
        if self._loop_started:
            self._loop_done.wait()
        self._pool.finish_stop(STOP_GRACE_SECONDS)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # already awake (buffer full), or closed
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        """Release the port, the wake-up pair and the selector (also when never served)."""
        super().server_close()
        for end in (getattr(self, "_wake_reader", None), getattr(self, "_wake_writer", None)):
            if end is not None:  # absent when binding (or creating the pair) failed
                end.close()
        sockets: LoopSockets | None = getattr(self, "_sockets", None)
        if sockets is not None:
            sockets.close_selector()

    def _seconds_to_next_deadline(self) -> float | None:
        deadlines = [
            deadline
            for deadline in (
                self._intake.next_deadline(),
                self._lingering.next_deadline(),
                self._slow_readers.next_deadline(),
            )
            if deadline is not None
        ]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _ready(self, sock: socket.socket) -> None:
        if sock is self._wake_reader:
            with contextlib.suppress(OSError):
                self._wake_reader.recv(4096)
            self._take_back_answered()
        elif sock is self.socket:
            self._intake.accept()
        elif sock in self._intake:
            self._intake.receive(sock)
        elif sock in self._lingering:
            self._lingering.drain(sock)
        elif sock in self._slow_readers:
            self._slow_readers.send_more(sock)

    def _take_back_answered(self) -> None:
        for sock, unsent in self._pool.take_answered():
            if unsent is None:
                self._lingering.start(sock)
            else:
                self._slow_readers.take_over(sock, unsent)

    # -- the workers' side --------------------------------------------------------------------

    def _answer(self, arrived: ArrivedRequest) -> None:
        """On a worker: werkzeug's handler (as ours) answers the request the loop received."""
        self.RequestHandlerClass(arrived, arrived.address, self)  # type: ignore[arg-type]

    def _serve_then_stop_waiting(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterator[bytes]:
        """The app, and once its answer is out (or it failed), stop waiting for request bytes
        it left unread: werkzeug drains them before writing its 500, and a drain that waited
        would hold the worker to the request's deadline and lose that 500."""
        answer: Iterable[bytes] = ()
        try:
            answer = self.application(environ, start_response)
            yield from answer
        finally:
            reader = environ.get(READER_KEY)
            if isinstance(reader, RequestReader):
                reader.stop_waiting()
            close = getattr(answer, "close", None)
            if close is not None:
                close()
