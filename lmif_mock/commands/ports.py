"""Ports on the command line: refused early when impossible, explained plainly when taken."""

from __future__ import annotations

import argparse
import errno
import socket


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free port) to 65535; anything else is refused."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 = any free port)")
    return port


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, said plainly, or ``None`` if it looks free.

    Asked before the server binds, so the answer names the real cause (the port is taken, the
    address is not this machine's) rather than an exit status from deep inside the server.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another lmif-mock?); stop it or "
                    "choose another with --port (--port 0 picks a free one)"
                )
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None
