"""What RFC 9112 asks of a request line and its ``Host`` header, checked before anything reads
the request.

werkzeug and the stdlib parser are lenient where the RFC is not: they serve ``get /x`` as if it
were ``GET``, a target without its leading slash, an HTTP/1.1 request with no ``Host``, and read
raw UTF-8 bytes in the path as Latin-1 (so ``/wh_é`` became ``/wh_Ã©``). A client that does any
of this works against the fake and breaks against a strict server in front of the real API, so
the fake refuses each one with a 400 that says what to send instead.
"""

from __future__ import annotations

import re

#: RFC 9110's token: what a method (and a header name) is made of.
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: The absolute form of a target (``http://host/path``), which servers must accept (RFC 9112 3.2.2).
_ABSOLUTE_FORM = re.compile(rb"[Hh][Tt][Tt][Pp][Ss]?://")
#: A Host value: RFC 3986's host (a bracketed IP literal, or a name or IPv4 address of unreserved,
#: sub-delim and percent-encoded characters), then an optional port.
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]*)(:[0-9]*)?")
#: The request line's shape, with the reason given when it is not.
_SHAPE = "the request line must be 'METHOD TARGET HTTP/1.1'"


def request_line_problem(line: bytes) -> str | None:
    """Why ``line`` is not a request line the server answers, or None when it is one.

    A line with no HTTP version (HTTP/0.9) would be answered without a status line, so it is
    refused like any other malformed line.
    """
    parts = line.rstrip(b"\r").split(b" ")
    if len(parts) != 3 or not all(parts) or not parts[2].startswith(b"HTTP/"):
        return _SHAPE
    method, target, _version = parts
    text = method.decode("latin-1")
    if not TOKEN.fullmatch(text):
        return f"the method {text[:40]!r} is not a method name"
    if text != text.upper():
        return f"methods are case-sensitive: send {text.upper()[:40]!r}, not {text[:40]!r}"
    return _target_problem(method, target)


def _target_problem(method: bytes, target: bytes) -> str | None:
    for at, byte in enumerate(target):
        if byte > 0x7E or byte < 0x21:
            return (
                f"the request target holds byte 0x{byte:02x} at position {at}: a target is "
                "ASCII, so percent-encode anything else (UTF-8 'é' is %C3%A9)"
            )
    if target.startswith(b"/") or _ABSOLUTE_FORM.match(target):
        return None
    if target == b"*" and method == b"OPTIONS":
        return None
    shown = target[:40].decode("ascii")
    return f"the request target must start with '/' (or be an absolute http(s) URL), not {shown!r}"


def host_problem(version: str, hosts: list[str] | None) -> str | None:
    """Why the ``Host`` values of a request of HTTP ``version`` are refused, or None.

    RFC 9112 section 3.2: an HTTP/1.1 request without ``Host``, any request with more than one,
    or one whose value is not a host and port, gets a 400.
    """
    if hosts is None:
        if version != "HTTP/1.1":
            return None  # HTTP/1.0 needs none; other versions are refused for the version
        return "an HTTP/1.1 request must have a Host header (RFC 9112, section 3.2)"
    if len(hosts) != 1:
        return "the Host header is given more than once"
    if not _HOST.fullmatch(hosts[0]):
        return f"the Host header is not a host and port: {hosts[0][:60]!r}"
    return None
