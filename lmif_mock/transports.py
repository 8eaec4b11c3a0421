"""How a signed request reaches a receiver: over HTTP, or in-process to a WSGI or ASGI app.

All three answer the same way: a :class:`Response`, or a :class:`TransportError` whose ``kind``
says what went wrong (``timeout``, ``connection_refused``, ``connection_reset``...). The dispatcher
records both alike, so a test can move a receiver from a socket to in-process without changing a
single assertion.

HTTP uses urllib3: it pools keep-alive connections per host (a receiver that keeps connections
open gets them reused), can be told never to follow redirects and never to retry on its own, takes
separate connect and read timeouts, and streams the response so a huge body is cut off at the cap
rather than read into memory. It is already what most Python HTTP clients are built on.
"""

from __future__ import annotations

import asyncio
import http.client
import inspect
import io
import queue
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from lmif_mock.errors import LMIFMockError
from lmif_mock.hosts import BlockedHostError, HostPolicy

#: The most of a receiver's answer that is read. An answer past it is cut off unread (the
#: connection is dropped rather than drained) and the attempt fails as ``response_too_large``:
#: a webhook acknowledgement has no reason to be megabytes long.
MAX_RESPONSE_BYTES = 1024 * 1024
USER_AGENT = "LMIF-Webhooks/1.0 (lmif-mock)"


@dataclass(frozen=True)
class OutgoingRequest:
    """What is sent: always a POST of ``body`` with ``headers`` to ``url`` (or an app's path)."""

    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Response:
    """What came back: the status, headers, and at most the first ``MAX_RESPONSE_BYTES`` of body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    truncated: bool = False


class TransportError(LMIFMockError):
    """Nothing usable came back; ``kind`` names why, for the attempt record."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Transport(Protocol):
    """Sends one request and waits at most ``timeout`` seconds for the whole answer."""

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        """Deliver ``request``; raise :class:`TransportError` on anything but an HTTP answer."""
        ...

    def close(self) -> None:
        """Release connections and threads."""
        ...


