"""The HTTP client reads an answer's head its own quick way and gets what ``http.client`` gets.

``parse_head`` replaces ``http.client.parse_headers`` (the email package's parser) on the hot
path; over generated heads, plain and odd (folded lines, lines without a name, bare carriage
returns, bytes past ASCII, too many or too long lines), both give the same headers or the same
error.
"""

from __future__ import annotations

import http.client
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.http_heads import parse_head

_NAMES = st.sampled_from(["Content-Length", "content-type", "Retry-After", "X-A", "Location"])
_ODD_NAMES = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=6)
_VALUES = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=12)
_SPACES = st.sampled_from(["", " ", "  ", "\t", " \t"])
_ENDINGS = st.sampled_from(["\r\n", "\n"])
_PLAIN_LINE = st.builds(lambda n, s, v, e: f"{n}:{s}{v}{e}", _NAMES, _SPACES,
                        st.from_regex(r"[ -~]*", fullmatch=True), _ENDINGS)  # fmt: skip
_ODD_LINE = st.builds(lambda n, s, v, e: f"{n}:{s}{v}{e}", _ODD_NAMES, _SPACES, _VALUES, _ENDINGS)
_FOLDED = st.builds(lambda v, e: f" {v}{e}", _VALUES, _ENDINGS)


def _both(head: bytes) -> tuple[object, object]:
    results: list[object] = []
    for parse in (http.client.parse_headers, parse_head):
        try:
            message = parse(io.BufferedReader(io.BytesIO(head)))
            results.append(
                (message.items(), [message.get(n) for n in ("content-length", "X-A", "x-a")])
            )
        except http.client.HTTPException as exc:
            results.append((type(exc), str(exc)))
    return results[0], results[1]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(_PLAIN_LINE | _ODD_LINE | _FOLDED, max_size=8), end=_ENDINGS | st.just(""))
def test_any_head_reads_as_the_stdlib_reads_it(lines: list[str], end: str) -> None:
    head = ("".join(lines) + end).encode("latin-1")
    stdlib, ours = _both(head + b"body")
    assert ours == stdlib


@settings(max_examples=100, deadline=None)
@given(lines=st.lists(_PLAIN_LINE, max_size=8))
def test_plain_heads_take_the_quick_way_and_agree(lines: list[str]) -> None:
    head = ("".join(lines) + "\r\n").encode("latin-1")
    stdlib, ours = _both(head)
    assert ours == stdlib


@pytest.mark.parametrize("count", [98, 99, 100, 101])
def test_the_header_count_limit_is_the_stdlibs(count: int) -> None:
    head = b"X-A: 1\r\n" * count + b"\r\n"
    stdlib, ours = _both(head)
    assert ours == stdlib


@pytest.mark.parametrize("length", [65533, 65534, 65535, 65536])
def test_the_line_length_limit_is_the_stdlibs(length: int) -> None:
    line = b"X-A: " + b"a" * (length - 7) + b"\r\n"
    stdlib, ours = _both(line + b"\r\n")
    assert ours == stdlib


def test_the_quick_way_returns_the_head_it_read_and_leaves_the_body() -> None:
    reader = io.BufferedReader(io.BytesIO(b"Content-Length: 2\r\nX-A:  b c \r\n\r\nok"))
    message = parse_head(reader)
    assert message.items() == [("Content-Length", "2"), ("X-A", "b c ")]
    assert message.get("content-length") == "2"
    assert reader.read() == b"ok"
