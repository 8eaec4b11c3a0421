"""Delivery to an ASGI app in this process (FastAPI, Starlette...), each app on its own loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping
from typing import Any

from lmif_mock.exchanges import MAX_RESPONSE_BYTES, OutgoingRequest, Response, TransportError
from lmif_mock.inprocess.server_side import app_crash_response, path_and_query


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
        path, query = path_and_query(request.url)
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
                return app_crash_response(exc)
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
