"""A suite of tests using ``lmif_server``, run with pytest-xdist at 1 and 2 workers.

Run: ``python -m benchmarks.bench_xdist`` (``--quick`` for a smoke run). Each worker has its own
server; the figure is the ratio of wall times, start-up included (it is what a user waits for).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST_FILE = """
import pytest

def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("500 Internal Server Error", [])
    return [b"down"]

@pytest.mark.parametrize("n", range({count}))
def test_schedule(n, lmif_server):
    lmif_server.webhooks.create(app, ["*"])
    event = lmif_server.emit("violation.detected")
    lmif_server.clock.advance(hours=35)
    assert lmif_server.deliveries(event_id=event.id)[0].attempt_count == 7
"""


def _run(directory: Path, workers: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", str(workers)],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def measure(count: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        (directory / "pytest.ini").write_text("[pytest]\n")
        (directory / "test_suite.py").write_text(TEST_FILE.format(count=count))
        one = min(_run(directory, 1) for _ in range(repeats))
        two = min(_run(directory, 2) for _ in range(repeats))
    return {"one_s": one, "two_s": two, "ratio": two / one}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer tests")
    args = parser.parse_args()
    count, repeats = (200, 1) if args.quick else (2000, 2)
    figures = measure(count, repeats)
    print(
        f"{count} tests each running the full retry schedule through lmif_server: "
        f"{figures['one_s']:.1f} s with 1 xdist worker, {figures['two_s']:.1f} s with 2; "
        f"ratio {figures['ratio']:.2f}x"
    )


if __name__ == "__main__":
    main()
