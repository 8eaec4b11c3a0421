"""The HTTP client deliveries go through: ``http.client`` keep-alive, guarded at the socket.

Why not urllib3 (used before): it parses URLs its own way (so a check made on another parse could
be steered around), resolves and connects inside itself (so the address actually connected to
could not be checked), times each socket read rather than the whole exchange (so a receiver
dribbling a byte at a time held an attempt for as long as it liked), and its pool manager and
response objects cost more than the rest of a delivery. This client is what a hand-written
sender does, ``http.client`` on a kept-alive connection, plus the three guarantees:

- where: the URL is parsed once (:mod:`lmif_mock.webhook_url`); that result is what the policy
  checks, what is resolved, and what goes in the request. Every new connection resolves the host
  and connects only to an address the :class:`~lmif_mock.hosts.HostPolicy` permits
  (:mod:`lmif_mock.dialing`); a reused connection goes where its checked socket already goes.
- how long: one deadline for the whole exchange (connect, TLS, send, status line, headers,
  body); every socket operation gets only the time left before it.
- how much: the answer's body is read to at most ``max_response_bytes``; past that the connection
  is dropped, not drained. Redirects are never followed and nothing is retried.
"""

from __future__ import annotations

import collections
import http.client
import io
import select
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

from lmif_mock.answer_polling import AnswerPolling
from lmif_mock.dialing import Dialer, Resolver, dial, open_checked, resolve
from lmif_mock.exchanges import MAX_RESPONSE_BYTES, Response, TransportError
from lmif_mock.hosts import HostPolicy
from lmif_mock.http_heads import QuickResponse, RequestHeads
from lmif_mock.plain_answers import PlainAnswer, read_answer
from lmif_mock.webhook_url import WebhookURL


class _DeadlineReader(io.RawIOBase):
    """The socket's read side, where every read may wait only until the exchange's deadline."""

    def __init__(self, guarded: _DeadlineSocket) -> None:
        self._guarded = guarded

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        guarded = self._guarded
        unread = guarded.unread
        if unread:  # bytes the quick reader took before handing the answer over
            size = min(len(buffer), len(unread))
            buffer[:size] = unread[:size]
            guarded.unread = unread[size:]
            return size
        sock = guarded.sock
        sock.settimeout(guarded.remaining())
        return sock.recv_into(buffer)

    def close(self) -> None:
        if not self.closed:
            self._guarded.release()
        super().close()


