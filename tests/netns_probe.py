"""Run inside a fresh network and mount namespace (``unshare -rn --mount``) by ``test_netns.py``.

It puts 10.0.0.1 on the namespace's own ``lo``, binds a listener there that counts every
connection, bind-mounts a hosts file that maps names to 10.0.0.1, and then aims every trick at it
through every way the fake sends: creating a webhook (refused), the transport used directly
(the connect-time guard, with no create-time check in front), and ``trigger --to``. It prints one
JSON object: for each trick, how many connections reached 10.0.0.1. Nothing here can leave the
namespace: it has no interface but ``lo``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from lmif_mock import FakeLMIF
from lmif_mock.retry import RetryPolicy
from lmif_mock.transports import HTTPTransport, OutgoingRequest, TransportError
from lmif_mock.webhooks import WebhookError
from tests.test_hosts import LMIF, TRICKS

OUTSIDE = "10.0.0.1"
#: Names the bind-mounted hosts file sends to the outside address: the loopback aliases (as on a
#: machine whose hosts file lacks them and whose DNS answers), and plain names.
OUTSIDE_NAMES = [
    "localhost",
    "localhost.localdomain",
    "ip6-localhost",
    "outside.test",
    "hooks.test",
]
NAME_TRICKS = [
    "http://localhost:{port}/",
    "http://localhost.:{port}/",
    "http://LOCALHOST.:{port}/",
    "http://localhost.localdomain:{port}/",
    "http://localhost.localdomain.:{port}/",
    "http://ip6-localhost:{port}/",
    "http://outside.test:{port}/",
]


class Counter:
    """A listener on one address that answers 200 and counts connections."""

    def __init__(self, address: str, port: int = 0) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, port))
        self.sock.listen(64)
        self.port: int = self.sock.getsockname()[1]
        self.count = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            self.count += 1
            try:
                conn.settimeout(5)
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            finally:
                conn.close()


def run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


def set_hosts(path: str, address: str) -> None:
    with open(path, "w") as hosts:  # same inode: the bind mount shows the new text at once
        hosts.write(f"127.0.0.1 loopback-only.test\n{address} {' '.join(OUTSIDE_NAMES)}\n")


def counted(counter: Counter, action: Callable[[], Any]) -> int:
    before = counter.count
    with contextlib.suppress(WebhookError, TransportError):
        action()
    return counter.count - before


def main() -> None:
    run(["ip", "addr", "add", f"{OUTSIDE}/32", "dev", "lo"])
    run(["ip", "link", "set", "lo", "up"])
    hosts_file = tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False)  # noqa: SIM115
    hosts_file.close()
    set_hosts(hosts_file.name, OUTSIDE)
    run(["mount", "--bind", hosts_file.name, "/etc/hosts"])
    outside = Counter(OUTSIDE)
    port = outside.port
    loopback = Counter("127.0.0.1", port)
    policy = RetryPolicy(delays=[0, 60], timeout=5)
    results: dict[str, dict[str, Any]] = {}

    def create(url: str) -> None:
        fake = FakeLMIF(retry_policy=policy)
        fake.webhooks.create(url, events=["*"])
        fake.emit("box.created")
        fake.close()

    def direct(url: str) -> None:
        transport = HTTPTransport()
        try:
            transport.send(OutgoingRequest(url, b"{}", {}), 5)
        finally:
            transport.close()

    def trigger(url: str) -> None:
        subprocess.run(
            [*LMIF, "trigger", "box.created", "--to", url, "--secret", "s"],
            capture_output=True,
            timeout=60,
            check=False,
        )

    for trick in [*TRICKS, *NAME_TRICKS]:
        url = trick.format(port=port)
        results[url] = {
            "create": counted(outside, functools.partial(create, url)),
            "direct": counted(outside, functools.partial(direct, url)),
            "trigger": counted(outside, functools.partial(trigger, url)),
        }

    # A name that changes its answer between two attempts of one delivery.
    set_hosts(hosts_file.name, "127.0.0.1")
    fake = FakeLMIF(retry_policy=policy)
    fake.webhooks.create(f"http://localhost.localdomain:{port}/", events=["*"])
    before_outside, before_loopback = outside.count, loopback.count
    fake.emit("box.created", faults={"drop_after_response": 1})  # a 2xx 'lost': a retry follows
    set_hosts(hosts_file.name, OUTSIDE)
    fake.clock.advance(minutes=2)
    (delivery,) = fake.deliveries()
    results["rebinding"] = {
        "outside": outside.count - before_outside,
        "loopback": loopback.count - before_loopback,
        "errors": [a.error for a in delivery.attempts],
    }
    fake.close()

    # The controls: what is allowed does reach the listener, so the counts above mean something.
    allowed_address = FakeLMIF(allowed_hosts=[OUTSIDE], retry_policy=policy)
    allowed_address.webhooks.create(f"http://{OUTSIDE}:{port}/", events=["*"])
    allowed_name = FakeLMIF(allowed_hosts=["*.test"], retry_policy=policy)
    allowed_name.webhooks.create(f"http://hooks.test:{port}/", events=["*"])
    results["controls"] = {
        "allowed_address": counted(outside, lambda: allowed_address.emit("box.created")),
        "allowed_name": counted(outside, lambda: allowed_name.emit("box.created")),
        "statuses": [d.status for f in (allowed_address, allowed_name) for d in f.deliveries()],
    }
    print(json.dumps(results))
    sys.stdout.flush()
    os._exit(0)  # the listener threads are still accepting


if __name__ == "__main__":
    main()
