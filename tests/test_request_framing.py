"""Request framing: the server's loop must know exactly when a request has fully arrived."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.http.serving.request_framing import (
    BadFraming,
    BodyTooLarge,
    Complete,
    Framing,
    Incomplete,
    RequestFramer,
    TooLarge,
)

MAX_BODY = 2000

header_names = st.from_regex(r"X-[A-Za-z0-9-]{1,20}", fullmatch=True)
header_values = st.from_regex(r"[ -~]{0,40}", fullmatch=True).map(str.strip)
headers = st.lists(st.tuples(header_names, header_values), max_size=8)
bodies = st.binary(max_size=MAX_BODY)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """A whole HTTP/1.1 request: fixed length, chunked, or no body; CRLF or bare LF lines."""
    newline = draw(st.sampled_from([b"\r\n", b"\n"]))
    lines = [b"POST /v1/lmif/webhooks HTTP/1.1", b"Host: 127.0.0.1"]
    lines += [f"{name}: {value}".encode() for name, value in draw(headers)]
    body = draw(bodies)
    framing = draw(st.sampled_from(["length", "chunked", "none"]))
    if framing == "none":
        body = b""
    if framing == "length":
        lines.append(f"Content-Length: {len(body)}".encode())
        payload = body
    elif framing == "chunked":
        lines.append(b"Transfer-Encoding: chunked")
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        parts = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts if p) + b"0\r\n"
        payload += b"".join(b"X-Trailer: %d\r\n" % i for i in range(draw(st.integers(0, 2))))
        payload += b"\r\n"
    else:
        payload = b""
    return newline.join(lines) + newline + newline + payload


def feed_in_pieces(request: bytes, cuts: list[int]) -> list[Framing]:
    framer = RequestFramer(max_body=MAX_BODY)
    points = sorted({c % (len(request) + 1) for c in cuts} | {len(request)})
    results = []
    start = 0
    for point in points:
        results.append(framer.feed(request[start:point]))
        start = point
    return results


@settings(deadline=None)
@given(requests(), st.lists(st.integers(min_value=0), max_size=12))
def test_a_request_is_complete_exactly_when_its_last_byte_arrives(
    request: bytes, cuts: list[int]
) -> None:
    results = feed_in_pieces(request, cuts)
    assert results[-1] == Complete(len(request))
    assert all(isinstance(r, Incomplete) for r in results[:-1])


@settings(deadline=None)
@given(requests(), st.integers(min_value=1))
def test_every_strict_prefix_is_incomplete(request: bytes, cut: int) -> None:
    prefix = request[: cut % len(request)]
    assert RequestFramer(max_body=MAX_BODY).feed(prefix) == Incomplete()


def test_heads_over_the_limit_are_too_large_whichever_part() -> None:
    framer = RequestFramer(max_body=MAX_BODY, max_head=100)
    assert framer.feed(b"GET /" + b"a" * 200) == TooLarge("request line")
    framer = RequestFramer(max_body=MAX_BODY, max_head=100)
    assert framer.feed(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 200) == TooLarge("headers")
    framer = RequestFramer(max_body=MAX_BODY, max_head=100)
    assert framer.feed(b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 200 + b"\r\n\r\n") == TooLarge(
        "headers"
    )


def test_bodies_the_loop_will_not_hold_go_to_a_worker_at_once() -> None:
    big = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    assert RequestFramer(max_body=MAX_BODY).feed(big) == Complete(len(big), body_buffered=False)
    huge = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n"
    assert RequestFramer(max_body=MAX_BODY).feed(huge) == Complete(len(huge), False)


def test_a_chunked_body_over_the_limit_is_too_large_never_a_prefix() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    framer = RequestFramer(max_body=MAX_BODY)
    assert framer.feed(head + b"%x\r\n" % 1500 + b"a" * 1500 + b"\r\n") == Incomplete()
    assert framer.feed(b"%x\r\n" % 501) == BodyTooLarge(MAX_BODY)
    exactly = head + b"%x\r\n" % MAX_BODY + b"a" * MAX_BODY + b"\r\n0\r\n\r\n"
    assert RequestFramer(max_body=MAX_BODY).feed(exactly) == Complete(len(exactly))


@pytest.mark.parametrize(
    "head",
    [
        b"GET /_mock/health\r\n\r\n",  # HTTP/0.9: no version
        b"GET /_mock/health\r\n",  # refused as soon as the line ends
        b"GET  /x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +22\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nX-A: b\r\n  folded\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \x00\x01\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x1bb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: ab\x0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: ab\x0c\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1cab\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x1eb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 22\x0b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\x0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX(A): b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n\xe9t\xe9: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
    ],
)
def test_ambiguous_or_unreadable_framing_is_refused(head: bytes) -> None:
    assert isinstance(RequestFramer(max_body=MAX_BODY).feed(head), BadFraming)


def test_tabs_and_latin_1_text_in_header_values_are_still_accepted() -> None:
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\tb \xe9t\xe9\r\nAccept: */*\r\n\r\n"
    assert isinstance(RequestFramer(max_body=MAX_BODY).feed(head), Complete)


def test_a_coding_before_chunked_is_unsupported_rather_than_malformed() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
    framing = RequestFramer(max_body=MAX_BODY).feed(head)
    assert isinstance(framing, BadFraming)
    assert framing.unsupported


def test_expect_continue_is_reported_while_the_body_is_awaited() -> None:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"
    framer = RequestFramer(max_body=MAX_BODY)
    assert framer.feed(head) == Incomplete(expects_continue=True)
    assert framer.feed(b"abc") == Complete(len(head) + 3)
