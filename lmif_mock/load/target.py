"""Where a load run may send: the project's host policy, applied before the first request.

The URL is parsed once, with the same strict parser the fake's deliveries use, and Locust is then
given the origin rebuilt from that parse, so the host checked is the host dialled. A loopback name
(``localhost``) is trusted only if every address it resolves to now is loopback; a host named with
``--allow-host`` (``allowed_hosts``) is trusted as named, as for ``serve``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from lmif_mock.hosts import BlockedHostError, HostPolicy


@dataclass(frozen=True)
class LoadTarget:
    """A checked target: ``origin`` for Locust's ``--host``, ``path`` for every POST."""

    origin: str
    path: str


def check_target(url: str, allowed_hosts: Iterable[str] = ()) -> LoadTarget:
    """``url`` split for Locust, if the host policy allows it; else :class:`BlockedHostError`."""
    policy = HostPolicy(allowed_hosts)
    parsed = policy.parse(url)
    if parsed.address is None and not policy.permits_name(parsed.host):
        try:
            found = socket.getaddrinfo(parsed.host, parsed.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise BlockedHostError(f"cannot resolve {parsed.host!r}: {exc}") from None
        for *_, sockaddr in found:
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if not policy.permits_connection(parsed, address):
                raise BlockedHostError(
                    f"{parsed.host!r} resolves to {address}, which is not loopback; "
                    "name the host with --allow-host to send there"
                )
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return LoadTarget(f"{parsed.scheme}://{host}:{parsed.port}", parsed.target or "/")
