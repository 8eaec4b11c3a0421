"""RFC 9112's rules for the request line and ``Host``: the fake's server refuses, in its JSON 400,
what werkzeug alone would have served (a lowercase method, a target without a leading slash, an
HTTP/1.1 request with no Host, raw UTF-8 bytes in the path read as Latin-1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lmif_mock import LMIFServer
from lmif_mock.http.serving.request_framing import BadFraming, Complete, RequestFramer
from tests.raw_http import assert_error_shape, exchange


@pytest.fixture(scope="module")
def server() -> Iterator[LMIFServer]:
    with LMIFServer() as running:
        yield running


def ask(server: LMIFServer, line: str | bytes, *headers: str) -> tuple[int, dict[str, object]]:
    """Send one request line (with ``headers``, the API key always among them) to the server."""
    raw = line if isinstance(line, bytes) else line.encode()
    head = [f"Authorization: Bearer {server.api_key}", *headers, "Connection: close"]
    answer = exchange(server.url, raw + b"\r\n" + "\r\n".join(head).encode() + b"\r\n\r\n")
    return answer.status, answer.json()


REFUSED = [
    pytest.param(b"GET /_mock/health HTTP/1.1", (), "must have a Host header", id="no-host"),
    pytest.param(
        b"GET /_mock/health HTTP/1.1", ("Host: a", "Host: b"), "more than once", id="two-hosts"
    ),
    pytest.param(
        b"GET /_mock/health HTTP/1.1", ("Host: a b/c",), "not a host and port", id="bad-host"
    ),
    pytest.param(b"get /_mock/health HTTP/1.1", ("Host: x",), "send 'GET'", id="lowercase"),
    pytest.param(b"Get /_mock/health HTTP/1.1", ("Host: x",), "send 'GET'", id="mixed-case"),
    pytest.param(b"G(T /_mock/health HTTP/1.1", ("Host: x",), "not a method", id="not-a-token"),
    pytest.param(b"GET _mock/health HTTP/1.1", ("Host: x",), "start with '/'", id="no-slash"),
    pytest.param(b"GET * HTTP/1.1", ("Host: x",), "start with '/'", id="asterisk-not-options"),
    pytest.param(
        b"GET /v1/lmif/webhooks/wh_\xc3\xa9 HTTP/1.1", ("Host: x",), "byte 0xc3", id="raw-utf-8"
    ),
    pytest.param(b"GET /_mock/\x7fhealth HTTP/1.1", ("Host: x",), "byte 0x7f", id="del-byte"),
]


@pytest.mark.parametrize(("line", "headers", "reason"), REFUSED)
def test_what_rfc_9112_refuses_is_a_json_400_naming_the_problem(
    server: LMIFServer, line: bytes, headers: tuple[str, ...], reason: str
) -> None:
    raw = line + b"\r\n" + "".join(f"{h}\r\n" for h in headers).encode() + b"\r\n"
    answer = exchange(server.url, raw)
    error = assert_error_shape(answer, 400, "BAD_REQUEST")
    assert reason in error["details"]["reason"], error
    assert answer.headers["connection"] == "close"


def test_the_well_formed_versions_of_those_requests_are_served(server: LMIFServer) -> None:
    assert ask(server, "GET /_mock/health HTTP/1.1", "Host: 127.0.0.1:80") == (
        200,
        {"status": "ok"},
    )
    assert ask(server, "GET /_mock/health HTTP/1.1", "Host: [::1]:8765")[0] == 200
    assert ask(server, "GET /_mock/health HTTP/1.0")[0] == 200  # HTTP/1.0 needs no Host
    # The absolute form, which RFC 9112 says a server must accept.
    assert ask(server, "GET http://127.0.0.1/_mock/health HTTP/1.1", "Host: 127.0.0.1")[0] == 200
    # UTF-8 percent-encoded reaches the API as the character it encodes, never as Latin-1.
    status, body = ask(server, "GET /v1/lmif/webhooks/wh_%C3%A9 HTTP/1.1", "Host: x")
    assert status == 404
    assert body["error"]["details"] == {"resource": "webhook", "id": "wh_é"}  # type: ignore[index]


def test_the_server_refuses_before_the_api_acts(server: LMIFServer) -> None:
    before = len(server.events())
    body = b'{"type": "box.created"}'
    for line in (b"post /_mock/events HTTP/1.1", b"POST _mock/events HTTP/1.1"):
        raw = (
            line + b"\r\nHost: x\r\nAuthorization: Bearer " + server.api_key.encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        )
        assert_error_shape(exchange(server.url, raw), 400, "BAD_REQUEST")
    assert len(server.events()) == before


@pytest.mark.parametrize(
    "head",
    [
        b"GET /x HTTP/1.1\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
        b"delete /x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET x HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
    ],
)
def test_the_loop_refuses_them_before_a_worker_is_spent(head: bytes) -> None:
    assert isinstance(RequestFramer(max_body=100).feed(head), BadFraming)


def test_the_request_line_is_judged_as_soon_as_it_ends() -> None:
    framing = RequestFramer(max_body=100).feed(b"get /x HTTP/1.1\r\n")
    assert isinstance(framing, BadFraming)
    assert "case-sensitive" in framing.reason


@pytest.mark.parametrize(
    "head",
    [
        b"GET /x HTTP/1.0\r\n\r\n",
        b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET HTTPS://example.test/x HTTP/1.1\r\nHost: example.test\r\n\r\n",
        b"GET /x HTTP/1.1\r\nHost:\r\n\r\n",  # empty: allowed when the target names no host
        b"GET /%C3%A9?q=%20 HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n\r\n",
    ],
)
def test_what_the_rfc_allows_is_still_complete(head: bytes) -> None:
    assert RequestFramer(max_body=100).feed(head) == Complete(len(head))
