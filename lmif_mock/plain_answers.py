"""A receiver's answer read in one go when it is plain; anything else is left to ``http.client``.

Almost every answer a webhook gets is a few header lines with a ``Content-Length`` and a short
body, arriving in one segment. ``http.client`` reads such an answer line by line through a
buffered file object made for each answer, parses the head with general rules, then reads the
body: a fifth of an HTTP delivery's Python time, run on cold caches just after the wait. Here
the bytes are taken from the socket as they come and the whole answer is matched at once.

What counts as plain is deliberately narrow: HTTP/1.0 or 1.1, a final status (200 to 999),
CRLF line ends, header lines of one name and one value each, a head no longer than
``http.client``'s line limit, a digits-only ``Content-Length`` no larger than the cap, no
``Transfer-Encoding``. Anything else (a 1xx, chunked or unframed bodies, folded lines, bare LF,
odd status lines, an answer cut short) is handed to ``http.client`` together with the bytes
already read, so its rules and its errors decide exactly as before
(``tests/test_plain_answers.py`` compares the two over generated answers, split anywhere).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from lmif_mock.exchanges import TransportError

#: The status line and head of a plain answer, up to and including the blank line. Every part
#: can match a given text one way only (a value cannot start with the blank its leading
#: whitespace is made of; a name cannot hold the colon after it), so a head that fails to match
#: fails in linear time: with ``[ \t]*[^\r\n]*`` both could take the same blank, and twenty
#: header lines then a bad one made the engine try a million splits, holding the GIL.
_PLAIN_HEAD = re.compile(
    rb"HTTP/1\.([01]) ([2-9][0-9][0-9])(?: [^\r\n]*)?\r\n"
    rb"((?:[\x21-\x39\x3b-\x7e]+:[ \t]*(?:[^ \t\r\n][^\r\n]*)?\r\n){0,99})\r\n"
)
_DIGITS = re.compile(r"[0-9]{1,15}")
#: ``http.client``'s longest line; a head within it has no line over it.
_MAX_HEAD = 65536
#: What one read asks the socket for: an ordinary answer in one piece.
_READ_SIZE = 16384


class PlainAnswer(NamedTuple):
    """A complete answer read the quick way (a tuple: made on every delivery, where a frozen
    dataclass's ``__init__`` costs twice as much)."""

    status: int
    headers: dict[str, str]
    body: bytes
    #: Whether the connection can carry another exchange (``http.client``'s rule, and nothing
    #: unread after the body).
    reusable: bool


def _end_of_head(data: bytes) -> bool:
    """Whether ``data`` holds a blank line by ``http.client``'s rules (CRLF or LF ends)."""
    return b"\n\r\n" in data or b"\n\n" in data


def read_answer(receive: Callable[[int], bytes], cap: int) -> PlainAnswer | bytes:
    """The answer, if plain; else every byte read so far, for ``http.client`` to read first.

    ``receive(n)`` is the socket's ``recv`` under the exchange's deadline (it raises when the
    deadline passes; that error is the caller's to classify, as with ``http.client``)."""
    data = receive(_READ_SIZE)
    if data and not _end_of_head(data):
        # The head comes in pieces: joined once at the end, and only each new piece (with the
        # two bytes before it) searched, so a receiver dribbling bytes costs linear time.
        pieces, size, tail = [data], len(data), data[-2:]
        while size <= _MAX_HEAD:
            more = receive(_READ_SIZE)
            if not more:
                # http.client would take "HTTP/1.1 200 OK" then a close as a 200 with no body;
                # the provider's client, like any strict one, fails an answer cut off mid-head.
                raise TransportError(
                    "invalid_response",
                    "the receiver closed the connection before the end of the answer's head",
                )
            pieces.append(more)
            size += len(more)
            if _end_of_head(tail + more):
                break
            tail = (tail + more)[-2:]
        data = b"".join(pieces)
    end = data.find(b"\r\n\r\n")
    if end < 0 or end + 4 > _MAX_HEAD:
        return data  # not a CRLF head, or too long to be one: http.client's rules decide
    head = _PLAIN_HEAD.fullmatch(data, 0, end + 4)
    if head is None:
        return data
    headers: dict[str, str] = {}
    first: dict[str, str] = {}
    # Every line is known plain now (``name:`` blanks ``value`` CRLF): split, not matched again.
    for line in data[head.start(3) : head.end(3)].split(b"\r\n")[:-1]:
        raw_name, _, raw_value = line.partition(b":")
        name = raw_name.lower().decode("ascii")
        value = raw_value.lstrip(b" \t").decode("iso-8859-1")
        headers[name] = value
        first.setdefault(name, value)
    if "transfer-encoding" in first:
        return data
    status = int(head[2])
    if status in (204, 304):
        length = 0
    else:
        declared = first.get("content-length")
        if declared is None or _DIGITS.fullmatch(declared) is None:
            return data
        length = int(declared)
        if length > cap:
            return data
    start = head.end()
    have = len(data) - start
    if have < length:  # the rest of the body, in as few reads as it comes in
        pieces = [data]
        while have < length:
            more = receive(max(length - have, _READ_SIZE))
            if not more:
                return b"".join(pieces)  # cut short: http.client says how
            pieces.append(more)
            have += len(more)
        data = b"".join(pieces)
    body = data[start : start + length]
    closing = _closes(head[1] == b"1", first)
    return PlainAnswer(status, headers, body, not closing and have == length)


def _closes(http11: bool, first: dict[str, str]) -> bool:
    """``http.client.HTTPResponse._check_close``, on each header's first value."""
    connection = first.get("connection")
    if http11:
        return connection is not None and "close" in connection.lower()
    if first.get("keep-alive"):
        return False
    if connection and "keep-alive" in connection.lower():
        return False
    proxy = first.get("proxy-connection")
    return not (proxy and "keep-alive" in proxy.lower())
