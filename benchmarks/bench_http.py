"""HTTP delivery against raw ``http.client`` keep-alive posting the same bytes to the same
receiver, from one thread and from several.

Run: ``python -m benchmarks.bench_http`` (``--quick`` for a smoke run). The receiver is a stdlib
HTTP/1.1 keep-alive server with Nagle's algorithm off (otherwise every response stalls ~40 ms).
"""

from __future__ import annotations

import argparse
import http.client
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from lmif_mock import FakeLMIF, sign


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer requests")
    args = parser.parse_args()
    count = 400 if args.quick else 4000
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
