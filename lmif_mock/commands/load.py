"""``load``: put a receiver under the provider's load with Locust, headless, and count exactly.

This process never imports Locust (it would patch this process for gevent). It starts Locust in
processes of its own: one process, or a master and ``--workers`` worker processes (Locust's own
distributed mode; more workers may join from other machines). It passes the plan in through the
environment, reads the exact tally the master writes at the end, prints a summary, writes
``--json`` and ``--ids``, and exits non-zero when the receiver did not answer as it should.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import math
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from lmif_mock.hosts import BlockedHostError
from lmif_mock.load import LOCUSTFILE
from lmif_mock.load.plan import PROFILES, LoadPlan, LoadPlanError, parse_mix
from lmif_mock.load.results import PLAN_ENV, RESULT_ENV, read_result
from lmif_mock.load.tally import Tally
from lmif_mock.load.target import check_target

#: Seconds Locust gives users to finish the request they are in when the run time is up.
STOP_TIMEOUT = 35
#: Seconds the master waits for its workers to connect before giving up.
EXPECT_WORKERS_WAIT = 120
#: Seconds, beyond all of the above, the master may take to start and to wind down.
WIND_DOWN = 60
#: Exit status after Ctrl+C, as shells report a SIGINT.
INTERRUPTED = 130
_TIMESPAN = re.compile(r"^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


class UsageError(Exception):
    """A command-line mistake; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``load`` options."""
    parser.add_argument(
        "--target", required=True, help="the receiver's URL (loopback unless allowed)"
    )
    parser.add_argument("--secret", required=True, help="the receiver's webhook secret")
    parser.add_argument(
        "--users", type=int, default=10, help="concurrent Locust users (default 10)"
    )
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--run-time", default="30s", help="how long to send, e.g. 30s, 2m, 1h30m")
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="worker processes under a Locust master (default 0: one process)",
    )
    parser.add_argument(
        "--duplicates",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of events sent twice: half at once, half a little later",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="steady",
        help="steady: as fast as the users go; catch-up: replay an outage's retries",
    )
    parser.add_argument("--outage-hours", type=float, default=2.0, help="catch-up: outage length")
    parser.add_argument(
        "--events-per-hour",
        type=float,
        default=3600.0,
        help="catch-up: the provider's event rate, during and after the outage",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=60.0,
        help="catch-up: run the provider's clock N times faster (default 60)",
    )
    parser.add_argument(
        "--mix", help="event types and weights, e.g. box.created=3,detection.match_found=1"
    )
    parser.add_argument(
        "--bad-signatures",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of requests signed wrongly (expected 401, counted apart)",
    )
    parser.add_argument(
        "--max-error-rate",
        type=float,
        metavar="X",
        help="exit 0 while failures / requests <= X (default: any failure fails)",
    )
    parser.add_argument("--json", dest="json_path", metavar="PATH", help="write the summary here")
    parser.add_argument(
        "--ids", dest="ids_path", metavar="PATH", help="write each unique event id sent"
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also allow this non-loopback target host",
    )
    parser.add_argument(
        "--master-bind-host",
        default="127.0.0.1",
        help="with --workers: where the master listens for workers",
    )
    parser.add_argument(
        "--master-port",
        type=int,
        default=0,
        help="with --workers: the master's port (default: a free one)",
    )
    parser.add_argument(
        "--remote-workers",
        type=int,
        default=0,
        help="also wait for N workers started on other machines",
    )


def parse_run_time(text: str) -> int:
    """Seconds in ``30``, ``30s``, ``2m`` or ``1h30m`` (Locust's spelling)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    found = _TIMESPAN.match(text)
    if not text or found is None:
        raise UsageError(f"--run-time takes e.g. 30s, 2m or 1h30m, not {text!r}")
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def _plan(args: argparse.Namespace, path: str) -> LoadPlan:
    extra: dict[str, Any] = {}
    if args.mix is not None:
        extra["mix"] = parse_mix(args.mix)
    return LoadPlan(
        secret=args.secret,
        path=path,
        duplicates=args.duplicates,
        bad_signatures=args.bad_signatures,
        profile=args.profile,
        outage_hours=args.outage_hours,
        events_per_hour=args.events_per_hour,
        time_scale=args.time_scale,
        **extra,
    )


def _check(args: argparse.Namespace) -> tuple[LoadPlan, int, str]:
    """Validate everything before any process starts: plan, run time, origin of the target."""
    try:
        target = check_target(args.target, args.allow_host)
        plan = _plan(args, target.path)
    except (BlockedHostError, LoadPlanError) as exc:
        raise UsageError(str(exc)) from None
    run_time = parse_run_time(args.run_time)
    if run_time < 1:
        raise UsageError("--run-time must be at least 1 second")
    if args.users < 1:
        raise UsageError("--users must be at least 1")
    if not (math.isfinite(args.spawn_rate) and args.spawn_rate > 0):
        raise UsageError("--spawn-rate must be a positive number")
    if args.workers < 0 or args.remote_workers < 0:
        raise UsageError("--workers and --remote-workers cannot be negative")
    if args.remote_workers and not args.workers:
        raise UsageError("--remote-workers needs --workers 1 or more (a master to join)")
    rate = args.max_error_rate
    if rate is not None and not (math.isfinite(rate) and 0 <= rate <= 1):
        raise UsageError("--max-error-rate must be between 0 and 1")
    if not 0 <= args.master_port <= 65535:
        raise UsageError("--master-port must be a port number")
    return plan, run_time, target.origin


def _free_port(host: str) -> int:
    """A port free on ``host`` now, for the master (Locust cannot be told to pick one itself)."""
    probe_host = {"*": "0.0.0.0"}.get(host, host)
    family = socket.AF_INET6 if ":" in probe_host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((probe_host, 0))
            port: int = probe.getsockname()[1]
            return port
    except (OSError, OverflowError) as exc:
        raise UsageError(f"--master-bind-host {host!r} cannot be listened on: {exc}") from None


def _commands(args: argparse.Namespace, run_time: int, origin: str) -> list[list[str]]:
    """The master's (or single process's) command line first, then one per local worker."""
    locust = [sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--loglevel", "WARNING"]
    main = [
        *locust, "--headless", "--only-summary", "--host", origin,
        "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{run_time}s", "--stop-timeout", str(STOP_TIMEOUT),
        "--exit-code-on-error", "0",
    ]  # fmt: skip
    if not args.workers:
        return [main]
    port = args.master_port or _free_port(args.master_bind_host)
    main += [
        "--master", "--master-bind-host", args.master_bind_host,
        "--master-bind-port", str(port),
        "--expect-workers", str(args.workers + args.remote_workers),
        "--expect-workers-max-wait", str(EXPECT_WORKERS_WAIT),
    ]  # fmt: skip
    wildcard = {"*": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
    connect = wildcard.get(args.master_bind_host, args.master_bind_host)
    worker = [*locust, "--worker", "--master-host", connect, "--master-port", str(port)]
    return [main] + [worker] * args.workers


def _run_locust(commands: list[list[str]], env: dict[str, str], run_time: int, err: TextIO) -> int:
    """Run the master and workers to the end; returns the master's exit status.

    A local worker that dies early (it cannot import, cannot reach the master) ends the run at
    once rather than after the master's long wait for workers.
    """
    limit = EXPECT_WORKERS_WAIT + run_time + STOP_TIMEOUT + WIND_DOWN
    deadline = time.monotonic() + limit
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for command in commands:
            # A session of their own: Ctrl+C reaches this process only, which stops them all.
            processes.append(subprocess.Popen(command, env=env, start_new_session=True))
        master, workers = processes[0], processes[1:]
        while (code := master.poll()) is None:
            crashed = [w.returncode for w in workers if w.poll() not in (None, 0)]
            if crashed:
                print(f"error: a Locust worker exited with status {crashed[0]}", file=err)
                _kill(processes)
                return 1
            if time.monotonic() > deadline:
                print(f"error: Locust did not finish within {limit}s; stopped it", file=err)
                _kill(processes)
                return 1
            time.sleep(0.1)
        return code
    except KeyboardInterrupt:
        _kill(processes)  # nothing of an interrupted run is kept, so no need to wind down
        print("interrupted", file=err)
        return INTERRUPTED
    finally:
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            if process.poll() is None:
                process.kill()
                process.wait()


def _kill(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()


def failure_verdict(tally: Tally, max_error_rate: float | None) -> str | None:
    """Why the run fails (``None`` if it passes): any failure, or more than the rate allowed."""
    total = tally.requests + sum(tally.bad_signatures.values())
    if total == 0:
        return "no request was sent"
    failures = tally.failures()
    if max_error_rate is None:
        return (
            f"{failures:,} of {total:,} requests were not answered as expected"
            if failures
            else None
        )
    rate = failures / total
    if rate > max_error_rate:
        return f"error rate {rate:.2%} is above --max-error-rate {max_error_rate:.2%}"
    return None


def _print_summary(summary: dict[str, Any], out: TextIO) -> None:
    status = summary["status"]
    latency = summary["latency_ms"]
    print("lmif-mock load: summary", file=out)
    print(f"  events:     {summary['events']:,} unique, {summary['duplicates']:,} duplicate "
          f"copies, {summary['requests']:,} requests", file=out)  # fmt: skip
    print("  answers:    " + ", ".join(f"{name} {status[name]:,}" for name in status), file=out)
    print(f"  latency:    p50 {latency['p50']:g} ms, p95 {latency['p95']:g} ms, "
          f"p99 {latency['p99']:g} ms", file=out)  # fmt: skip
    print(
        f"  throughput: {summary['rps']:,} requests/s with {summary['workers']} worker(s)", file=out
    )
    if "bad_signatures" in summary:
        bad = summary["bad_signatures"]
        print(f"  bad signatures: {bad['sent']:,} sent, {bad['rejected_401']:,} answered 401, "
              f"{bad['other']:,} answered otherwise", file=out)  # fmt: skip
    out.flush()


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the load; 0 if every answer was as expected, 1 if not, 2 on usage errors."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        plan, run_time, origin = _check(args)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    if importlib.util.find_spec("locust") is None:
        print("error: the load command needs Locust: pip install 'lmif-mock[load]'", file=err)
        return 2
    try:
        commands = _commands(args, run_time, origin)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
    workers = f"{args.workers} worker process(es)" if args.workers else "one process"
    print(f"lmif-mock load: {args.users} user(s), {workers}, {plan.profile} profile, "
          f"{run_time}s against {args.target}", file=out, flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="lmif-load-") as scratch:
        result_path = Path(scratch) / "result.json"
        env = {**os.environ, PLAN_ENV: json.dumps(plan.to_dict()), RESULT_ENV: str(result_path),
               "PYTHONUNBUFFERED": "1"}  # fmt: skip
        code = _run_locust(commands, env, run_time, err)
        if code == INTERRUPTED:
            return INTERRUPTED
        if not result_path.exists():
            print(f"error: Locust ended (status {code}) without reporting counts", file=err)
            return 1
        tally, missing = read_result(result_path)
    summary = tally.summary(args.workers + args.remote_workers)
    _print_summary(summary, out)
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.ids_path:
        Path(args.ids_path).write_text("".join(f"{i}\n" for i in tally.event_ids), encoding="utf-8")
    if missing:
        print(f"error: {missing} worker(s) never reported; the counts are incomplete", file=err)
        return 1
    verdict = failure_verdict(tally, args.max_error_rate)
    if verdict is not None:
        print(f"FAILED: {verdict}", file=out, flush=True)
        return 1
    print("OK: every request was answered as expected", file=out, flush=True)
    return 0
