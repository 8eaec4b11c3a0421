"""The words every transport speaks: a request going out, an answer coming back, or an error.

Kept apart from the transports themselves so the HTTP client and the in-process transports can
share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from lmif_mock.errors import LMIFMockError

#: The most of a receiver's answer that is read. An answer past it is cut off (the connection is
#: dropped rather than drained); the attempt is judged on its status as usual, with the first
#: bytes kept: a webhook acknowledgement has no reason to be long, and the provider counts any
#: 2xx as a success however much body follows it.
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "LMIF-Webhooks/1.0 (lmif-mock)"


@dataclass(frozen=True)
class OutgoingRequest:
    """What is sent: always a POST of ``body`` with ``headers`` to ``url`` (or an app's path)."""

    url: str
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Response:
    """What came back: the status, headers, and at most the first ``MAX_RESPONSE_BYTES`` of body
    (``truncated`` says more was on its way)."""

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
