"""``serve``: the fake LMIF as a standalone endpoint for any language, like ``stripe listen``.

Prints the base URL and API key, then a pair of lines per delivery attempt, and a line with the
way to retry a delivery that failed for good. With ``--db`` the state lives in SQLite: after a
crash and restart every event and delivery is still there and pending retries fire at their
original due times. Delivery is at least once: an attempt the crash interrupted was never
recorded, so it is made again after the restart and the receiver may see it twice.

Mistakes in the options and unusable ``--db`` files are usage errors (exit 2) explained in one
line; a port that cannot be bound exits 1, saying why.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import threading
from datetime import datetime, timezone
from typing import Any, TextIO

from lmif_mock.clock import Clock, RealClock, VirtualClock
from lmif_mock.commands.console import printable
from lmif_mock.commands.interrupt import wait_until_interrupted
from lmif_mock.commands.ports import port_number, port_problem
from lmif_mock.durable import DurableServer
from lmif_mock.http.app import default_plan
from lmif_mock.http.ratelimit import PLAN_LIMITS, RateLimitError, RateLimits
from lmif_mock.records import Attempt, Delivery
from lmif_mock.server import LMIFServer, ServerError
from lmif_mock.sqlite_store import DatabaseFileError, SQLiteStore
from lmif_mock.unretryable import why_not_retryable
from lmif_mock.webhooks import WebhookError

DEFAULT_PORT = 8765
#: Where the README's examples point a receiver, used in the first-step hint.
EXAMPLE_RECEIVER = "http://127.0.0.1:3000/webhooks/lmif"


def time_scale(text: str) -> float:
    """An argparse type: how many times faster than the wall clock; a finite number above 0."""
    try:
        scale = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(scale) or scale <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a speed-up (a finite number above 0)")
    return scale


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options (also the defaults of ``python -m lmif_mock`` with no command)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port_number, default=DEFAULT_PORT,
        help=f"port (default {DEFAULT_PORT}; 0 = any)",
    )  # fmt: skip
    parser.add_argument("--api-key", help="accept this key (default: generated and printed)")
    parser.add_argument("--environment", choices=["sandbox", "live"], default="sandbox")
    parser.add_argument("--db", help="keep state in this SQLite file (survives restarts)")
    parser.add_argument("--clock", choices=["real", "virtual"], default="real")
    parser.add_argument(
        "--time-scale", type=time_scale, default=1.0, help="run a real clock N times faster"
    )
    parser.add_argument("--seed", type=int, help="fix ids and data (default: unpredictable)")
    parser.add_argument(
        "--forward-to",
        action="append",
        default=[],
        metavar="URL",
        help="subscribe URL to every event and print its secret (repeatable)",
    )
    parser.add_argument("--secret", help="secret for --forward-to webhooks (default: generated)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="also deliver to HOST (exact, or *.domain); loopback is always allowed",
    )
    parser.add_argument(
        "--plan",
        choices=list(PLAN_LIMITS),
        default=None,
        help="the account's plan: its documented rate limits apply (default Sandbox in the "
        "sandbox environment, Standard in live; Basic: batch identity checks answer "
        "INSUFFICIENT_TIER)",
    )
    parser.add_argument("--rate-limit", type=int, help="requests per minute (default: the plan's)")
    parser.add_argument(
        "--rate-limit-per-day", type=int, help="requests per day (default: the plan's)"
    )
    parser.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="count requests (X-RateLimit-* headers) but never answer RATE_LIMITED",
    )
    parser.add_argument("--quiet", action="store_true", help="no line per delivery attempt")


def _rate_limits(args: argparse.Namespace) -> RateLimits | bool:
    """The plan's documented limits unless overridden (custom numbers) or switched off."""
    if args.no_rate_limits:
        return False
    if args.rate_limit is None and args.rate_limit_per_day is None:
        return True
    plan = PLAN_LIMITS[args.plan or default_plan(args.environment)]
    try:
        return RateLimits(
            args.rate_limit if args.rate_limit is not None else plan.per_minute,
            args.rate_limit_per_day if args.rate_limit_per_day is not None else plan.per_day,
        )
    except RateLimitError as exc:
        raise ServerError(f"--rate-limit: {exc}") from None


def _limits_text(server: LMIFServer) -> str:
    limiter = server.api.limiter
    limits = limiter.limits
    daily = f", {limits.per_day:,}/day" if limits.per_day is not None else ""
    rule = "then RATE_LIMITED" if limiter.enforced else "counted, never enforced"
    return f"{server.api.plan} plan, {limits.per_minute:,}/min{daily} ({rule})"


def _clock(args: argparse.Namespace, saved: datetime | None) -> Clock:
    if args.clock == "virtual":
        return VirtualClock(saved)
    start = None
    if saved is not None and args.time_scale != 1:
        start = max(saved, datetime.now(timezone.utc))
    return RealClock(scale=args.time_scale, start=start)