class _DeadlineSocket:
    """A connected socket as ``http.client`` sees it: every send and read is bounded by one
    deadline for the whole exchange, so a receiver dribbling bytes cannot stretch it."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.deadline = 0.0
        #: What :func:`~lmif_mock.plain_answers.read_answer` read of an answer it did not take.
        self.unread = b""
        #: Registered once: asking it costs a third of building ``select``'s lists every time.
        self.poller: Any = None
        if hasattr(select, "poll"):
            self.poller = select.poll()
            self.poller.register(sock, select.POLLIN | select.POLLPRI)
        self._readers = 0
        self._closed = False

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's deadline passed")
        return left

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.remaining())
        self.sock.sendall(data)

    def receive(self, size: int) -> bytes:
        self.sock.settimeout(self.remaining())
        return self.sock.recv(size)

    def makefile(self, mode: str) -> io.BufferedReader:
        self._readers += 1
        return io.BufferedReader(_DeadlineReader(self))

    def release(self) -> None:
        """A reader is done; the socket closes once it is closed and unread, as with
        ``socket.makefile``: ``http.client`` closes the connection of a ``Connection: close``
        answer before its body is read."""
        self._readers -= 1
        if self._closed and self._readers <= 0:
            self.sock.close()

    def close(self) -> None:
        self._closed = True
        if self._readers <= 0:
            self.sock.close()

    def abort(self) -> None:
        """Close now, whoever is still reading."""
        self._closed = True
        self.sock.close()

    def is_dropped(self) -> bool:
        """Whether the peer closed (or wrote out of turn) while the connection was idle: such a
        connection would fail the next exchange for a reason that is not the receiver's."""
        try:
            if self.poller is not None:
                return bool(self.poller.poll(0))  # readable, hung up or in error
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class _Connection(http.client.HTTPConnection):
    """One kept-alive connection to one origin, opened through the policy.

    Only ``connect`` and ``close`` come from ``http.client``'s connection; a request is written
    here, as one write (head and body together: fewer system calls, and no pause where Nagle's
    algorithm meets a delayed ACK), its head by :class:`~lmif_mock.http_heads.RequestHeads`,
    and its answer read with :class:`~lmif_mock.http_heads.QuickResponse`.
    """

    def __init__(
        self,
        url: WebhookURL,
        policy: HostPolicy,
        resolver: Resolver,
        dialer: Dialer,
        tls: ssl.SSLContext | None,
        polling: AnswerPolling | None = None,
    ) -> None:
        super().__init__(url.host, url.port)
        #: Its origin's polling for answers (shared by every connection to that origin).
        self.polling = polling if polling is not None else AnswerPolling()
        self.default_port = 443 if url.scheme == "https" else 80
        self.url = url
        self.policy = policy
        self.resolver = resolver
        self.dialer = dialer
        self.tls = tls
        self.guarded: _DeadlineSocket | None = None
        self.deadline = 0.0
        self.heads = RequestHeads(url, self.default_port)

    def post(
        self, target: str, body: bytes, headers: Mapping[str, str], cap: int
    ) -> PlainAnswer | QuickResponse:
        """Send a POST (one write) and read its answer: all of it if it is plain, else its
        status line and headers, by ``http.client``'s rules."""
        head = self.heads.write(target, headers, len(body))
        guarded = self.guarded
        if guarded is None:
            raise http.client.NotConnected()
        guarded.sendall(head + body)
        if guarded.poller is not None:
            self.polling.wait_briefly(guarded.poller, guarded.deadline)
        read = read_answer(guarded.receive, cap)
        if isinstance(read, PlainAnswer):
            return read
        guarded.unread = read
        answer = QuickResponse(guarded, method="POST")  # type: ignore[arg-type]
        answer.begin()
        return answer

    def connect(self) -> None:
        sock = open_checked(self.url, self.policy, self.deadline, self.resolver, self.dialer)
        if self.tls is not None:
            try:
                sock.settimeout(max(self.deadline - time.monotonic(), 0.001))
                sock = self.tls.wrap_socket(sock, server_hostname=self.url.host)
            except BaseException:
                sock.close()
                raise
        self.guarded = _DeadlineSocket(sock)
        self.guarded.deadline = self.deadline
        self.sock = self.guarded

    def start(self, deadline: float) -> None:
        """Begin an exchange that must be over by ``deadline`` (a ``time.monotonic`` value)."""
        self.deadline = deadline
        if self.guarded is not None:
            self.guarded.deadline = deadline

    def close(self) -> None:
        super().close()
        self.guarded = None

    def abort(self) -> None:
        """Drop the connection at once (a failed or cut-off exchange)."""
        guarded = self.guarded
        self.close()
        if guarded is not None:
            guarded.abort()


def _read_capped(response: http.client.HTTPResponse, cap: int) -> tuple[bytes, bool]:
    """The body, or its first ``cap`` bytes and ``True`` if more was coming."""
    declared = response.length
    if declared is not None and declared <= cap and not response.chunked:
        # The usual answer: its length is known and allowed, so one read (which reads until
        # that length or the end of the stream) is the loop below in one step.
        content = response.read(declared)
        if len(content) < declared:
            raise http.client.IncompleteRead(content, declared - len(content))
        return content, False
    chunks: list[bytes] = []
    size = 0
    while size <= cap:
        chunk = response.read(min(cap + 1 - size, 65536))
        if not chunk:
            if response.length:  # Content-Length promised more than came before EOF
                raise http.client.IncompleteRead(b"".join(chunks), response.length)
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:cap], True


#: Origins whose answer polling is remembered (a test session talks to a few receivers).
_REMEMBERED_ORIGINS = 256
#: How much of an error's own text an attempt's message quotes.
_MESSAGE_CHARS = 300


def classify(exc: BaseException, deadline: float) -> TransportError:
    """Name what went wrong on the wire in the words the attempt record uses."""
    text = str(exc) or type(exc).__name__
    if len(text) > _MESSAGE_CHARS:  # a garbage status line is quoted whole by http.client
        text = text[:_MESSAGE_CHARS] + f"... ({len(text)} characters)"
    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ConnectionRefusedError):
        return TransportError("connection_refused", f"connection refused ({text})")
    if isinstance(exc, (TimeoutError, socket.timeout)) or time.monotonic() >= deadline:
        return TransportError("timeout", f"no complete answer within the timeout ({text})")
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
        return TransportError("connection_reset", f"the receiver dropped the connection ({text})")
    if isinstance(exc, ssl.SSLError):
        return TransportError("connection_error", f"TLS failed ({text})")
    if isinstance(exc, (http.client.HTTPException, ValueError)):
        # ValueError: http.client reading a negative chunk size, among others
        return TransportError("invalid_response", f"not a valid HTTP response ({text})")
    if isinstance(exc, OSError):
        return TransportError("connection_error", f"could not connect ({text})")
    return TransportError("connection_error", f"{type(exc).__name__}: {text}")


