"""Accepting connections and receiving each request to its end, in the loop, holding no thread.

A request costs a worker thread only once it is whole, so receiving is done here, without
blocking, with :mod:`~lmif_mock.http.serving.request_framing` saying where a request ends. This
is also where the connection cap and the request deadline are enforced, and where the loop
refuses by itself (in the API's JSON error shape): too many connections (503), a request not
whole in time (408), a head too large (414/431), a chunked body over the limit (413), framing
two parsers could read differently (400, or 501 for an unsupported transfer coding).
"""

from __future__ import annotations

import errno
import selectors
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lmif_mock.http.serving.arrived_request import ArrivedRequest
from lmif_mock.http.serving.lingering_close import LingeringClose
from lmif_mock.http.serving.loop_sockets import LoopSockets
from lmif_mock.http.serving.request_framing import (
    MAX_HEAD_BYTES,
    BodyTooLarge,
    Complete,
    Incomplete,
    RequestFramer,
    TooLarge,
)
from lmif_mock.http.serving.server_refusals import refusal

_RECEIVE_BYTES = 64 * 1024
_ACCEPT_BATCH = 64
#: Out of descriptors with no connection of its own to give up, the loop stops watching the
#: listening socket this long (it stays readable, so watching it would wake the loop at once).
_ACCEPT_PAUSE_SECONDS = 0.1


@dataclass
class _Arriving:
    """A connection whose request is still being received by the loop."""

    sock: socket.socket
    address: Any
    accepted: float
    framer: RequestFramer
    continue_sent: bool = False


@dataclass(frozen=True)
class IntakeLimits:
    """What a request may cost the loop before it is refused or handed to a worker."""

    max_body_bytes: int
    max_connections: int
    request_timeout: float
    buffer_budget: int


