"""Per-test cost of the ``lmif_server`` fixture, against doing the same delivery by hand.

Run: ``python -m benchmarks.bench_plugin`` (``--quick`` for a smoke run).

Generated test files of N tests each, run by pytest in a subprocess; each test's setup, call and
teardown durations (pytest's own timings) are summed and the median taken, so pytest's
collection and start-up, and the noise of a shared machine, stay out of the figures. The files:
an empty test (the baseline pytest cost), a test that only takes ``lmif_server``, a test that
serialises and signs an event and posts it with werkzeug's test ``Client`` to a WSGI app (by
hand), and a test that does the same through ``lmif_server`` (webhook, emit, sign, deliver,
record). Per-test figures subtract the empty test's median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

APP = """
def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]
"""

BODIES = {
    "empty": "def test_{n}(n):\n    pass\n",
    "by_hand": textwrap.dedent(
        """
        def test_{n}(n):
            body = json.dumps(dict(EVENT, id=f"evt_{{n}}"), separators=(",", ":")).encode()
            digest = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
            headers = {{"Content-Type": "application/json", "X-LMIF-Signature": "sha256=" + digest}}
            response = CLIENT.post("/", data=body, headers=headers)
            assert response.status_code == 200
        """
    ),
    "fixture_only": "def test_{n}(n, lmif_server):\n    assert lmif_server.running\n",
    "lmif_server": textwrap.dedent(
        """
        def test_{n}(n, lmif_server):
            lmif_server.webhooks.create(app, ["box.created"], "secret")
            event = lmif_server.emit("box.created")
            assert lmif_server.deliveries(event_id=event.id)[0].status == "succeeded"
        """
    ),
}
HEADER = {
    "empty": "",
    "by_hand": APP
    + textwrap.dedent(
        """
        import hashlib, hmac, json
        from werkzeug.test import Client
        CLIENT = Client(app)
        EVENT = {"id": "", "type": "box.created", "createdAt": "2024-01-15T10:00:00Z",
                 "data": {"boxId": "box_1", "identityName": "Ada Lovelace", "policy": "MONETIZE"},
                 "meta": {"apiVersion": "v1", "webhookId": "wh_1"}}
        """
    ),
    "fixture_only": "",
    "lmif_server": APP,
}


CONFTEST = """
import json

TOTALS = {}


def pytest_runtest_logreport(report):
    TOTALS[report.nodeid] = TOTALS.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    with open("durations.json", "w") as out:
        json.dump(list(TOTALS.values()), out)
"""


def _run(directory: Path, kind: str, count: int) -> float:
    """Median seconds per test (setup + call + teardown) for ``count`` tests of ``kind``."""
    path = directory / f"test_{kind}.py"
    # One parametrized test, so file size (and assertion-rewriting time) does not grow with N.
    parametrize = f"import pytest\n@pytest.mark.parametrize('n', range({count}))\n"
    path.write_text(HEADER[kind] + parametrize + BODIES[kind].format(n="all"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            str(path),
        ],
        cwd=directory,
        check=True,
        capture_output=True,
    )
    durations: list[float] = json.loads((directory / "durations.json").read_text())
    return statistics.median(durations)


def measure(count: int, repeats: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        (directory / "pytest.ini").write_text("[pytest]\n")
        (directory / "conftest.py").write_text(CONFTEST)
        best = {kind: min(_run(directory, kind, count) for _ in range(repeats)) for kind in BODIES}
    empty = best["empty"]
    return {
        "fixture_us": (best["fixture_only"] - empty) * 1e6,
        "by_hand_us": (best["by_hand"] - empty) * 1e6,
        "lmif_server_us": (best["lmif_server"] - empty) * 1e6,
        "ratio": (best["lmif_server"] - empty) / max(best["by_hand"] - empty, 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer tests and runs")
    args = parser.parse_args()
    count, repeats = (200, 1) if args.quick else (1000, 3)
    figures = measure(count, repeats)
    print(
        f"per-test cost over an empty test (median of {count} tests, best of {repeats} runs): "
        "lmif_server (webhook + emit + signed delivery + record) "
        f"{figures['lmif_server_us']:.0f} us; "
        f"by hand (sign + werkzeug test client post) {figures['by_hand_us']:.0f} us; "
        f"ratio {figures['ratio']:.2f}x; the lmif_server fixture alone (reset per test) "
        f"{figures['fixture_us']:.0f} us"
    )
    extra = (figures["lmif_server_us"] - figures["by_hand_us"]) / 1e3
    print(f"lmif_server + webhook + one in-process delivery: {extra:+.2f} ms per test over the "
          "same by hand (goal <= +0.5 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
