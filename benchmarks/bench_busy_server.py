"""How long ``GET /_mock/health`` takes while the fake is under the loads an outside tester used,
each as a ratio against health on the idle server measured in the same run.

Run: ``python -m benchmarks.bench_busy_server`` (``--quick`` for a smoke run with a smaller
session).

* 40 parallel emits to a receiver that accepts and never answers (once: 42 s for health);
* 40 parallel ``GET /_mock/transcript`` pages (and ``/v1/lmif/events`` pages) of a long session
  (once: the whole run, 50 MB an answer; health 36-85 s);
* 32 parallel dashboard pages of a webhook with every delivery of that session (once: 36 MB
  each; health 165 s).
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import urllib3

from lmif_mock import LMIFServer, VirtualClock

_POOL = urllib3.PoolManager(retries=False, maxsize=64, block=False)


def _ok(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def _health_seconds(url: str, samples: int) -> float:
    """The median time of ``samples`` health checks, one after the other."""
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        _POOL.request("GET", url + "/_mock/health", timeout=600)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def _load(count: int, send: Callable[[], object], *, repeat: bool = True) -> Iterator[None]:
    """``count`` threads sending requests while the block runs: again and again (``repeat``),
    or one each (requests that are held, such as emits to a receiver that never answers)."""
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            try:
                send()
            except urllib3.exceptions.HTTPError as exc:  # the old server dropped some of them
                print(f"  (a load request failed: {type(exc).__name__})")
            if not repeat:
                return

    threads = [threading.Thread(target=client, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # a benchmark, not a test: let the requests reach the server
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(600)


@contextmanager
def _hanging_receiver() -> Iterator[tuple[str, threading.Event]]:
    """A receiver on 127.0.0.1 that reads a request and answers only once released."""
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=hold, args=(conn,), daemon=True).start()

    def hold(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            release.wait(600)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", release
    finally:
        release.set()
        listener.close()


def _dashboard_cookie(url: str, key: str) -> str:
    login = _POOL.request("GET", url + "/dashboard/login", timeout=60)
    nonce = login.headers["Set-Cookie"].split(";", 1)[0]
    match = re.search(r'name=csrf value="([0-9a-f]{64})"', login.data.decode())
    assert match is not None
    done = _POOL.request(
        "POST", url + "/dashboard/login", body=urlencode({"api_key": key, "csrf": match.group(1)}),
        headers={"Cookie": nonce, "Content-Type": "application/x-www-form-urlencoded"},
        redirect=False, timeout=60,
    )  # fmt: skip
    return done.headers["Set-Cookie"].split(";", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    events = 2_000 if quick else 20_000
    samples = 5 if quick else 15
    with LMIFServer(clock=VirtualClock(), seed=1) as server:
        webhook = server.webhooks.create(_ok, events=["*"])
        for _ in range(events):
            server.emit("box.created")
        auth = {"Authorization": f"Bearer {server.api_key}"}
        _health_seconds(server.url, samples)  # warm: the first connection costs more
        idle = _health_seconds(server.url, samples)
        print(f"session: {events} events and deliveries; idle health {idle * 1000:.2f} ms")

        def get(path: str, headers: dict[str, str]) -> Callable[[], object]:
            return lambda: _POOL.request("GET", server.url + path, headers=headers, timeout=600)

        cookie = {"Cookie": _dashboard_cookie(server.url, server.api_key)}
        loads = {
            "40 transcript pages (limit 100)": (40, get("/_mock/transcript?limit=100", auth)),
            "40 event pages (limit 100, last page)": (
                40, get(f"/v1/lmif/events?limit=100&offset={events - 100}", auth)),
            "32 dashboard webhook pages": (32, get(f"/dashboard/webhooks/{webhook.id}", cookie)),
        }  # fmt: skip
        for name, (count, send) in loads.items():
            with _load(count, send):
                busy = _health_seconds(server.url, samples)
            print(f"{name}: health {busy * 1000:.2f} ms = {busy / idle:.1f}x idle")
        with _hanging_receiver() as (url, release):
            server.webhooks.update(webhook.id, url=url)
            emit = lambda: _POOL.request(  # noqa: E731
                "POST", server.url + "/_mock/events", body=b'{"type":"box.created"}',
                headers={**auth, "Content-Type": "application/json"}, timeout=600,
            )  # fmt: skip
            with _load(40, emit, repeat=False):
                busy = _health_seconds(server.url, samples)
                release.set()
            print(f"40 emits to a receiver that never answers: health {busy * 1000:.2f} ms = "
                  f"{busy / idle:.1f}x idle")  # fmt: skip


if __name__ == "__main__":
    main()
