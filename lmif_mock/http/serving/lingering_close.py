"""Connections whose answer is all out, kept open briefly until the client closes first.

Closing a socket while request bytes it never read are still arriving makes the kernel send a
reset, and a reset can reach the client before it has read the answer: it then sees "connection
reset" instead of the 413 or 408 it was sent. So after an answer or a refusal the server shuts
its side for writing and keeps reading (and dropping) what the client sends, for at most
``LINGER_SECONDS`` and ``_LINGER_BYTES``; these connections hold no thread, only a table entry,
and are the first to go when the connection cap needs room.
"""

from __future__ import annotations

import selectors
import socket
import time

from lmif_mock.http.serving.loop_sockets import LoopSockets
from lmif_mock.http.serving.server_limits import LINGER_SECONDS

#: Read at most this much from a lingering client in one go; a client sending more is closed.
_LINGER_BYTES = 1024 * 1024


class LingeringClose:
    """The loop's table of lingering connections, oldest (soonest to close) first."""

    def __init__(self, sockets: LoopSockets) -> None:
        self._sockets = sockets
        self._close_at: dict[socket.socket, float] = {}  # in the order they started lingering

    def __len__(self) -> int:
        return len(self._close_at)

    def __contains__(self, sock: object) -> bool:
        return sock in self._close_at

    def start(self, sock: socket.socket) -> None:
        """A worker's answer is all out (its side already shut): wait for the client to close."""
        if self._sockets.watch(sock, selectors.EVENT_READ):
            self._close_at[sock] = time.monotonic() + LINGER_SECONDS

    def after_refusal(self, sock: socket.socket, answer: bytes) -> None:
        """Send the loop's own refusal to a socket it already watches for reading, then linger."""
        self._sockets.send_now(sock, answer)
        try:
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._sockets.close(sock)
            return
        self._close_at[sock] = time.monotonic() + LINGER_SECONDS

    def drain(self, sock: socket.socket) -> None:
        """Drop what the client sent; close once it has closed (or sends too much at once)."""
        try:
            chunk = sock.recv(_LINGER_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk or len(chunk) >= _LINGER_BYTES:
            del self._close_at[sock]
            self._sockets.close(sock)

    def close_oldest(self) -> bool:
        """Close the connection lingering longest, to make room; False when there is none."""
        if not self._close_at:
            return False
        sock = next(iter(self._close_at))
        del self._close_at[sock]
        self._sockets.close(sock)
        return True

    def next_deadline(self) -> float | None:
        """When the oldest lingering connection is closed regardless, if there is one."""
        return next(iter(self._close_at.values()), None)

    def expire(self, now: float) -> None:
        """Close the connections whose linger time has passed."""
        while self._close_at:
            sock, until = next(iter(self._close_at.items()))
            if until > now:
                break
            del self._close_at[sock]
            self._sockets.close(sock)

    def close_all(self) -> None:
        for sock in [*self._close_at]:
            self._sockets.close(sock)
        self._close_at.clear()
