"""A whole 30-day grace period on the virtual clock: detection, reminders, ending, expiry, each
event signed and delivered in-process; wall time, and how much faster than real time.

Run: ``python -m benchmarks.bench_world`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from lmif_mock import FakeLMIF


def _app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [b"ok"]


def measure(count: int) -> dict[str, float]:
    fake = FakeLMIF(seed=0)
    walls = []
    for n in range(count):
        fake.reset()
        fake.webhooks.create(_app, ["*"])
        started = time.perf_counter()
        box = fake.world.box_identity(f"Bench Star {n}", policy="LICENSE")
        fake.world.detect_violation(box.id)
        fake.clock.advance(timedelta(days=30))
        walls.append(time.perf_counter() - started)
        assert [e.type for e in fake.events()][-1] == "grace_period.expired"
    wall = statistics.median(walls)
    events = len(fake.events())
    fake.close()
    return {
        "wall_ms": wall * 1e3,
        "events": events,
        "speedup": timedelta(days=30).total_seconds() / wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer runs")
    args = parser.parse_args()
    figures = measure(20 if args.quick else 200)
    print(
        f"30-day grace period on the virtual clock ({figures['events']:.0f} events delivered): "
        f"{figures['wall_ms']:.2f} ms wall, {figures['speedup']:,.0f}x faster than real time"
    )


if __name__ == "__main__":
    main()
