"""What polling for answers costs where it cannot help: a receiver in a thread of this process.

Run: ``python -m benchmarks.bench_polling`` (``--quick`` for a smoke run).

A werkzeug development server in a thread of the test process (what pytest-httpserver and live
server fixtures do) cannot answer while the sending thread polls, and it opens a new connection
for every request. The polling must learn that per receiver and stop: emits to such a receiver
with polling on, against the same with polling off, rounds taking turns (median), and how often
the polling ran.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import lmif_mock.answer_polling
from lmif_mock import FakeLMIF
from tests.receivers import wsgi_server


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]


def threaded_receiver(per_round: int, rounds: int) -> dict[str, float]:
    """Seconds per emit with polling on and off, and the times the polling ran."""
    able = lmif_mock.answer_polling.CAN_SPIN
    samples: dict[str, list[float]] = {"on": [], "off": []}
    with wsgi_server(_app) as base:
        fakes = {name: FakeLMIF(seed=0) for name in samples}
        for fake in fakes.values():
            fake.webhooks.create(base + "/hook", ["*"], "bench")
        try:
            for _ in range(rounds):
                for name, fake in fakes.items():
                    lmif_mock.answer_polling.CAN_SPIN = able and name == "on"
                    started = time.perf_counter()
                    for _ in range(per_round):
                        fake.emit("box.created")
                    samples[name].append((time.perf_counter() - started) / per_round)
        finally:
            lmif_mock.answer_polling.CAN_SPIN = able
        client = fakes["on"].dispatcher.sender.http._client  # type: ignore[attr-defined]
        polled = sum(p.polled for p in client._polling.values())
        ok = all(d.status == "succeeded" for f in fakes.values() for d in f.deliveries())
        for fake in fakes.values():
            fake.close()
    assert ok, "a delivery failed during the benchmark"
    on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
    return {"on": on, "off": off, "ratio": off / on, "polled": polled,
            "emits": per_round * rounds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parser.parse_args()
    per_round, rounds = (50, 3) if args.quick else (200, 9)
    figures = threaded_receiver(per_round, rounds)
    print(
        "emits to a werkzeug server in a thread of this process: polling on "
        f"{figures['on'] * 1e6:.0f} us, off {figures['off'] * 1e6:.0f} us: throughput ratio "
        f"{figures['ratio']:.2f}x; "
        f"polled {figures['polled']:.0f} times in {figures['emits']:.0f} emits"
    )


if __name__ == "__main__":
    main()
