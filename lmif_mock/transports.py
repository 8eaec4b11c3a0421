"""How a signed request reaches a receiver: over HTTP, or in-process to a WSGI or ASGI app.

All three answer the same way: a :class:`Response`, or a :class:`TransportError` whose ``kind``
says what went wrong (``timeout``, ``connection_refused``, ``connection_reset``...). The dispatcher
records both alike, so a test can move a receiver from a socket to in-process without changing a
single assertion. HTTP goes through :mod:`lmif_mock.http_client` (keep-alive ``http.client``,
checked at connect time, one deadline per exchange); apps through :mod:`lmif_mock.inprocess`.
"""

from __future__ import annotations

import inspect
import ssl
from collections.abc import Callable
from typing import Any

from lmif_mock.dialing import Dialer, Resolver, dial, resolve
from lmif_mock.exchanges import (
    MAX_RESPONSE_BYTES,
    USER_AGENT,
    OutgoingRequest,
    Response,
    Transport,
    TransportError,
)
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.http_client import KeepAliveClient
from lmif_mock.inprocess.asgi import ASGITransport
from lmif_mock.inprocess.wsgi import WSGITransport
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
