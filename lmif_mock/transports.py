"""How a signed request reaches a receiver: over HTTP, or in-process to a WSGI or ASGI app.

All three answer the same way: a :class:`Response`, or a :class:`TransportError` whose ``kind``
says what went wrong (``timeout``, ``connection_refused``, ``connection_reset``...). The dispatcher
records both alike, so a test can move a receiver from a socket to in-process without changing a
single assertion. HTTP goes through :mod:`lmif_mock.http_client` (keep-alive ``http.client``,
checked at connect time, one deadline per exchange).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import io
import queue
import ssl
import sys
import threading
import traceback
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from lmif_mock.exchanges import (
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    OutgoingRequest,
    Response,
    Transport,
    TransportError,
)
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.http_client import Dialer, KeepAliveClient, Resolver, dial, resolve
from lmif_mock.watchdog import WATCHDOG, DeadlineExceeded
from lmif_mock.webhook_url import WebhookURL

__all__ = [
    "MAX_RESPONSE_BYTES",
    "USER_AGENT",
    "ASGITransport",
    "HTTPTransport",
    "OutgoingRequest",
    "Response",
    "Transport",
    "TransportError",
    "WSGITransport",
    "is_asgi_app",
    "transport_for_app",
]

#: How many parsed webhook URLs are remembered (parsing is pure, so a cached result is exact).
_PARSED_URLS = 1024


class HTTPTransport:
    """Real HTTP over kept-alive sockets, to permitted addresses only, never following redirects
    or retrying on its own. ``tls`` replaces the default context (system CAs, names checked)."""

    def __init__(
        self,
        hosts: HostPolicy | None = None,
        *,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        max_idle: int = 32,
        resolver: Resolver = resolve,
        dialer: Dialer = dial,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.hosts = hosts or HostPolicy()
        self.max_response_bytes = max_response_bytes
        self._client = KeepAliveClient(
            self.hosts,
            max_response_bytes=max_response_bytes,
            max_idle=max_idle,
            resolver=resolver,
            dialer=dialer,
            tls=tls,
        )
        self._parsed: dict[str, WebhookURL] = {}

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        url = self._parsed.get(request.url)
        if url is None:
            try:
                url = self.hosts.parse(request.url)
            except BlockedHostError as exc:
                raise TransportError("blocked_host", str(exc)) from None
            if len(self._parsed) >= _PARSED_URLS:
                self._parsed.clear()
            self._parsed[request.url] = url
        return self._client.post(url, request.body, request.headers, timeout)

    def close(self) -> None:
        self._client.close()


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


@functools.lru_cache(maxsize=1024)
def _path_of(url: str) -> tuple[str, str]:
    """Path and query of ``url`` (pure, so remembered: a webhook's URL never changes)."""
    parts = urlsplit(url)
    return parts.path or "/", parts.query


@functools.lru_cache(maxsize=1024)
def _path_info(path: str) -> str:
    return unquote(path, encoding="latin-1")


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
        "PATH_INFO": _path_info(path),
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

    With ``enforce_timeout`` (the default) an app that hangs is given up on at the timeout and
    recorded as such: called from the main thread, the app runs right there and the process's
    one watchdog interrupts it if its deadline passes (:mod:`lmif_mock.watchdog`); from any
    other thread it runs on a worker thread that is abandoned instead. Without it the app runs
    on the caller's thread unwatched: a slow answer is still judged a timeout once it comes,
    but an app that never returns blocks the caller.
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
            if WATCHDOG.usable():
                return WATCHDOG.call(lambda: self._call(request), timeout)
            result: Response = self._runner.call(lambda: self._call(request), timeout)
        except TimeoutError as exc:
            raise TransportError("timeout", str(exc)) from None
        except DeadlineExceeded:  # the deadline passed just as the app returned
            raise TransportError("timeout", f"no answer within {timeout:g} s") from None
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
    """An event loop running in a daemon thread of its own."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, name="lmif-asgi", daemon=True).start()

    def _run(self) -> None:
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def stop(self) -> None:
        """Let the thread end once the loop is free (at once, unless an app is blocking it)."""
        self.loop.call_soon_threadsafe(self.loop.stop)


class ASGITransport:
    """Delivers to an ASGI app in this process (FastAPI, Starlette...), no socket involved.

    Each app gets an event loop of its own: an app that blocks its loop (a ``time.sleep`` in a
    handler) then delays only itself, never another app's deliveries. A call still unfinished
    after its timeout marks the loop as stuck, and the next call starts on a fresh loop.
    """

    def __init__(
        self, app: Callable[..., Any], *, max_response_bytes: int = MAX_RESPONSE_BYTES
    ) -> None:
        self.app = app
        self.max_response_bytes = max_response_bytes
        self._loop: _LoopThread | None = None
        self._overdue: threading.Event | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is not None and self._overdue is not None and not self._overdue.is_set():
                self._loop.stop()  # leave the stuck loop to its app; it ends if the app returns
                self._loop = None
            self._overdue = None
            if self._loop is None:
                self._loop = _LoopThread()
            return self._loop.loop

    def send(self, request: OutgoingRequest, timeout: float) -> Response:
        finished = threading.Event()

        async def call() -> Response:
            try:
                return await self._call(request)
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(call(), self._running_loop())
        try:
            result: Response = future.result(timeout)
        except concurrent.futures.TimeoutError:  # not the built-in TimeoutError on 3.10
            future.cancel()
            with self._lock:
                self._overdue = finished
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
        with self._lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop()


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
