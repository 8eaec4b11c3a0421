"""The HTTP client writes a request's head itself, and writes what ``http.client`` writes.

A connection formats each header line once and reuses it, and takes the request line and the
``Host`` and ``Accept-Encoding`` lines from ``http.client`` itself once per target. Over generated
URLs, targets and headers (odd names and values, a caller's own ``Host``, ``Accept-Encoding`` or
``Content-Length`` in any case), the head is byte for byte the stdlib's, or both refuse it with
the same error, however often the same connection writes it.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.http_heads import RequestHeads
from lmif_mock.webhook_url import parse_webhook_url

_URLS = st.sampled_from([
    "http://127.0.0.1:8080/hook", "http://127.0.0.1/hook?a=1", "https://example.test/h",
    "https://example.test:8443/", "http://[::1]:9000/x", "http://[::1]/", "http://localhost:80/",
])  # fmt: skip
_TARGETS = st.sampled_from(["/hook", "/", "/a?b=c", "/with space", "/tab\there", "/%20"])
_NAMES = st.sampled_from([
    "Content-Type", "User-Agent", "X-LMIF-Signature", "Content-Length", "content-length",
    "HOST", "Host", "accept-encoding", "Accept-Encoding", "X-A", "bad name", ":x", "X\r\nY",
])  # fmt: skip
_VALUES = st.text(st.sampled_from("ab1 \t\r\n:é"), max_size=6) | st.sampled_from(["2", "x"])


def _stdlib_head(url: str, target: str, headers: Mapping[str, str], length: int) -> Any:
    """What ``http.client`` writes (the client's way before it wrote heads itself)."""
    parsed = parse_webhook_url(url)
    written: list[bytes] = []
    connection = http.client.HTTPConnection(parsed.host, parsed.port)
    connection.default_port = 443 if parsed.scheme == "https" else 80
    connection.send = written.append  # type: ignore[method-assign,assignment]
    names = {name.lower() for name in headers}
    try:
        connection.putrequest("POST", target, skip_host="host" in names,
                              skip_accept_encoding="accept-encoding" in names)  # fmt: skip
        for name, value in headers.items():
            connection.putheader(name, value)
        if "content-length" not in names:
            connection.putheader("Content-Length", str(length))
        connection.endheaders()
    except (ValueError, UnicodeError, http.client.HTTPException) as exc:
        return type(exc), str(exc)
    return b"".join(written)


def _our_head(heads: RequestHeads, target: str, headers: Mapping[str, str], length: int) -> Any:
    try:
        return heads.write(target, headers, length)
    except (ValueError, UnicodeError, http.client.HTTPException) as exc:
        return type(exc), str(exc)


@settings(max_examples=400, deadline=None)
@given(
    url=_URLS,
    requests=st.lists(
        st.tuples(_TARGETS, st.dictionaries(_NAMES, _VALUES, max_size=5), st.integers(0, 10**6)),
        min_size=1,
        max_size=4,
    ),
)
def test_every_head_is_the_one_http_client_writes(
    url: str, requests: list[tuple[str, dict[str, str], int]]
) -> None:
    parsed = parse_webhook_url(url)
    heads = RequestHeads(parsed, 443 if parsed.scheme == "https" else 80)
    for target, headers, length in requests * 2:  # twice: the remembered lines are reused
        assert _our_head(heads, target, headers, length) == _stdlib_head(
            url, target, headers, length
        )


def test_a_refused_header_is_refused_every_time_not_remembered() -> None:
    heads = RequestHeads(parse_webhook_url("http://127.0.0.1/"), 80)
    for _ in range(2):
        with pytest.raises(ValueError, match="Invalid header value"):
            heads.write("/", {"X-A": "a\r\nInjected: 1"}, 0)
