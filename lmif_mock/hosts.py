"""Which hosts the fake may deliver to: loopback unless more are named, so it cannot be an SSRF.

A webhook URL arrives from outside (the API, a test generating URLs). Without this check the fake
could be told to POST into any network the machine can reach. Only literal loopback addresses and
``localhost`` are allowed by default; anything else must be named with ``--allow-host`` (or
``allowed_hosts=``), either exactly or as ``*.example.test`` for a domain and its subdomains.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit

from lmif_mock.errors import LMIFMockError

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class BlockedHostError(LMIFMockError, ValueError):
    """A URL the configuration does not allow the fake to deliver to."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback name or a literal loopback address (127.0.0.0/8, ::1)."""
    host = host.strip("[]").lower().rstrip(".")
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HostPolicy:
    """Loopback, plus the hosts named in ``allowed`` (exact names, or ``*.domain`` patterns)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = tuple(h.lower().rstrip(".") for h in allowed)

    def permits(self, host: str) -> bool:
        """Whether ``host`` may receive deliveries."""
        host = host.strip("[]").lower().rstrip(".")
        if is_loopback(host):
            return True
        for pattern in self.allowed:
            if pattern == "*":
                return True
            if pattern.startswith("*."):
                if host == pattern[2:] or host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False

    def check_url(self, url: str) -> str:
        """Return ``url`` if it is an http(s) URL to a permitted host, else raise a clear error."""
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError on a malformed port
        except ValueError as exc:
            raise BlockedHostError(f"not a valid URL: {url!r} ({exc})") from exc
        if parts.scheme not in ("http", "https"):
            raise BlockedHostError(f"webhook URLs must be http or https, not {parts.scheme!r}")
        host = parts.hostname
        if not host:
            raise BlockedHostError(f"webhook URL has no host: {url!r}")
        if not self.permits(host):
            raise BlockedHostError(
                f"delivery to {host!r} is not allowed: only loopback hosts are, unless "
                "named with --allow-host (allowed_hosts=)"
            )
        return url
