"""Delivery to a WSGI app in this process (Flask, Django, werkzeug...), watched for its timeout."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from typing import Any

from lmif_mock.exchanges import MAX_RESPONSE_BYTES, OutgoingRequest, Response, TransportError
from lmif_mock.inprocess.server_side import app_crash_response, path_and_query, path_info
from lmif_mock.inprocess.threads import ThreadRunner
from lmif_mock.watchdog import WATCHDOG, DeadlineExceeded

#: What every environ holds whatever the request: copied per request (one C-level copy) rather
#: than built key by key, which cost 7 us per delivery in a running emit loop.
_FIXED_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "POST",
    "SCRIPT_NAME": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "127.0.0.1",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}
#: Each header name's environ key, worked out once per name (a webhook sends the same few).
_HEADER_KEYS: dict[str, str] = {}
_REMEMBERED_NAMES = 256


def _environ_key(name: str) -> str:
    key = _HEADER_KEYS.get(name)
    if key is None:
        upper = name.upper().replace("-", "_")
        key = upper if upper in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + upper
        if len(_HEADER_KEYS) >= _REMEMBERED_NAMES:
            _HEADER_KEYS.clear()
        _HEADER_KEYS[name] = key
    return key


def wsgi_environ(request: OutgoingRequest) -> dict[str, Any]:
    """The WSGI environ a server on 127.0.0.1 would build for ``request`` (PEP 3333).

    Built by hand rather than with werkzeug's ``EnvironBuilder``: same result for a POST with a
    byte body, at a twentieth of the cost, which matters when a test suite emits thousands.
    """
    path, query = path_and_query(request.url)
    environ = _FIXED_ENVIRON.copy()
    environ["PATH_INFO"] = path_info(path)
    environ["QUERY_STRING"] = query
    environ["CONTENT_LENGTH"] = str(len(request.body))
    environ["wsgi.input"] = io.BytesIO(request.body)
    environ["wsgi.errors"] = sys.stderr
    for name, value in request.headers.items():
        key = _environ_key(name)
        if key != "CONTENT_LENGTH":
            environ[key] = value
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
            return app_crash_response(exc)
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
