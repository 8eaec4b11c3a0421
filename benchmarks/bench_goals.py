"""The goals of issue 15, each as the figure the issue defines, measured in one run.

Run: ``python -m benchmarks.bench_goals`` (``--quick`` for a smoke run).

Ratios are throughput ratios (baseline time / our time, so higher is better), from rounds that
alternate between the two ways, median of the rounds: a shared machine's load then weighs on
both alike. Figures:

* in-process emit (build, encode, sign, deliver to a WSGI app) against werkzeug's test
  ``Client`` posting the same bytes to the same app (goal >= 0.8x);
* HTTP emit to a keep-alive receiver in another process, against a by-hand sender doing per
  event what a hand-written test sender does: ``json.dumps`` of an envelope, HMAC-SHA256, an
  ``http.client`` keep-alive POST (goal >= 0.9x);
* a query by webhook and by status over 100k stored deliveries against the same over 1k
  (goal: within 2x);
* memory kept per delivered event (goal < 2 KB), with ``tracemalloc``.

The 7-attempt schedule and the 30-day grace period come from ``bench_delivery`` and
``bench_world``; the per-test cost of ``lmif_server`` from ``bench_plugin``.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import hmac
import http.client
import json
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from werkzeug.test import Client

from lmif_mock import FakeLMIF, sign
from lmif_mock.records import Attempt, Delivery, Webhook

_RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
server.daemon_threads = True
print(server.server_port, flush=True)
server.serve_forever()
"""


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


def interleaved(
    ways: dict[str, Callable[[], None]], per_round: int, rounds: int
) -> dict[str, float]:
    """Median seconds per call of each way, over ``rounds`` rounds taking turns."""
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(rounds):
        for name, way in ways.items():
            started = time.perf_counter()
            for _ in range(per_round):
                way()
            samples[name].append((time.perf_counter() - started) / per_round)
    return {name: statistics.median(values) for name, values in samples.items()}


def in_process(per_round: int, rounds: int) -> dict[str, float]:
    fake = FakeLMIF(seed=0)
    fake.webhooks.create(_app, events=["*"], secret="bench")
    fake.emit("violation.detected")
    body = fake.deliveries()[0].body
    headers = {"Content-Type": "application/json", "X-LMIF-Signature": sign(body, "bench")}
    client = Client(_app)

    def by_hand() -> None:
        client.post("/", data=body, headers=headers).close()

    def ours() -> None:
        fake.emit("violation.detected")

    times = interleaved({"by_hand": by_hand, "ours": ours}, per_round, rounds)
    ok = all(d.status == "succeeded" for d in fake.deliveries())
    fake.close()
    assert ok, "an in-process delivery failed during the benchmark"
    return {**times, "ratio": times["by_hand"] / times["ours"]}


