"""The one parse of a webhook URL: what the allowlist checks is exactly what the client dials.

URL parsers disagree at the edges (``http://10.0.0.1\\@127.0.0.1/`` is host ``127.0.0.1`` to
``urlsplit`` and ``10.0.0.1`` to a WHATWG parser; ``http://0x0a000001/`` is a name to one and an
address to another). A check made with one parser and a connection made with another is a hole.
So this parser is strict: it refuses every form on which common parsers could disagree
(backslashes, userinfo, percent-escapes or odd characters in the host, numeric hosts that are not
plain dotted quads, zone ids), and the result it returns is what the HTTP client connects to and
what it puts in the ``Host`` header.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from lmif_mock.errors import LMIFMockError

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\Z")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)\Z")
_DOTTED_QUAD_PART = re.compile(r"(?:0|[1-9][0-9]{0,2})\Z")
_URL_CHARS = re.compile(r"[!-~]*\Z")  # printable ASCII, no space


class InvalidWebhookURL(LMIFMockError, ValueError):
    """A webhook URL this parser refuses, with the reason in the message."""


@dataclass(frozen=True)
class WebhookURL:
    """A parsed webhook URL: the only description of where a delivery goes.

    ``host`` is lower case, without a trailing dot, and without brackets for IPv6; ``address``
    is set when the host is an IP literal (then no name is resolved). ``target`` is the request
    target sent on the request line (path and query; the fragment is never sent).
    """

    scheme: str
    host: str
    port: int
    target: str
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None

    @property
    def origin(self) -> tuple[str, str, int]:
        """What a kept-alive connection may be reused for."""
        return self.scheme, self.host, self.port


def parse_webhook_url(url: str) -> WebhookURL:
    """Parse ``url`` or raise :class:`InvalidWebhookURL` saying what is wrong with it."""
    if not isinstance(url, str):
        raise InvalidWebhookURL(f"a webhook URL must be a string, not {type(url).__name__}")
    if not _URL_CHARS.match(url):
        raise InvalidWebhookURL(
            f"not a valid URL: {url!r} (spaces, control and non-ASCII characters must be "
            "percent-encoded, and hosts written in their ASCII form)"
        )
    if "\\" in url:
        raise InvalidWebhookURL(f"not a valid URL: {url!r} (backslashes are not allowed)")
    scheme, separator, rest = url.partition("://")
    scheme = scheme.lower()
    if not separator or scheme not in DEFAULT_PORTS:
        shown = scheme if separator else url
        raise InvalidWebhookURL(f"webhook URLs must be http:// or https://, not {shown!r}")
    end = len(rest)
    for stop in "/?#":
        found = rest.find(stop)
        if found != -1:
            end = min(end, found)
    authority, remainder = rest[:end], rest[end:]
    if "@" in authority:
        raise InvalidWebhookURL(
            f"not a valid webhook URL: {url!r} (credentials in the URL are not supported)"
        )
    host_text, port = _split_port(authority, scheme, url)
    host, address = _parse_host(host_text, url)
    return WebhookURL(scheme, host, port, _request_target(remainder), address)


def _split_port(authority: str, scheme: str, url: str) -> tuple[str, int]:
    if authority.startswith("["):
        close = authority.find("]")
        if close == -1:
            raise InvalidWebhookURL(f"not a valid URL: {url!r} (unclosed '[' in the host)")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise InvalidWebhookURL(f"not a valid URL: {url!r} (junk after the IPv6 address)")
        port_text = after[1:] if after else None
    else:
        host, colon, port_text_or_empty = authority.partition(":")
        port_text = port_text_or_empty if colon else None
    if port_text is None:
        return host, DEFAULT_PORTS[scheme]
    if not port_text.isdigit() or not port_text.isascii():
        raise InvalidWebhookURL(f"not a valid URL: {url!r} (the port must be a number)")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise InvalidWebhookURL(f"not a valid URL: {url!r} (port {port} is out of range)")
    return host, port


def _parse_host(
    text: str, url: str
) -> tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address | None]:
    if not text:
        raise InvalidWebhookURL(f"webhook URL has no host: {url!r}")
    if text.startswith("["):
        inner = text[1:-1]
        if "%" in inner:
            raise InvalidWebhookURL(f"not a valid URL: {url!r} (IPv6 zone ids are not allowed)")
        try:
            v6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise InvalidWebhookURL(
                f"not a valid URL: {url!r} ({inner!r} is not an IPv6 address)"
            ) from None
        return str(v6), v6
    host = text.lower()
    if host.endswith("."):
        host = host[:-1]
    labels = host.split(".")
    if not all(_LABEL.match(label) for label in labels) or len(host) > 253:
        raise InvalidWebhookURL(f"not a valid URL: {url!r} ({text!r} is not a valid host name)")
    if _NUMERIC_LABEL.match(labels[-1]):
        # A host ending in a number is an IPv4 address to browsers and to inet_aton, in any of
        # a dozen spellings (167772161, 0x0a000001, 012.0.0.1, 10.1): accept only the one that
        # every parser reads the same way.
        if len(labels) != 4 or not all(_DOTTED_QUAD_PART.match(label) for label in labels):
            raise InvalidWebhookURL(
                f"not a valid URL: {url!r} (write IPv4 addresses as four decimal numbers "
                "without leading zeros, like 127.0.0.1)"
            )
        try:
            v4 = ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidWebhookURL(
                f"not a valid URL: {url!r} ({text!r} is not an IPv4 address)"
            ) from None
        return host, v4
    return host, None


def _request_target(remainder: str) -> str:
    without_fragment = remainder.partition("#")[0]
    if not without_fragment:
        return "/"
    if without_fragment.startswith("?"):
        return "/" + without_fragment
    return without_fragment