class KeepAliveClient:
    """POSTs over kept-alive connections, one exchange per connection at a time.

    Idle connections are kept per origin (scheme, host, port), ``max_idle`` in all (the one idle
    longest makes room); one that the receiver closed while idle is noticed and dropped before
    it is used.
    """

    def __init__(
        self,
        policy: HostPolicy,
        *,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_idle: int = 32,
        resolver: Resolver = resolve,
        dialer: Dialer = dial,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.max_response_bytes = max_response_bytes
        self.max_idle = max_idle
        self.resolver = resolver
        self.dialer = dialer
        self._tls = tls
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}
        self._idle_since: collections.OrderedDict[_Connection, None] = collections.OrderedDict()
        #: Per origin, whether polling briefly for its answers pays (:mod:`answer_polling`).
        self._polling: dict[tuple[str, str, int], AnswerPolling] = {}
        self._lock = threading.Lock()

    def post(
        self, url: WebhookURL, body: bytes, headers: Mapping[str, str], timeout: float
    ) -> Response:
        """Send one POST and read its answer, all within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        connection = self._checkout(url)
        connection.start(deadline)
        try:
            if connection.sock is None:
                connection.connect()
            answer = connection.post(url.target, body, headers, self.max_response_bytes)
            if isinstance(answer, PlainAnswer):
                if answer.reusable:
                    self._checkin(connection)
                else:
                    connection.close()
                return Response(answer.status, answer.headers, answer.body)
            content, truncated = _read_capped(answer, self.max_response_bytes)
        except BaseException as exc:
            connection.abort()
            if not isinstance(exc, Exception):
                raise
            raise classify(exc, deadline) from None
        status = answer.status
        answer_headers = {k.lower(): v for k, v in answer.msg.items()}
        if truncated:
            connection.abort()  # do not drain a long answer just to reuse the connection
        answer.close()
        # An answer that was not plain is not reused: http.client would quietly drop whatever
        # it had buffered past the body, and such a connection cannot be trusted with another.
        connection.close()
        return Response(status, answer_headers, content, truncated)

    def _checkout(self, url: WebhookURL) -> _Connection:
        while True:
            with self._lock:
                idle = self._idle.get(url.origin)
                if not idle:
                    break
                connection = idle.pop()
                if not idle:
                    del self._idle[url.origin]
                del self._idle_since[connection]
            guarded = connection.guarded
            if guarded is not None and not guarded.is_dropped():
                return connection
            connection.close()
        with self._lock:
            polling = self._polling.get(url.origin)
            if polling is None:
                if len(self._polling) >= _REMEMBERED_ORIGINS:
                    self._polling.clear()
                polling = self._polling[url.origin] = AnswerPolling()
        return _Connection(
            url, self.policy, self.resolver, self.dialer, self._tls_for(url), polling
        )

    def _tls_for(self, url: WebhookURL) -> ssl.SSLContext | None:
        if url.scheme != "https":
            return None
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _checkin(self, connection: _Connection) -> None:
        """Keep ``connection`` for reuse; when ``max_idle`` are kept, the one idle longest goes
        (in a test session, most likely to a receiver an earlier test has stopped)."""
        if self.max_idle <= 0:
            connection.close()
            return
        evicted: _Connection | None = None
        with self._lock:
            if len(self._idle_since) >= self.max_idle:
                evicted, _ = self._idle_since.popitem(last=False)
                same_origin = self._idle[evicted.url.origin]
                same_origin.remove(evicted)
                if not same_origin:
                    del self._idle[evicted.url.origin]
            self._idle.setdefault(connection.url.origin, []).append(connection)
            self._idle_since[connection] = None
        if evicted is not None:
            evicted.close()

    def close(self) -> None:
        """Close every idle connection (connections in use close when their exchange ends)."""
        with self._lock:
            idle = list(self._idle_since)
            self._idle.clear()
            self._idle_since.clear()
        for connection in idle:
            connection.close()