class RequestIntake:
    """The connections whose request is still arriving, oldest first, and the listening socket."""

    def __init__(
        self,
        listener: socket.socket,
        sockets: LoopSockets,
        lingering: LingeringClose,
        limits: IntakeLimits,
        *,
        open_connections: Callable[[], int],
        hand_over: Callable[[ArrivedRequest], None],
    ) -> None:
        self._listener = listener
        self._sockets = sockets
        self._lingering = lingering
        self._limits = limits
        self._open_connections = open_connections
        self._hand_over = hand_over
        self._arriving: dict[socket.socket, _Arriving] = {}  # in accept order: oldest first
        self._buffered = 0
        self._accepting_again_at: float | None = None  # while out of descriptors

    def __len__(self) -> int:
        return len(self._arriving)

    def __contains__(self, sock: object) -> bool:
        return sock in self._arriving

    # -- new connections and the cap ------------------------------------------------------------

    def accept(self) -> None:
        """Take the connections waiting on the listening socket (a batch at a time)."""
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno not in (errno.EMFILE, errno.ENFILE):
                    return
                if self.make_room():
                    continue  # out of descriptors: the stalest connection gave its own up
                self._pause_accepting()
                return
            sock.setblocking(False)
            limit = self._limits.max_connections
            if self._open_connections() >= limit and not self.make_room():
                self._refuse_busy(sock)
                continue
            self._arriving[sock] = _Arriving(
                sock, address, time.monotonic(), RequestFramer(max_body=self._limits.max_body_bytes)
            )
            self._sockets.register(sock, selectors.EVENT_READ)

    def _pause_accepting(self) -> None:
        """Out of descriptors, and every connection is a worker's: try again in a moment."""
        self._sockets.unwatch(self._listener)
        self._accepting_again_at = time.monotonic() + _ACCEPT_PAUSE_SECONDS

    def make_room(self) -> bool:
        """Close the stalest connection the loop holds; False when it holds none."""
        if self._lingering.close_oldest():
            return True
        if self._arriving:
            oldest = next(iter(self._arriving.values()))
            self._forget(oldest)
            self._refuse_busy(oldest.sock)
            return True
        return False

    def _refuse_busy(self, sock: socket.socket) -> None:
        limit = self._limits.max_connections
        message = f"The server has {limit} connections open; try again"
        answer = refusal("TOO_MANY_CONNECTIONS", message, {"limit": limit}, retry_after=1)
        self._sockets.send_now(sock, answer)
        self._sockets.close_gently(sock)

    # -- receiving ------------------------------------------------------------------------------

    def receive(self, sock: socket.socket) -> None:
        """Read what ``sock`` has; hand the request over once whole, or refuse it."""
        conn = self._arriving[sock]
        try:
            chunk = conn.sock.recv(_RECEIVE_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._forget(conn)
            self._sockets.close(conn.sock)
            return
        self._buffered += len(chunk)
        framing = conn.framer.feed(chunk)
        if isinstance(framing, Complete):
            self._dispatch(conn)
        elif isinstance(framing, Incomplete):
            if framing.expects_continue and not conn.continue_sent:
                conn.continue_sent = True
                self._sockets.send_now(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            elif self._buffered > self._limits.buffer_budget and conn.framer.head_complete:
                self._dispatch(conn)  # a worker reads the rest, within the same deadline
        elif isinstance(framing, TooLarge):
            part = framing.part
            code = "URI_TOO_LONG" if part == "request line" else "HEADERS_TOO_LARGE"
            self._refuse(
                conn,
                code,
                f"The {part} is larger than the server accepts ({MAX_HEAD_BYTES} bytes)",
                {"limit": MAX_HEAD_BYTES, "part": part},
            )
        elif isinstance(framing, BodyTooLarge):
            self._refuse(
                conn,
                "PAYLOAD_TOO_LARGE",
                f"Request body exceeds {framing.limit} bytes",
                {"limit": framing.limit},
            )
        else:
            code = "NOT_IMPLEMENTED" if framing.unsupported else "BAD_REQUEST"
            message = f"Malformed request: {framing.reason}"
            self._refuse(conn, code, message, {"reason": framing.reason})

    def _refuse(self, conn: _Arriving, code: str, message: str, details: dict[str, Any]) -> None:
        self._forget(conn)
        self._lingering.after_refusal(conn.sock, refusal(code, message, details))

    def _dispatch(self, conn: _Arriving) -> None:
        self._forget(conn)
        self._sockets.unwatch(conn.sock)
        self._hand_over(
            ArrivedRequest(
                conn.sock,
                conn.address,
                bytes(conn.framer.data),
                conn.accepted + self._limits.request_timeout,
                conn.continue_sent,
            )
        )

    def _forget(self, conn: _Arriving) -> None:
        del self._arriving[conn.sock]
        self._buffered -= len(conn.framer.data)

    # -- the deadline ---------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When the oldest request still arriving runs out of time, or accepting resumes."""
        deadlines = [self._accepting_again_at] if self._accepting_again_at is not None else []
        for conn in self._arriving.values():
            deadlines.append(conn.accepted + self._limits.request_timeout)
            break
        return min(deadlines, default=None)

    def expire(self, now: float) -> None:
        """Refuse (408) the requests not whole in time; just close idle connections; watch the
        listening socket again once a pause for want of descriptors is over."""
        if self._accepting_again_at is not None and self._accepting_again_at <= now:
            self._accepting_again_at = None
            self._sockets.register(self._listener, selectors.EVENT_READ)
        timeout = self._limits.request_timeout
        while self._arriving:
            conn = next(iter(self._arriving.values()))
            if conn.accepted + timeout > now:
                break
            if conn.framer.data:
                self._refuse(
                    conn,
                    "REQUEST_TIMEOUT",
                    f"The request did not arrive whole within {timeout:g} seconds",
                    {"limitSeconds": timeout},
                )
            else:
                self._forget(conn)
                self._sockets.close(conn.sock)  # an idle connection (a browser's preconnect)

    def close_all(self) -> None:
        for sock in [*self._arriving]:
            self._sockets.close(sock)
        self._arriving.clear()
        self._buffered = 0
