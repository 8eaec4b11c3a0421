"""Where a delivery may connect: the webhook's host is resolved at connect time, every time, and
only an address the :class:`~lmif_mock.hosts.HostPolicy` permits is connected to.

What is checked is the address the socket then connects to, not what the name meant when the
webhook was created, so a name re-pointed at a private address after the check (DNS rebinding)
gets nowhere. Resolution and connection are injectable (:data:`Resolver`, :data:`Dialer`) so tests
can play a resolver's answers without a DNS server.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable

from lmif_mock.exchanges import TransportError
from lmif_mock.hosts import HostPolicy, IPAddress
from lmif_mock.webhook_url import WebhookURL

#: ``(host, port)`` -> the addresses the name has now, in the order to try them.
Resolver = Callable[[str, int], list[IPAddress]]
#: ``(address, port, timeout)`` -> a connected socket; the one place a connection is opened.
Dialer = Callable[[IPAddress, int, float], socket.socket]


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses ``host`` has right now, asked of the system resolver every time."""
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM
    ):
        address = ipaddress.ip_address(str(sockaddr[0]).partition("%")[0])
        if address not in found:
            found.append(address)
    return found


def dial(address: IPAddress, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly ``address`` (no name is looked up here)."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(address), port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def _plain(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address as the IPv4 address it is (what the socket connects to)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def open_checked(
    url: WebhookURL, policy: HostPolicy, deadline: float, resolver: Resolver, dialer: Dialer
) -> socket.socket:
    """Connect to the first address of ``url``'s host that ``policy`` permits; refuse if none.

    The host is resolved here, at connect time, every time: what is checked is the address the
    socket then connects to, not what the name meant when the webhook was created.
    """
    if url.address is not None:
        candidates: list[IPAddress] = [url.address]
    else:
        try:
            candidates = _resolve_by(resolver, url.host, url.port, deadline)
        except (OSError, UnicodeError) as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise TransportError(
                "connection_error", f"could not resolve {url.host!r} ({exc})"
            ) from None
    permitted = [_plain(a) for a in candidates if policy.permits_connection(url, a)]
    if not permitted:
        shown = ", ".join(str(a) for a in candidates) or "nothing"
        raise TransportError(
            "blocked_host",
            f"not connecting to {url.host!r}: it resolves to {shown}, and only loopback "
            "addresses and hosts named with --allow-host (allowed_hosts=) are allowed",
        )
    last: OSError | None = None
    for address in permitted:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the attempt's deadline passed while connecting")
        try:
            return dialer(address, url.port, left)
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


def _resolve_by(resolver: Resolver, host: str, port: int, deadline: float) -> list[IPAddress]:
    """``resolver(host, port)`` within the deadline. The system resolver cannot be interrupted,
    so it runs on a daemon thread of its own that a slow DNS answer is left to."""
    outcome: list[list[IPAddress] | BaseException] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            outcome.append(resolver(host, port))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="lmif-resolve", daemon=True).start()
    if not done.wait(max(deadline - time.monotonic(), 0.0)):
        raise TimeoutError(f"resolving {host!r} took longer than the timeout")
    found = outcome[0]
    if isinstance(found, BaseException):
        raise found
    return found