@contextmanager
def receiver_process() -> Iterator[int]:
    """A keep-alive HTTP receiver in a process of its own; yields its port."""
    process = subprocess.Popen([sys.executable, "-c", _RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield int(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def over_http(per_round: int, rounds: int) -> dict[str, float]:
    with receiver_process() as port:
        fake = FakeLMIF(seed=0)
        webhook = fake.webhooks.create(f"http://127.0.0.1:{port}/hook", ["*"], "bench")
        fake.emit("violation.detected")
        envelope = json.loads(fake.deliveries()[0].body)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        secret = b"bench"
        counter = iter(range(10**9))

        def by_hand() -> None:
            envelope["id"] = f"evt_{next(counter):012d}"
            envelope["meta"]["webhookId"] = webhook.id
            body = json.dumps(envelope, separators=(",", ":")).encode()
            digest = hmac.new(secret, body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-LMIF-Signature": "sha256=" + digest,
            }
            connection.request("POST", "/hook", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200

        def ours() -> None:
            fake.emit("violation.detected")

        times = interleaved({"by_hand": by_hand, "ours": ours}, per_round, rounds)
        ok = all(d.status == "succeeded" for d in fake.deliveries())
        connection.close()
        fake.close()
    assert ok, "an HTTP delivery failed during the benchmark"
    return {**times, "ratio": times["by_hand"] / times["ours"]}


def _filled(stored: int) -> tuple[FakeLMIF, str]:
    """A fake holding ``stored`` deliveries over 100 webhooks, 10 of them failed, all to one
    webhook; returns it and that webhook's id."""
    fake = FakeLMIF(seed=0)
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    ok = Attempt(1, at, 200, None, 0.001)
    bad = Attempt(1, at, 500, "http_error", 0.001)
    webhooks = [f"wh_{n:04d}" for n in range(100)]
    for webhook_id in webhooks:
        fake.store.put_webhook(Webhook(webhook_id, "http://127.0.0.1/", ("*",), "s", at))
    quiet = "wh_quiet"
    fake.store.put_webhook(Webhook(quiet, "http://127.0.0.1/", ("*",), "s", at))
    for n in range(stored):
        failed = n % (stored // 10) == 0
        delivery = Delivery(
            f"dlv_{n:012d}",
            f"evt_{n:012d}",
            "box.created",
            quiet if failed else webhooks[n % 100],
            at,
        )
        fake.store.put_delivery(
            delivery.with_attempt(bad if failed else ok, "failed" if failed else "succeeded", None)
        )
    return fake, quiet


def query_scaling(rounds: int) -> dict[str, float]:
    """Seconds per query of the 10 deliveries of one webhook, and of the 10 failed ones."""
    figures: dict[str, float] = {}
    for stored in (1_000, 100_000):
        fake, quiet = _filled(stored)

        def by_webhook(fake: FakeLMIF = fake, quiet: str = quiet) -> None:
            assert len(fake.deliveries(webhook_id=quiet)) == 10

        def by_status(fake: FakeLMIF = fake) -> None:
            assert len(fake.deliveries(status="failed")) == 10

        times = interleaved({"webhook": by_webhook, "status": by_status}, 200, rounds)
        figures[f"webhook_{stored}"] = times["webhook"]
        figures[f"status_{stored}"] = times["status"]
        fake.close()
    figures["webhook_ratio"] = figures["webhook_100000"] / figures["webhook_1000"]
    figures["status_ratio"] = figures["status_100000"] / figures["status_1000"]
    return figures


def memory_per_event(count: int) -> float:
    """Bytes still held per delivered event (one webhook, first attempt succeeded)."""
    fake = FakeLMIF(seed=0)
    fake.webhooks.create(_app, events=["*"], secret="bench")
    fake.emit("box.created")  # warm every cache first
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for _ in range(count):
        fake.emit("violation.detected")
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(fake.deliveries()) == count + 1
    fake.close()
    return (after - before) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    per_round, rounds = (100, 5) if args.quick else (300, 15)
    local = in_process(per_round, rounds)
    print(
        f"in-process emit: ours {local['ours'] * 1e6:.0f} us, werkzeug test Client posting the "
        f"same bytes {local['by_hand'] * 1e6:.0f} us: throughput ratio {local['ratio']:.2f}x "
        "(goal >= 0.8x)"
    )
    remote = over_http(per_round, rounds)
    print(
        f"HTTP emit to a keep-alive receiver in another process: ours "
        f"{remote['ours'] * 1e6:.0f} us, by-hand sender (json.dumps, HMAC, http.client) "
        f"{remote['by_hand'] * 1e6:.0f} us: throughput ratio {remote['ratio']:.2f}x "
        "(goal >= 0.9x)"
    )
    scaling = query_scaling(rounds)
    print(
        "query over 100k stored deliveries vs over 1k: by webhook "
        f"{scaling['webhook_100000'] * 1e6:.1f} us vs {scaling['webhook_1000'] * 1e6:.1f} us "
        f"({scaling['webhook_ratio']:.2f}x), by status {scaling['status_100000'] * 1e6:.1f} us "
        f"vs {scaling['status_1000'] * 1e6:.1f} us ({scaling['status_ratio']:.2f}x) "
        "(goal: within 2x)"
    )
    per_event = memory_per_event(500 if args.quick else 3000)
    print(f"memory per delivered event: {per_event / 1024:.2f} KB (goal < 2 KB)")


if __name__ == "__main__":
    main()
