"""Every kind of error answer, from the API and from the server under it, has the whole shape:
``{"error": {"code", "message", "details"}, "meta": {"requestId"}}``, ``details`` included
(null when the message says it all), and a path naming a fixed route is never taken as an id."""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import lmif_mock.http
from lmif_mock import LMIFServer
from lmif_mock.http.errors import CODES
from lmif_mock.http.openapi import document
from lmif_mock.http.serving.server_refusals import REFUSALS
from tests.raw_http import assert_error_shape, exchange


def _request(server: LMIFServer, method: str, path: str, *lines: str, body: bytes = b"") -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *lines]
    if body or method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _details_kind(details: object) -> str:
    return type(details).__name__


@pytest.fixture(scope="module")
def server() -> Iterator[LMIFServer]:
    with LMIFServer(plan="Basic") as running:
        yield running


def test_every_kind_of_error_answer_carries_details(server: LMIFServer) -> None:
    auth = f"Authorization: Bearer {server.api_key}"
    as_json = "Content-Type: application/json"
    cases = [
        # (request, status, code, what details is)
        (_request(server, "GET", "/v1/lmif/webhooks"), 401, "UNAUTHORIZED", "str"),
        (_request(server, "GET", "/v1/lmif/webhooks", "Authorization: Bearer lmif_test_nope"),
         401, "UNAUTHORIZED", "str"),
        (_request(server, "GET", "/v1/lmif/webhooks", "Authorization: Bearer lmif_live_x"),
         401, "WRONG_ENVIRONMENT", "str"),
        (_request(server, "POST", "/v1/lmif/webhooks", auth, "Content-Type: text/plain",
                  body=b"{}"), 415, "UNSUPPORTED_MEDIA_TYPE", "dict"),
        (_request(server, "POST", "/v1/lmif/webhooks", auth, body=b"{}"),
         415, "UNSUPPORTED_MEDIA_TYPE", "dict"),
        (_request(server, "POST", "/v1/lmif/webhooks", auth, as_json, body=b"{nope"),
         400, "VALIDATION_ERROR", "list"),
        (_request(server, "POST", "/v1/lmif/webhooks", auth, as_json, body=b"{}"),
         400, "VALIDATION_ERROR", "list"),
        (_request(server, "GET", "/v1/lmif/webhooks?limit=0", auth),
         400, "VALIDATION_ERROR", "list"),
        (_request(server, "POST", "/_mock/clock/advance", auth, as_json,
                  body=b'{"days": 36601, "hours": -1}'), 400, "VALIDATION_ERROR", "list"),
        (_request(server, "POST", "/v1/lmif/events/zzz/resend", auth, as_json, body=b"{}"),
         404, "NOT_FOUND", "NoneType"),
        (_request(server, "GET", "/v1/lmif/webhooks/wh_missing", auth),
         404, "NOT_FOUND", "dict"),
        (_request(server, "GET", "/v1/lmif/../lmif/webhooks", auth), 404, "NOT_FOUND", "dict"),
        (_request(server, "GET", "/v1/lmif/nothing-here", auth), 404, "NOT_FOUND", "dict"),
        (_request(server, "DELETE", "/v1/lmif/webhooks", auth),
         405, "METHOD_NOT_ALLOWED", "dict"),
        (_request(server, "POST", "/v1/lmif/identity/check/batch", auth, as_json,
                  body=b'[{"id": "1", "name": "A", "imageUrl": "https://x.example/a.png"}]'), 403, "INSUFFICIENT_TIER", "dict"),
        (_request(server, "POST", "/_mock/events", auth, as_json, body=b"x" * (2 * 1024 * 1024)),
         413, "PAYLOAD_TOO_LARGE", "dict"),
        (_request(server, "POST", "/_mock/keys/revoke", auth, as_json,
                  body=json.dumps({"apiKey": server.api_key}).encode()), 409, "CONFLICT", "NoneType"),
        (b"THIS IS NOT HTTP\r\n\r\n", 400, "BAD_REQUEST", "dict"),
        (b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-A: \x00\x01\r\n\r\n",
         400, "BAD_REQUEST", "dict"),
        (b"GET /_mock/health HTTP/2.0\r\n\r\n", 505, "HTTP_VERSION_NOT_SUPPORTED", "dict"),
    ]  # fmt: skip
    seen = []
    for raw, status, code, kind in cases:
        error = assert_error_shape(exchange(server.url, raw), status, code)
        seen.append((code, _details_kind(error["details"])))
        assert _details_kind(error["details"]) == kind, (raw[:80], error)
    assert len({code for code, _ in seen}) >= 11


def test_a_rate_limited_answer_carries_its_details() -> None:
    with LMIFServer(rate_limit=1) as limited:
        auth = f"Authorization: Bearer {limited.api_key}"
        exchange(limited.url, _request(limited, "GET", "/v1/lmif/webhooks", auth))
        over = exchange(limited.url, _request(limited, "GET", "/v1/lmif/webhooks", auth))
        error = assert_error_shape(over, 429, "RATE_LIMITED")
        assert set(error["details"]) == {"limit", "remaining", "resetAt", "retryAfter"}


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/v1/lmif/webhooks/test", ["POST"]),
        ("GET", "/v1/lmif/webhooks/test", ["POST"]),
        ("PATCH", "/v1/lmif/webhooks/test", ["POST"]),
        ("DELETE", "/v1/lmif/licenses/request", ["POST"]),
        ("GET", "/v1/lmif/licenses/request", ["POST"]),
        ("POST", "/v1/lmif/licenses/request/renew", ["GET", "HEAD"]),
    ],
)
def test_a_fixed_route_with_the_wrong_method_is_405_not_an_unknown_id(
    server: LMIFServer, method: str, path: str, allowed: list[str]
) -> None:
    auth = f"Authorization: Bearer {server.api_key}"
    answer = exchange(server.url, _request(server, method, path, auth))
    error = assert_error_shape(answer, 405, "METHOD_NOT_ALLOWED")
    assert error["details"] == {"allowed": allowed}
    assert answer.headers["allow"] == ", ".join(allowed)


def test_ids_that_only_start_like_a_fixed_name_are_still_ids(server: LMIFServer) -> None:
    auth = f"Authorization: Bearer {server.api_key}"
    for path, resource in (
        ("/v1/lmif/webhooks/testing", "webhook"),
        ("/v1/lmif/licenses/requests", "license"),
    ):
        answer = exchange(server.url, _request(server, "GET", path, auth))
        error = assert_error_shape(answer, 404, "NOT_FOUND")
        assert error["details"]["resource"] == resource


def _codes_sent_in_source() -> set[str]:
    """Every code literally given to an error answer anywhere in the HTTP layer and its server."""
    makers = {"APIError", "Answer", "refusal"}
    found = set()
    for path in Path(lmif_mock.http.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            first = node.args[0]
            if name in makers and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def test_the_openapi_error_enum_names_every_code_the_server_can_send() -> None:
    enum = set(document("http://127.0.0.1")["components"]["schemas"]["Error"]["properties"]
               ["error"]["properties"]["code"]["enum"])  # fmt: skip
    sent = _codes_sent_in_source()
    # The scan really sees the server's own refusals and the API's answers.
    assert {"REQUEST_TIMEOUT", "TOO_MANY_CONNECTIONS", "UNSUPPORTED_MEDIA_TYPE"} <= sent
    assert sent | set(CODES) | set(REFUSALS) <= enum
