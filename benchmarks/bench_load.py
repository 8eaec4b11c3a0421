"""Events per second ``python -m lmif_mock load`` reaches with 1 and 2 Locust workers.

Run: ``python -m benchmarks.bench_load`` (``--quick`` for short runs). Not part of
``python -m benchmarks``: it takes about two minutes (15 s runs, the best of two per setting).
The receiver is minimal (asyncio, keep-alive, answers 204 without parsing the body) and runs in
its own process, counting what it gets, so the figures are the load generator's. The baseline,
measured in the same run against the same receiver, is one ``http.client`` keep-alive
connection posting one signed event's bytes in a loop: what a single Python process sends with
no event building and no Locust at all.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lmif_mock.payloads import EventFactory
from lmif_mock.signing import SIGNATURE_HEADER, sign

SECRET = "lmif_whsec_bench"
ROOT = Path(__file__).resolve().parent.parent


async def _serve_minimal(count: list[int]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                count[0] += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # serve until stdin closes
    server.close()


def receiver_main() -> None:
    """The receiver process: prints its port, serves, prints how many requests it got."""
    count = [0]
    asyncio.run(_serve_minimal(count))
    print(count[0], flush=True)


class Receiver:
    """The minimal receiver in a subprocess."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.bench_load", "--receiver"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def close(self) -> int:
        """Stop it; returns how many requests it answered."""
        output, _ = self.process.communicate("", timeout=30)
        return int(output.split()[-1])


def baseline(port: int, seconds: float) -> float:
    """Requests per second of one keep-alive ``http.client`` loop posting fixed signed bytes."""
    body = EventFactory(0).build("detection.match_found").body
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, SECRET)}
    connection = http.client.HTTPConnection("127.0.0.1", port)
    sent = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        connection.request("POST", "/hook", body, headers)
        connection.getresponse().read()
        sent += 1
    connection.close()
    return sent / elapsed


def load_run(port: int, workers: int, seconds: int, users: int) -> dict[str, float]:
    """One ``load`` run; its --json summary."""
    with tempfile.TemporaryDirectory() as folder:
        summary_path = Path(folder) / "run.json"
        subprocess.run(
            [sys.executable, "-m", "lmif_mock", "load", "--target", f"http://127.0.0.1:{port}/hook",
             "--secret", SECRET, "--users", str(users), "--spawn-rate", "1000",
             "--run-time", f"{seconds}s", "--workers", str(workers), "--json", str(summary_path)],
            check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        summary: dict[str, float] = json.loads(summary_path.read_text())
        return summary


def measure(seconds: int, users: int, repeats: int) -> dict[str, float]:
    """Best of ``repeats`` runs each, interleaved (1, 2, 1, 2...) so a busy spell hits both."""
    receiver = Receiver()
    one: list[float] = []
    two: list[float] = []
    sent = 0
    try:
        base = max(baseline(receiver.port, min(seconds, 5)) for _ in range(repeats))
        for _ in range(repeats):
            for workers, results in ((1, one), (2, two)):
                summary = load_run(receiver.port, workers, seconds, users)
                results.append(summary["rps"])
                sent += int(summary["requests"])
    finally:
        received = receiver.close()
    return {
        "baseline_rps": base,
        "one_worker_rps": max(one),
        "two_workers_rps": max(two),
        "one_vs_baseline": max(one) / base,
        "two_vs_one": max(two) / max(one),
        "receiver_counted_all": float(received >= sent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="3-second runs")
    parser.add_argument("--users", type=int, default=20, help="Locust users per run (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting, best kept")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        receiver_main()
        return
    figures = measure(3 if args.quick else 15, args.users, 1 if args.quick else args.repeats)
    print(
        f"load, minimal receiver, {args.users} users: "
        f"1 worker {figures['one_worker_rps']:,.0f} events/s, "
        f"2 workers {figures['two_workers_rps']:,.0f} events/s "
        f"({figures['two_vs_one']:.2f}x); baseline http.client loop "
        f"{figures['baseline_rps']:,.0f} req/s (1 worker = {figures['one_vs_baseline']:.2f}x)"
    )
    if not figures["receiver_counted_all"]:
        print("warning: the receiver counted fewer requests than the runs reported sending")


if __name__ == "__main__":
    main()
