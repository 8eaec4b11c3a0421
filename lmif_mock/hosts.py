"""Which addresses the fake may deliver to: loopback unless more are named, so it cannot be an SSRF.

A webhook URL arrives from outside (the API, the dashboard, a test generating URLs). Without a
guard the fake could be told to POST into any network the machine can reach. The guard that
counts is at connect time: the HTTP client resolves the host itself and connects only to an
address this policy permits, on every new connection, so a name whose answer changes, or a
hosts file without ``localhost.localdomain``, cannot steer a request elsewhere. By default only
loopback addresses (127.0.0.0/8, ::1, and their IPv4-mapped forms) are permitted; hosts named
with ``--allow-host`` (``allowed_hosts=``) are permitted too, exactly (a name or an IP address)
or as ``*.example.test`` for a domain and its subdomains, and a permitted name may connect to
whatever it resolves to.

:meth:`HostPolicy.check_url` is the early check for creating a webhook: it refuses, with a
clear message, every URL that could not be delivered anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from lmif_mock.errors import LMIFMockError
from lmif_mock.webhook_url import InvalidWebhookURL, WebhookURL, parse_webhook_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: Names conventionally mapped to loopback. A URL may use them, but they are trusted only for
#: what they resolve to when a connection is made, never by name.
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


class BlockedHostError(LMIFMockError, ValueError):
    """A URL the configuration does not allow the fake to deliver to."""


def is_loopback_address(address: IPAddress) -> bool:
    """Whether connecting to ``address`` stays on this machine's loopback interface.

    ``::ffff:127.0.0.1`` is loopback too (a dual-stack socket reaches 127.0.0.1 through it),
    and ``::ffff:10.0.0.1`` is not, whatever ``is_loopback`` says about IPv6 on this Python.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address behind an IPv4-mapped IPv6 one, so both spellings compare equal."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _as_address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None


def _is_loopback_name(host: str) -> bool:
    return host in LOOPBACK_NAMES or host.endswith(".localhost")


class HostPolicy:
    """Loopback, plus the hosts named in ``allowed`` (names, ``*.domain`` patterns, addresses)."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = tuple(h.strip().lower().rstrip(".") for h in allowed)
        self.allow_all = "*" in self.allowed
        self._addresses = frozenset(
            _plain(a) for a in map(_as_address, self.allowed) if a is not None
        )
        self._names = frozenset(h for h in self.allowed if _as_address(h) is None)

    def permits(self, host: str) -> bool:
        """Whether ``host`` (a name or a literal address) is trusted without resolving it."""
        address = _as_address(host)
        if address is not None:
            return self.permits_address(address)
        return self.permits_name(host)

    def permits_name(self, host: str) -> bool:
        """Whether the name ``host`` was named by ``--allow-host``, so any address it has is
        trusted. Loopback names are not: what they resolve to is checked instead."""
        host = host.lower().rstrip(".")
        if self.allow_all:
            return True
        for pattern in self._names:
            if pattern.startswith("*."):
                if host == pattern[2:] or host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False

    def permits_address(self, address: IPAddress) -> bool:
        """Whether a connection may be made to ``address`` (for a host not named by pattern)."""
        return self.allow_all or is_loopback_address(address) or _plain(address) in self._addresses

    def permits_connection(self, url: WebhookURL, address: IPAddress) -> bool:
        """The connect-time decision: may ``url``'s client connect to ``address``?"""
        if url.address is None and self.permits_name(url.host):
            return True
        return self.permits_address(address)

    def parse(self, url: str) -> WebhookURL:
        """``url`` parsed and checked: its host is an address this policy permits, a name it
        permits, or a loopback name (checked again, by its addresses, when connecting)."""
        try:
            parsed = parse_webhook_url(url)
        except InvalidWebhookURL as exc:
            raise BlockedHostError(str(exc)) from None
        if parsed.address is not None:
            if self.permits_address(parsed.address):
                return parsed
        elif self.permits_name(parsed.host) or _is_loopback_name(parsed.host):
            return parsed
        raise BlockedHostError(
            f"delivery to {parsed.host!r} is not allowed: only loopback hosts are, unless "
            "named with --allow-host (allowed_hosts=)"
        )

    def check_url(self, url: str) -> str:
        """Return ``url`` if it is an http(s) URL to a permitted host, else raise a clear error."""
        self.parse(url)
        return url
