"""Delivery engine figures, each a ratio against a baseline measured in the same run (the
in-process emit against werkzeug's test ``Client`` is ``bench_goals``', with rounds taking turns).

Run: ``python -m benchmarks.bench_delivery`` (``--quick`` for a smoke run).

* the provider's whole 7-attempt retry schedule (34 h 36 min) against a receiver that always
  fails, on a virtual clock: wall time per delivery, and how many times faster than real time;
* starting and stopping an ``LMIFServer``, against a bare werkzeug server stopped with its
  default shutdown poll (what a fixture that starts a server per test pays).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from lmif_mock import FakeLMIF, RetryPolicy


def _app(status: str) -> Callable[..., list[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    return app


def _best(run: Callable[[], None], count: int, repeats: int) -> float:
    """Seconds per operation: the best of ``repeats`` timed batches of ``count`` (least noise)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(count):
            run()
        times.append((time.perf_counter() - started) / count)
    return min(times)


def full_schedule(count: int, repeats: int) -> dict[str, float]:
    app = _app("500 Internal Server Error")
    fake = FakeLMIF(seed=0)
    policy = RetryPolicy()
    per_delivery = []
    for _ in range(repeats):
        fake.reset()
        fake.webhooks.create(app, events=["*"])
        started = time.perf_counter()
        for _ in range(count):
            fake.emit("box.created")
        fake.clock.advance(policy.total_delay)
        per_delivery.append((time.perf_counter() - started) / count)
        assert all(d.status == "failed" and d.attempt_count == 7 for d in fake.deliveries())
    wall = statistics.median(per_delivery)
    fake.close()
    simulated = policy.total_delay.total_seconds()
    return {"wall_ms_per_delivery": wall * 1e3, "speedup_vs_real_time": simulated / wall}


def server_lifecycle(repeats: int) -> dict[str, float]:
    """Start + stop of an LMIFServer vs a bare werkzeug server on its default shutdown poll."""
    import threading

    from werkzeug.serving import make_server

    from lmif_mock import LMIFServer

    def bare() -> None:
        server = make_server("127.0.0.1", 0, _app("200 OK"))
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        server.shutdown()
        thread.join()
        server.server_close()

    def ours() -> None:
        LMIFServer().start().stop()

    baseline = _best(bare, 3, repeats)
    lifecycle = _best(ours, 3, repeats)
    return {"ours_ms": lifecycle * 1e3, "bare_ms": baseline * 1e3, "ratio": lifecycle / baseline}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small counts, for a smoke run")
    args = parser.parse_args()
    count, repeats = (200, 3) if args.quick else (2000, 5)
    schedule = full_schedule(count // 10, repeats)
    print(
        f"full 7-attempt schedule (34 h 36 min) on the virtual clock: "
        f"{schedule['wall_ms_per_delivery']:.2f} ms wall per delivery, "
        f"{schedule['speedup_vs_real_time']:,.0f}x faster than real time"
    )
    life = server_lifecycle(repeats)
    print(
        f"LMIFServer start+stop: {life['ours_ms']:.1f} ms; a bare werkzeug server with its default "
        f"0.5 s shutdown poll: {life['bare_ms']:.1f} ms; ratio {life['ratio']:.3f}x"
    )


if __name__ == "__main__":
    main()
