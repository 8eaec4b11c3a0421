"""Whether headers can go on the wire as they are.

A transcript is JSON a person may edit by hand before replaying it: a header name that is not an
HTTP token, or a CR, LF or NUL in a value, would split the request (or be refused by the HTTP
client halfway through a replay), so replay checks each request's headers first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def unsendable_header(headers: Mapping[str, str]) -> str | None:
    """Why these headers cannot go on the wire (a hand-edited transcript may hold a name that is
    not a token, or a CR, LF or NUL in a value, which would split the request); None if they can.
    """
    for name, value in headers.items():
        if not _TOKEN.fullmatch(name):
            return f"header name {name!r} is not an HTTP token; not sent"
        if any(c in value for c in "\r\n\0") or (not value.isascii() and not _latin1(value)):
            return f"header {name!r} has a CR, LF, NUL or non-Latin-1 character; not sent"
    return None


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
