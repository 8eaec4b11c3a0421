"""The answers the fake's server gives when it refuses a request before the API ever sees it.

Too many connections, a request that did not arrive in time, a head over 64 KiB, a chunked body
over the body limit, a request line that is not HTTP, a body whose end is ambiguous: each is
answered in the API's own error shape, ``{"error": {"code", "message", "details"}, "meta":
{"requestId"}}``, so a client's error handling never meets an HTML page from the server
underneath. Every refusal closes the connection.
"""

from __future__ import annotations

import json
import random
from http import HTTPStatus
from typing import Any

from lmif_mock.ids import PREFIXES, new_id

#: code -> HTTP status, for every refusal the server makes on its own.
REFUSALS: dict[str, int] = {
    "BAD_REQUEST": 400,
    "REQUEST_TIMEOUT": 408,
    "PAYLOAD_TOO_LARGE": 413,
    "URI_TOO_LONG": 414,
    "HEADERS_TOO_LARGE": 431,
    "NOT_IMPLEMENTED": 501,
    "TOO_MANY_CONNECTIONS": 503,
    "HTTP_VERSION_NOT_SUPPORTED": 505,
}

#: What the stdlib's request parser reports, as our codes (anything else is a BAD_REQUEST).
CODES_BY_STATUS: dict[int, str] = {status: code for code, status in REFUSALS.items()}

_request_ids = random.Random()


def refusal(
    code: str,
    message: str,
    details: dict[str, Any],
    *,
    with_body: bool = True,
    retry_after: int | None = None,
) -> bytes:
    """The whole HTTP/1.1 response, ready to write to the socket (``with_body=False`` for HEAD)."""
    status = REFUSALS[code]
    request_id = new_id(PREFIXES["request"], _request_ids)
    body = json.dumps(
        {
            "error": {"code": code, "message": message, "details": details},
            "meta": {"requestId": request_id},
        },
        separators=(",", ":"),
    ).encode()
    lines = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"X-Request-Id: {request_id}",
        "Cache-Control: no-store",
        "Connection: close",
    ]
    if retry_after is not None:
        lines.append(f"Retry-After: {retry_after}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return head + body if with_body else head
