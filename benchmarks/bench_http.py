"""HTTP delivery against raw ``http.client`` keep-alive posting the same bytes to the same
receiver, from one thread and from several; and the transport alone against ``http.client`` and
urllib3's ``HTTPConnectionPool`` (what the fake used before), interleaved round by round.

Run: ``python -m benchmarks.bench_http`` (``--quick`` for a smoke run). The receiver is a stdlib
HTTP/1.1 keep-alive server with Nagle's algorithm off (otherwise every response stalls ~40 ms).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import urllib3

from lmif_mock import FakeLMIF, sign
from lmif_mock.transports import HTTPTransport, OutgoingRequest


class _KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAlive)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _threads(work: Callable[[int], None], threads: int, per_thread: int) -> float:
    """Seconds for ``threads`` threads each doing ``per_thread`` operations."""
    barrier = threading.Barrier(threads + 1)

    def run() -> None:
        barrier.wait()
        work(per_thread)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started


def measure(count: int, threads: int) -> dict[str, float]:
    with receiver() as url:
        fake = FakeLMIF(seed=0, max_workers=threads)
        fake.webhooks.create(url, ["*"], "bench")
        fake.emit("violation.detected")
        body = fake.deliveries()[0].body
        headers = {"Content-Type": "application/json", "X-LMIF-Signature": sign(body, "bench")}
        port = int(url.split(":")[2].split("/")[0])

        def by_hand(n: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(n):
                connection.request("POST", "/hook", body=body, headers=headers)
                connection.getresponse().read()
            connection.close()

        def through_fake(n: int) -> None:
            for _ in range(n):
                fake.emit("violation.detected")

        per_thread = count // threads
        baseline = _threads(by_hand, threads, per_thread)
        ours = _threads(through_fake, threads, per_thread)
        ok = all(d.status == "succeeded" for d in fake.deliveries())
        fake.close()
    total = per_thread * threads
    return {
        "by_hand_rps": total / baseline,
        "fake_rps": total / ours,
        "ratio": ours / baseline,
        "all_succeeded": float(ok),
    }


def transport_overhead(per_round: int, rounds: int) -> dict[str, float]:
    """Microseconds per POST of the same bytes to the same keep-alive receiver, three ways,
    interleaved round by round (median): raw ``http.client``, the fake's ``HTTPTransport``
    (parse cached, allowlist per connection, whole-exchange deadline, capped read), and
    urllib3's lower-level ``HTTPConnectionPool.urlopen`` (what the fake used before)."""
    body = b'{"id": "evt_bench", "type": "box.created", "data": {}}' * 8
    headers = {"Content-Type": "application/json", "X-LMIF-Signature": sign(body, "bench")}
    with receiver() as url:
        port = int(url.split(":")[2].split("/")[0])
        raw = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        transport = HTTPTransport()
        pool = urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False)
        request = OutgoingRequest(url, body, headers)

        def by_hand() -> None:
            raw.request("POST", "/hook", body=body, headers=headers)
            raw.getresponse().read()

        def ours() -> None:
            transport.send(request, 30)

        def urllib3_pool() -> None:
            pool.urlopen("POST", "/hook", body=body, headers=headers, redirect=False,
                         retries=False, timeout=30, preload_content=True)  # fmt: skip

        ways = {"http.client": by_hand, "HTTPTransport": ours, "urllib3 pool": urllib3_pool}
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(rounds):
            for name, way in ways.items():
                started = time.perf_counter()
                for _ in range(per_round):
                    way()
                samples[name].append((time.perf_counter() - started) / per_round * 1e6)
        raw.close()
        transport.close()
        pool.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    count = 400 if args.quick else 4000
    per_post = transport_overhead(50 if args.quick else 200, 5 if args.quick else 15)
    base = per_post["http.client"]
    print(
        "HTTP transport alone, us per POST (median of interleaved rounds): "
        + ", ".join(f"{name} {value:.0f} ({base / value:.2f}x)" for name, value in per_post.items())
    )
    for threads in (1, 4):
        figures = measure(count, threads)
        assert figures["all_succeeded"], "a delivery failed during the benchmark"
        print(
            f"HTTP delivery, {threads} thread(s): fake {figures['fake_rps']:,.0f} deliveries/s "
            f"(build, sign, send, record); raw http.client keep-alive "
            f"{figures['by_hand_rps']:,.0f} posts/s; time ratio {figures['ratio']:.2f}x"
        )


if __name__ == "__main__":
    main()
