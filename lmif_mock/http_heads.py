"""The heads of an HTTP/1.1 exchange, written and read as ``http.client`` does, for less.

``http.client`` re-checks and re-encodes every request header on every request (8 us for a
webhook's four) and reads every answer's head with the email package's parser (13 us for three
lines), more than the rest of an exchange over a kept-alive connection costs in Python. Here a
connection formats each header line once and reuses it while its value stays the same
(:class:`RequestHeads`), and an answer whose header lines are all plain is read with one pattern
(:func:`parse_head`); everything else goes to the stdlib's own code. Both give byte for byte
what ``http.client`` gives, refusals included (``tests/test_request_head.py``,
``tests/test_response_head.py``).
"""

from __future__ import annotations

import email.parser
import http.client
import io
import re
from collections.abc import Mapping
from typing import Any

from lmif_mock.webhook_url import WebhookURL

#: One plain header line: a name of visible characters other than ``:``, the value on the same
#: line, no stray carriage return. Anything else (a folded line, a line without a name, a bare
#: ``\r`` that the email parser would split at) goes to the stdlib parser. The value cannot
#: start with a blank, so the blanks before it match one way only: with ``[ \t]*[^\r\n]*``
#: a 20,000-blank line that failed at its end took 3.7 s of backtracking.
_PLAIN_HEADER = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*((?:[^ \t\r\n][^\r\n]*)?)\r?\n")
#: The stdlib's limits on an answer's head (``http.client`` keeps them private).
_MAX_LINE = 65536
_MAX_HEADERS = 100


def _head_lines(fp: io.BufferedIOBase) -> list[bytes]:
    """The header lines of an answer up to its blank line, refused past the stdlib's limits."""
    lines: list[bytes] = []
    while True:
        line = fp.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise http.client.LineTooLong("header line")
        if line in (b"\r\n", b"\n", b""):
            return lines
        lines.append(line)
        if len(lines) >= _MAX_HEADERS:
            raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")


class _PlainHead(http.client.HTTPMessage):
    """Headers all read by the quick way: looked up without the email policy's sanitising,
    which only changes text holding undecodable bytes (surrogates), and text decoded as
    ISO-8859-1 holds none. ``http.client`` reads three headers of every answer, the client
    every header once."""

    def get(self, name: str, failobj: Any = None) -> Any:
        wanted = name.lower()
        for found, value in self.raw_items():
            if found.lower() == wanted:
                return value
        return failobj

    def items(self) -> list[tuple[str, Any]]:
        return list(self.raw_items())


def parse_head(fp: io.BufferedIOBase) -> http.client.HTTPMessage:
    """The answer's headers as ``http.client.parse_headers`` gives them, at a tenth of its cost
    when every line is plain (``http.client`` runs the email package's parser, 13 us for a
    three-line head, more than the rest of reading an answer); any other head goes to that
    parser, so the result is always the stdlib's."""
    lines = _head_lines(fp)
    message = _PlainHead()
    for raw in lines:
        plain = _PLAIN_HEADER.fullmatch(raw.decode("iso-8859-1"))
        if plain is None:
            text = b"".join(lines).decode("iso-8859-1")
            return email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
        message.set_raw(plain[1], plain[2])
    return message


class QuickResponse(http.client.HTTPResponse):
    """``http.client``'s answer, reading its head with :func:`parse_head`; the rest (status
    line, chunked bodies, lengths, whether the connection stays open) is the stdlib's rules."""

    def begin(self) -> None:
        if self.headers is not None:
            return
        version, status, reason = self._read_status()
        while 100 <= status < 200 and status != 101:
            # An interim answer (100 Continue, 102 Processing, 103 Early Hints): skipped, as the
            # provider's client skips them; http.client only skips 100 and takes 102 as final.
            _head_lines(self.fp)
            version, status, reason = self._read_status()
        self.code = self.status = status
        self.reason = reason.strip()
        if version in ("HTTP/1.0", "HTTP/0.9"):
            self.version = 10
        elif version.startswith("HTTP/1."):
            self.version = 11
        else:
            raise http.client.UnknownProtocol(version)
        self.headers = self.msg = parse_head(self.fp)
        encoding = self.headers.get("transfer-encoding")
        self.chunked = bool(encoding) and encoding.lower() == "chunked"
        self.chunk_left = None
        self.will_close = self._check_close()
        self.length = None
        length = self.headers.get("content-length")
        if length and not self.chunked:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared >= 0:
                self.length = declared
        no_body = status in (http.client.NO_CONTENT, http.client.NOT_MODIFIED)
        if no_body or 100 <= status < 200 or self._method == "HEAD":
            self.length = 0
        if not self.will_close and not self.chunked and self.length is None:
            self.will_close = True  # no length, not chunked: the body ends when the socket does