class HTTPTransport:
    """Real HTTP over sockets with pooled keep-alive connections and no redirects or retries."""

    def __init__(
        self,
        hosts: HostPolicy | None = None,
        *,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        pool_size: int = 16,
    ) -> None:
        self.hosts = hosts or HostPolicy()
        self.max_response_bytes = max_response_bytes
        self._pool = urllib3.PoolManager(
            num_pools=64, maxsize=pool_size, block=False, retries=False
        )

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        try:
            self.hosts.check_url(request.url)
        except BlockedHostError as exc:
            raise TransportError("blocked_host", str(exc)) from None
        started = time.monotonic()
        try:
            response = self._pool.urlopen(
                "POST",
                request.url,
                body=request.body,
                headers=dict(request.headers),
                redirect=False,
                retries=False,
                timeout=urllib3.Timeout(connect=timeout, read=timeout),
                preload_content=False,
            )
        except Exception as exc:  # every failure becomes a recorded attempt, never an escape
            raise _classify(exc) from None
        try:
            body, truncated = self._read(response, started + timeout)
        except TransportError:
            response.close()
            raise
        except Exception as exc:
            response.close()
            raise _classify(exc) from None
        headers = {k.lower(): v for k, v in response.headers.items()}
        if truncated:
            response.close()  # do not drain megabytes just to reuse the connection
        else:
            response.release_conn()
        return Response(response.status, headers, body, truncated)

    def _read(self, response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = response.read(8192)
            if not chunk:
                return b"".join(chunks), False
            if time.monotonic() > deadline:
                raise TransportError(
                    "timeout", "the response body was still arriving at the timeout"
                )
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_response_bytes:
                return b"".join(chunks)[: self.max_response_bytes], True

    def close(self) -> None:
        self._pool.clear()


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and everything it wraps (causes, contexts, exceptions passed as arguments)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        error = todo.pop()
        if any(error is e for e in seen):
            continue
        seen.append(error)
        todo.extend(e for e in (error.__cause__, error.__context__) if e is not None)
        todo.extend(a for a in getattr(error, "args", ()) if isinstance(a, BaseException))
        reason = getattr(error, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return seen


def _classify(exc: BaseException) -> TransportError:
    """Name what went wrong on the wire in the words the attempt record uses."""
    chain = _causes(exc)
    text = str(exc)

    def has(*kinds: type[BaseException]) -> bool:
        return any(isinstance(e, kinds) for e in chain)

    if has(ConnectionRefusedError):
        return TransportError("connection_refused", f"connection refused ({text})")
    if has(ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
        return TransportError("connection_reset", f"the receiver dropped the connection ({text})")
    timed_out = has(ReadTimeoutError, socket.timeout, TimeoutError) or any(
        isinstance(e, ConnectTimeoutError) and not isinstance(e, NewConnectionError) for e in chain
    )
    if timed_out:
        return TransportError("timeout", f"no answer within the timeout ({text})")
    if has(http.client.HTTPException, ProtocolError):
        return TransportError("invalid_response", f"not a valid HTTP response ({text})")
    if has(NewConnectionError, OSError, HTTPError):
        return TransportError("connection_error", f"could not connect ({text})")
    return TransportError("connection_error", f"{type(exc).__name__}: {text}")


class _Job:
    """One call handed to a worker; ``done`` is a bare lock, released when the call finishes.

    A bare lock rather than ``threading.Event``: waiting on it with a timeout is one C call,
    where an Event builds a Condition and a waiter lock every time.
    """

    __slots__ = ("done", "error", "fn", "result")

    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Lock()
        self.done.acquire()
        self.result: Any = None
        self.error: BaseException | None = None


class _Worker:
    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self.abandoned = False
        threading.Thread(target=self._loop, name="lmif-inprocess", daemon=True).start()

    def _loop(self) -> None:
        while (job := self.jobs.get()) is not None:
            try:
                job.result = job.fn()
            except BaseException as exc:
                job.error = exc
            job.done.release()
            if self.abandoned:
                return


class ThreadRunner:
    """Runs calls on reusable daemon threads, so a hung in-process app can be given up on.

    A call that overruns its timeout leaves its thread to finish (or hang) alone; the next call
    gets a fresh one. Idle threads are reused, so the common case costs a hand-off, not a start.
    """

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()

    def call(self, fn: Callable[[], Any], timeout: float) -> Any:
        """``fn()``'s result, or :class:`TimeoutError` if it takes longer than ``timeout``."""
        with self._lock:
            worker = self._idle.pop() if self._idle else _Worker()
        job = _Job(fn)
        worker.jobs.put(job)
        if not job.done.acquire(timeout=timeout):
            worker.abandoned = True
            worker.jobs.put(None)  # exits at once if the call ended just after the timeout
            raise TimeoutError(f"no answer within {timeout:g} s")
        with self._lock:
            self._idle.append(worker)
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        """Let idle threads exit."""
        with self._lock:
            for worker in self._idle:
                worker.jobs.put(None)
            self._idle.clear()


def _path_of(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.path or "/", parts.query


def _app_error(exc: BaseException) -> Response:
    """An exception escaping an in-process app is what a real server turns into a 500."""
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Response(500, {"content-type": "text/plain"}, summary.encode("utf-8", "replace"))


def wsgi_environ(request: OutgoingRequest) -> dict[str, Any]:
    """The WSGI environ a server on 127.0.0.1 would build for ``request`` (PEP 3333).

    Built by hand rather than with werkzeug's ``EnvironBuilder``: same result for a POST with a
    byte body, at a twentieth of the cost, which matters when a test suite emits thousands.
    """
    path, query = _path_of(request.url)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote(path, encoding="latin-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(request.body)),
        "HTTP_HOST": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ["HTTP_" + key] = value
    return environ


class WSGITransport:
    """Delivers to a WSGI app in this process (Flask, Django, werkzeug...), no socket involved.

    With ``enforce_timeout`` (the default) the app runs on a worker thread so that one that hangs
    is abandoned at the timeout and recorded as such; the hand-off costs about 0.1 ms. Without
    it the app runs on the caller's thread: faster, and a slow answer is still judged a timeout
    once it comes, but an app that never returns blocks the caller.
    """

    def __init__(
        self,
        app: Callable[..., Any],
        *,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        enforce_timeout: bool = True,
    ) -> None:
        self.app = app
        self.max_response_bytes = max_response_bytes
        self.enforce_timeout = enforce_timeout
        self._runner = ThreadRunner()

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        if not self.enforce_timeout:
            return self._call(request)
        try:
            result: Response = self._runner.call(lambda: self._call(request), timeout)
        except TimeoutError as exc:
            raise TransportError("timeout", str(exc)) from None
        return result

    def _call(self, request: OutgoingRequest) -> Response:
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], Any]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [(status, headers)]
            return written.append

        chunks: list[bytes] = []
        size = 0
        truncated = False
        try:
            app_iter = self.app(wsgi_environ(request), start_response)
            try:
                for chunk in app_iter:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        truncated = True
                        break
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            return _app_error(exc)
        if written:
            chunks = [*written, *chunks]
        if not started:
            raise TransportError("invalid_response", "the WSGI app never called start_response")
        status, headers = started[0]
        try:
            code = int(status.split(" ", 1)[0])
        except ValueError:
            raise TransportError("invalid_response", f"bad WSGI status {status!r}") from None
        body = b"".join(chunks)[: self.max_response_bytes]
        return Response(code, {k.lower(): v for k, v in headers}, body, truncated)

    def close(self) -> None:
        self._runner.close()


class _LoopThread:
    """One event loop in a daemon thread, shared by every ASGI transport."""

    _instance: _LoopThread | None = None
    _guard = threading.Lock()

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="lmif-asgi", daemon=True).start()

    @classmethod
    def get(cls) -> asyncio.AbstractEventLoop:
        with cls._guard:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance.loop


class ASGITransport:
    """Delivers to an ASGI app in this process (FastAPI, Starlette...), no socket involved."""

    def __init__(
        self, app: Callable[..., Any], *, max_response_bytes: int = MAX_RESPONSE_BYTES
    ) -> None:
        self.app = app
        self.max_response_bytes = max_response_bytes

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        future = asyncio.run_coroutine_threadsafe(self._call(request), _LoopThread.get())
        try:
            result: Response = future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise TransportError("timeout", f"no answer within {timeout:g} s") from None
        return result

    async def _call(self, request: OutgoingRequest) -> Response:
        path, query = _path_of(request.url)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode("latin-1", "replace"),
            "query_string": query.encode("latin-1", "replace"),
            "root_path": "",
            "headers": [
                (k.lower().encode("latin-1"), v.encode("latin-1"))
                for k, v in {
                    **request.headers,
                    "Host": "127.0.0.1",
                    "Content-Length": str(len(request.body)),
                }.items()
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent_body = False
        finished = asyncio.Event()
        status: int | None = None
        headers: dict[str, str] = {}
        chunks: list[bytes] = []
        size = 0
        truncated = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": request.body, "more_body": False}
            await finished.wait()
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            nonlocal status, size, truncated
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for key, value in message.get("headers", []):
                    headers[bytes(key).decode("latin-1").lower()] = bytes(value).decode("latin-1")
            elif message["type"] == "http.response.body":
                chunk = bytes(message.get("body", b""))
                if size <= self.max_response_bytes:
                    chunks.append(chunk)
                size += len(chunk)
                truncated = truncated or size > self.max_response_bytes
                if not message.get("more_body", False):
                    finished.set()

        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            if status is None:
                return _app_error(exc)
        finally:
            finished.set()
        if status is None:
            raise TransportError("invalid_response", "the ASGI app finished without a response")
        body = b"".join(chunks)[: self.max_response_bytes]
        return Response(status, headers, body, truncated)

    def close(self) -> None:
        return None


def is_asgi_app(app: object) -> bool:
    """Whether ``app`` looks like an ASGI app (an async callable) rather than a WSGI one."""
    if inspect.iscoroutinefunction(app):
        return True
    call = getattr(app, "__call__", None)  # noqa: B004 - we need the bound method itself
    return call is not None and inspect.iscoroutinefunction(call)


def transport_for_app(app: Callable[..., Any], *, enforce_timeout: bool = True) -> Transport:
    """The in-process transport that fits ``app`` (see :class:`WSGITransport` on timeouts)."""
    if is_asgi_app(app):
        return ASGITransport(app)
    return WSGITransport(app, enforce_timeout=enforce_timeout)
