"""Where an HTTP/1.1 request ends, from the bytes received so far, before a thread is spent on it.

The fake's server reads requests in one event loop and gives a worker thread only a request that
has fully arrived, so a client that sends its request slowly (or never finishes it) costs a few
kilobytes of memory, not a thread. This module is that loop's knowledge of HTTP: fed the
bytes of a connection as they come, is the request complete, still arriving, or already too
large to accept? Along the way the request line and ``Host`` are held to RFC 9112
(:mod:`~lmif_mock.http.serving.request_head_rules`). What the request *means* is left to
werkzeug's handler once it is complete.

Feeding is incremental (each byte is looked at about once), so a client dribbling its request a
byte at a time cannot make the loop rescan kilobytes per byte.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from lmif_mock.http.serving.request_head_rules import TOKEN, host_problem, request_line_problem

#: The largest request line plus headers the server accepts (the 64 KiB the issue names).
MAX_HEAD_BYTES = 64 * 1024
#: Control characters a header value must not hold (RFC 9110: NUL, CR and LF are never valid;
#: the rest would reach the apps, logs and the dashboard as they are). Tab is allowed.
_LINE_END = re.compile(r"\r?\n")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

#: A chunk-size line or trailer line longer than this is not HTTP the loop tries to follow.
_CHUNK_LINE_LIMIT = 1024


@dataclass(frozen=True)
class Incomplete:
    """More bytes are needed; ``expects_continue`` when the client waits for ``100 Continue``."""

    expects_continue: bool = False


@dataclass(frozen=True)
class Complete:
    """The request ends at byte ``length``; ``body_buffered`` says whether its body is in hand.

    ``body_buffered`` is false when the body is larger than the loop may hold, or framed in a way
    the loop does not follow: the worker then reads the rest from the socket under the request's
    deadline, and werkzeug and the application answer 413 or 400 as they see fit.
    """

    length: int
    body_buffered: bool = True


@dataclass(frozen=True)
class TooLarge:
    """The request line or the header block went past the head limit."""

    part: Literal["request line", "headers"]


@dataclass(frozen=True)
class BodyTooLarge:
    """A chunked body went past the body limit: refused whole, never cut to a prefix."""

    limit: int


@dataclass(frozen=True)
class BadFraming:
    """Where the request ends is ambiguous or unreadable, so it is refused rather than guessed.

    Two parsers disagreeing about where a body ends is how requests are smuggled, so anything
    the loop and werkzeug could read differently (two lengths, a length beside
    ``Transfer-Encoding``, a signed length, a request line with no HTTP version) is refused
    with 400; ``unsupported`` marks a transfer coding the server does not implement (501).
    """

    reason: str
    unsupported: bool = False


Framing = Incomplete | Complete | TooLarge | BodyTooLarge | BadFraming


class RequestFramer:
    """Accumulates one connection's bytes and says when they hold a whole request."""

    def __init__(self, *, max_body: int, max_head: int = MAX_HEAD_BYTES) -> None:
        self.max_body = max_body
        self.max_head = max_head
        self.data = bytearray()
        self._scanned = 0
        self._line_checked = False
        self._head_end: int | None = None
        self._result: Framing = Incomplete()
        self._chunked = False
        self._content_length = 0
        self._expects_continue = False
        self._chunk_at = 0
        self._chunk_body = 0
        self._in_trailers = False

    @property
    def head_complete(self) -> bool:
        """Whether the request line and headers have all arrived."""
        return self._head_end is not None

    def feed(self, chunk: bytes) -> Framing:
        """Add ``chunk``; the framing of everything received so far."""
        self.data += chunk
        if not isinstance(self._result, Incomplete):
            return self._result
        if self._head_end is None:
            self._result = self._find_head()
            if self._head_end is None or not isinstance(self._result, Incomplete):
                return self._result
        self._result = self._body()
        return self._result

    def _find_head(self) -> Framing:
        data = self.data
        start = max(0, self._scanned - 2)
        if not self._line_checked:
            line_end = data.find(b"\n", start, self.max_head)
            if line_end >= 0:
                self._line_checked = True
                problem = request_line_problem(bytes(data[:line_end]))
                if problem is not None:
                    return BadFraming(problem)
        ends = [at + 3 for at in (data.find(b"\n\r\n", start),) if at >= 0]
        ends += [at + 2 for at in (data.find(b"\n\n", start),) if at >= 0]
        self._scanned = len(data)
        end = min(ends) if ends else None
        if end is None and len(data) <= self.max_head:
            return Incomplete()
        if end is None or end > self.max_head:
            first_line_end = data.find(b"\n", 0, self.max_head)
            return TooLarge("request line" if first_line_end < 0 else "headers")
        self._head_end = end
        return self._read_fields(bytes(data[:end]))

    def _read_fields(self, head: bytes) -> Framing:
        # Lines end at LF (or CRLF) only, as the handler downstream reads them: str.splitlines()
        # also breaks at VT, FF, FS, GS, RS and NEL, which let a control character at the end of
        # a value slip past the check below (and "Content-Length: 22\x0b" read as 22 here only).
        lines = _LINE_END.split(head.decode("latin-1"))
        fields: dict[str, list[str]] = {}
        for line in lines[1:]:
            if not line:
                continue
            if line[0] in " \t":
                return BadFraming("a header line is folded onto the previous one")
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                return BadFraming(f"a header line is not 'Name: value': {line[:60]!r}")
            if not TOKEN.fullmatch(name):  # else how request smuggling starts
                return BadFraming(f"a header name holds characters a name cannot: {name[:60]!r}")
            if _CONTROL.search(value):
                return BadFraming(f"the {name[:60]} header's value holds a control character")
            fields.setdefault(name.lower(), []).append(value.strip())
        version = lines[0].rsplit(" ", 1)[-1] if lines else ""
        problem = host_problem(version, fields.get("host"))
        if problem is not None:
            return BadFraming(problem)
        encodings = fields.get("transfer-encoding")
        lengths = fields.get("content-length")
        if encodings is not None and lengths is not None:
            return BadFraming("both Transfer-Encoding and Content-Length are present")
        if encodings is not None:
            codings = [c.strip().lower() for c in ",".join(encodings).split(",")]
            if codings != ["chunked"]:
                if codings and codings[-1] == "chunked":
                    return BadFraming("only Transfer-Encoding: chunked is supported", True)
                return BadFraming("Transfer-Encoding must be exactly 'chunked'")
            self._chunked = True
        elif lengths is not None:
            if len(lengths) != 1:
                return BadFraming("Content-Length is given more than once")
            (text,) = lengths
            if not (text.isdigit() and text.isascii()):
                return BadFraming(f"Content-Length must be digits only, not {text[:40]!r}")
            # no 4,300-digit int() parse on request; anything past the limit is refused later
            self._content_length = int(text) if len(text) <= 18 else 10**18
        self._expects_continue = version == "HTTP/1.1" and any(
            value.lower() == "100-continue" for value in fields.get("expect", [])
        )
        self._chunk_at = self._head_end or 0
        return Incomplete()

    def _body(self) -> Framing:
        head_end = self._head_end or 0
        if self._chunked:
            framing = self._walk_chunks()
        elif self._content_length > self.max_body:
            return Complete(head_end, body_buffered=False)  # the API answers 413 at once
        elif len(self.data) >= head_end + self._content_length:
            return Complete(head_end + self._content_length)
        else:
            framing = Incomplete()
        if isinstance(framing, Incomplete) and self._expects_continue:
            return Incomplete(expects_continue=True)
        return framing

    def _walk_chunks(self) -> Framing:
        """Resume walking chunks where the last feed stopped."""
        data = self.data
        while True:
            at = self._chunk_at
            line_end = data.find(b"\n", at, at + _CHUNK_LINE_LIMIT)
            if line_end < 0:
                if len(data) - at >= _CHUNK_LINE_LIMIT:
                    return BadFraming(f"a chunk line is longer than {_CHUNK_LINE_LIMIT} bytes")
                return Incomplete()
            line = bytes(data[at:line_end])
            if self._in_trailers:
                if line.strip(b"\r") == b"":
                    return Complete(line_end + 1)
                self._chunk_at = line_end + 1
                continue
            size = _chunk_size(line)
            if size is None:
                return BadFraming("a chunk size is not hexadecimal digits")
            if size == 0:
                self._in_trailers = True
                self._chunk_at = line_end + 1
                continue
            if self._chunk_body + size > self.max_body:
                return BodyTooLarge(self.max_body)
            data_end = line_end + 1 + size
            if len(data) < data_end + 2:
                return Incomplete()
            terminator = bytes(data[data_end : data_end + 2])
            if terminator != b"\r\n":
                return BadFraming("a chunk is longer than its size says")
            self._chunk_body += size
            self._chunk_at = data_end + 2


def _chunk_size(line: bytes) -> int | None:
    text = line.split(b";", 1)[0].strip()
    if not text or len(text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in text):
        return None
    return int(text, 16)