#: A header name ``http.client`` accepts, and a value it refuses (a line break not followed by
#: the folding whitespace); its own patterns are private, these are the same rules.
_LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*")
_ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])")
#: How many request preambles and header names a :class:`RequestHeads` remembers.
_REMEMBERED_LINES = 256


def header_line(name: str, value: str) -> bytes:
    """``name: value`` as ``http.client.putheader`` writes it, refused (``ValueError``) where it
    refuses: a name that is not a token or a value that could start another header."""
    encoded_name = name.encode("ascii")
    if _LEGAL_NAME.fullmatch(encoded_name) is None:
        raise ValueError(f"Invalid header name {encoded_name!r}")
    encoded_value = value.encode("latin-1")
    if _ILLEGAL_VALUE.search(encoded_value):
        raise ValueError(f"Invalid header value {encoded_value!r}")
    return encoded_name + b": " + encoded_value + b"\r\n"


class _HeadRecorder(http.client.HTTPConnection):
    """Formats a request line and the ``Host`` and ``Accept-Encoding`` lines with the stdlib's
    own code (which checks the target and writes the host, IPv6 brackets and all), without
    sending anything."""

    def __init__(self, url: WebhookURL, default_port: int) -> None:
        super().__init__(url.host, url.port)
        self.default_port = default_port
        self.written: list[bytes] = []

    def send(self, data: Any) -> None:
        self.written.append(data)

    def preamble(self, target: str, skip_host: bool, skip_accept_encoding: bool) -> bytes:
        self.written.clear()
        self.putrequest("POST", target, skip_host, skip_accept_encoding)
        self.endheaders()
        return b"".join(self.written)[:-2]  # without the blank line that ends the head


class RequestHeads:
    """The request heads of one connection (one origin), from lines formatted once."""

    def __init__(self, url: WebhookURL, default_port: int) -> None:
        self._url = url
        self._default_port = default_port
        self._preambles: dict[tuple[str, bool, bool], bytes] = {}
        #: Each header's last value and line: a signature changes every time, the rest never.
        self._lines: dict[str, tuple[str, bytes]] = {}

    def write(self, target: str, headers: Mapping[str, str], length: int) -> bytes:
        """The head ``http.client`` would write for a POST of ``headers`` and a body of
        ``length`` bytes to ``target`` (``Host``, ``Accept-Encoding: identity`` and
        ``Content-Length`` added unless given)."""
        skip_host = skip_accept_encoding = has_length = False
        for name in headers:
            if len(name) in (4, 14, 15):
                lowered = name.lower()
                skip_host = skip_host or lowered == "host"
                skip_accept_encoding = skip_accept_encoding or lowered == "accept-encoding"
                has_length = has_length or lowered == "content-length"
        key = (target, skip_host, skip_accept_encoding)
        preamble = self._preambles.get(key)
        if preamble is None:
            preamble = _HeadRecorder(self._url, self._default_port).preamble(*key)
            if len(self._preambles) >= _REMEMBERED_LINES:
                self._preambles.clear()
            self._preambles[key] = preamble
        if not has_length:
            headers = {**headers, "Content-Length": str(length)}
        lines = self._lines
        written: list[bytes] = []
        for name, value in headers.items():
            last = lines.get(name)
            if last is not None and last[0] == value:
                written.append(last[1])
                continue
            line = header_line(name, value)
            if len(lines) >= _REMEMBERED_LINES:
                lines.clear()
            lines[name] = (value, line)
            written.append(line)
        return preamble + b"".join(written) + b"\r\n"