def _printer(out: TextIO, server: LMIFServer) -> None:
    lock = threading.Lock()

    def show(delivery: Delivery, attempt: Attempt) -> None:
        webhook = server.store.get_webhook(delivery.webhook_id)
        url = webhook.url if webhook else delivery.webhook_id
        answer = str(attempt.status_code) if attempt.status_code is not None else attempt.error
        note = "" if attempt.succeeded else f"  ({attempt.error}: {attempt.message})"
        if delivery.status == "pending" and delivery.next_attempt_at is not None:
            note += f"  next attempt at {delivery.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}"
        lines = [
            f"--> {printable(delivery.event_type)} {printable(delivery.event_id)} "
            f"[{delivery.id} attempt {attempt.number}]",
            f"<-- {printable(answer)} POST {printable(url)} {attempt.duration * 1000:.0f} ms"
            f"{printable(note)}",
        ]
        if delivery.status == "failed" and not attempt.succeeded:
            lines += _gave_up(delivery, server)
        with lock:
            print("\n".join(lines), file=out, flush=True)

    server.dispatcher.on_attempt(show)


def _gave_up(delivery: Delivery, server: LMIFServer) -> list[str]:
    """What to print when a delivery has failed for good: that it did, and how to retry it (or
    why it cannot be)."""
    attempts = delivery.attempt_count
    why_not = why_not_retryable(delivery, server.store)
    if why_not is not None:
        return [f"xxx {delivery.id} failed for good; no retry: {printable(why_not)}"]
    return [
        f"xxx {delivery.id} failed for good after {attempts} attempt{'s' * (attempts != 1)}; "
        "retry it with:",
        f"    python -m lmif_mock retry {delivery.id} --server {server.url} "
        f"--api-key {shlex.quote(server.api_key)}",
        f"    or the Retry button at {server.url}/dashboard/events/{printable(delivery.event_id)}",
    ]


def _first_steps(server: LMIFServer, out: TextIO) -> None:
    """With no webhook yet, the two commands that get a receiver its first event."""
    key = shlex.quote(server.api_key)
    auth = shlex.quote(f"Authorization: Bearer {server.api_key}")
    body = shlex.quote(f'{{"url": "{EXAMPLE_RECEIVER}", "events": ["*"]}}')
    print("  no webhook yet; point one at your receiver (the answer holds its secret), then send:",
          file=out)  # fmt: skip
    print(f"    curl -s {server.url}/v1/lmif/webhooks -H {auth} \\", file=out)
    print(f"      -H 'Content-Type: application/json' -d {body}", file=out)
    print(f"    python -m lmif_mock trigger box.created --server {server.url} --api-key {key}",
          file=out)  # fmt: skip


def _open_database(args: argparse.Namespace, server_options: dict[str, Any]) -> LMIFServer:
    """The server on ``--db``: records, keys, policy and clock as the file left them."""
    database = SQLiteStore(args.db)
    try:
        return DurableServer(
            store=database,
            clock=_clock(args, database.load_clock()),
            api_key=args.api_key,
            **server_options,
        )
    except BaseException:
        database.close()
        raise


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Serve until interrupted; returns the exit code."""
    problem = None if args.port == 0 else port_problem(args.host, args.port)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    options: dict[str, Any] = {
        "seed": args.seed,
        "allowed_hosts": args.allow_host,
        "host": args.host,
        "port": args.port,
        "environment": args.environment,
        "plan": args.plan,
    }
    try:
        options["rate_limits"] = _rate_limits(args)
        if args.db:
            server = _open_database(args, options)
        else:
            server = LMIFServer(clock=_clock(args, None), api_key=args.api_key, **options)
    except DatabaseFileError as exc:
        print(f"error: --db: {exc}", file=sys.stderr)
        return 2
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        server.start()
    except ServerError as exc:
        server.close()
        _close_database(server)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    forwarded = []
    try:
        for url in args.forward_to:
            existing = [w for w in server.webhooks.list() if w.url == url]
            forwarded.append(
                existing[0] if existing else server.webhooks.create(url, ["*"], args.secret)
            )
    except WebhookError as exc:
        print(f"error: --forward-to: {exc}", file=sys.stderr)
        server.stop()
        _close_database(server)
        return 2
    resumed = server.dispatcher.recover() if args.db else 0
    clock_text = (
        "virtual (advance it with POST /_mock/clock/advance)"
        if args.clock == "virtual"
        else ("real" if args.time_scale == 1 else f"real, {args.time_scale:g}x faster")
    )
    print(f"lmif-mock: fake LMIF API at {server.url}", file=out)
    print(f"  API key:   {server.api_key}", file=out)
    print(f"  clock:     {clock_text}", file=out)
    print(f"  limits:    {_limits_text(server)}", file=out)
    if args.db:
        print(f"  database:  {args.db} ({resumed} pending deliveries resumed)", file=out)
    for webhook in forwarded:
        print(f"  forwarding every event to {webhook.url}", file=out)
        print(f"  webhook secret: {webhook.secret}", file=out)
    if not server.webhooks.list():
        _first_steps(server, out)
    print(f"  dashboard: {server.url}/dashboard/   (log in with the API key)", file=out)
    print(f"  API docs:  {server.url}/openapi.json   (Ctrl+C to stop)", file=out, flush=True)
    if not args.quiet:
        _printer(out, server)

    try:
        wait_until_interrupted()
    finally:
        server.stop()
        _close_database(server)
    print("lmif-mock: stopped", file=out, flush=True)
    return 0


def _close_database(server: LMIFServer) -> None:
    if isinstance(server, DurableServer):
        server.database.close()
