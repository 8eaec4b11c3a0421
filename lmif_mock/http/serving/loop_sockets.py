"""The server loop's selector, and the few ways the loop itself writes to or closes a socket.

Every table the loop keeps (requests arriving, answers being sent, connections lingering) shares
one selector; closing through :meth:`LoopSockets.close` always unregisters first, so a closed
socket's descriptor, reused by the next connection, is never still registered.
"""

from __future__ import annotations

import contextlib
import selectors
import socket

_RECEIVE_BYTES = 64 * 1024


class LoopSockets:
    """The selector the loop waits on, and closing and best-effort sending without blocking."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def ready(self, timeout: float | None) -> list[socket.socket]:
        """The sockets with something to do, after waiting at most ``timeout`` seconds."""
        return [key.fileobj for key, _ in self._selector.select(timeout)]  # type: ignore[misc]

    def register(self, sock: socket.socket, events: int) -> None:
        """Watch ``sock`` (raises as the selector does)."""
        self._selector.register(sock, events)

    def watch(self, sock: socket.socket, events: int) -> bool:
        """Make ``sock`` non-blocking and watch it; False (and ``sock`` closed) when it is gone."""
        try:
            sock.setblocking(False)
            self._selector.register(sock, events)
        except (OSError, ValueError):
            self.close(sock)
            return False
        return True

    def unwatch(self, sock: socket.socket) -> None:
        """Stop watching ``sock`` (a no-op when it is not watched)."""
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def send_now(self, sock: socket.socket, data: bytes) -> None:
        """Best effort without blocking: a fresh socket's send buffer takes a small answer."""
        with contextlib.suppress(OSError):
            sock.send(data)

    def close(self, sock: socket.socket) -> None:
        """Unwatch and close ``sock``, whatever state it is in."""
        self.unwatch(sock)
        with contextlib.suppress(OSError):
            sock.close()

    def close_gently(self, sock: socket.socket) -> None:
        """Close after the answer, first dropping what the client sent, so it gets a FIN
        (and reads the answer) rather than a reset."""
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)
            for _ in range(16):
                if not sock.recv(_RECEIVE_BYTES):
                    break
        self.close(sock)

    def close_selector(self) -> None:
        """Release the selector itself (the loop is over)."""
        with contextlib.suppress(OSError, RuntimeError):
            self._selector.close()
