"""Raw HTTP over loopback sockets, for requests no well-behaved client library would send."""

from __future__ import annotations

import json
import resource
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    assert parts.hostname in ("127.0.0.1", "::1"), parts.hostname
    return parts.hostname, parts.port or 80


def connect(base_url: str, timeout: float = 30) -> socket.socket:
    return socket.create_connection(address(base_url), timeout=timeout)


def read_answer(sock: socket.socket, timeout: float = 30) -> RawAnswer:
    """Read until the server closes; skips interim 1xx answers."""
    sock.settimeout(timeout)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    while received.startswith(b"HTTP/1.1 1"):
        received = received.split(b"\r\n\r\n", 1)[1]
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(lines[0].split()[1]), headers, body)


def exchange(base_url: str, data: bytes, timeout: float = 30) -> RawAnswer:
    """Send ``data`` on a new connection and read the whole answer."""
    with connect(base_url, timeout) as sock:
        sock.sendall(data)
        return read_answer(sock, timeout)


def assert_error_shape(answer: RawAnswer, status: int, code: str) -> dict[str, Any]:
    """The API's JSON error shape, with every key present; returns the error object."""
    assert answer.status == status, (answer.status, answer.body[:300])
    assert answer.headers["content-type"] == "application/json", answer.headers
    body = answer.json()
    assert set(body) == {"error", "meta"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["meta"]["requestId"].startswith("req_")
    assert answer.headers["x-request-id"] == body["meta"]["requestId"]
    return dict(body["error"])


def allow_open_files(count: int) -> None:
    """Raise this process's soft open-file limit to ``count`` (within the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert soft == resource.RLIM_INFINITY or soft >= count, f"need {count} open files, have {soft}"
