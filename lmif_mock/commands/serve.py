"""``serve``: the fake LMIF as a standalone endpoint for any language, like ``stripe listen``.

Prints the base URL and API key, then a pair of lines per delivery attempt. With ``--db`` the
state lives in SQLite: after a crash and restart every event and delivery is still there and
pending retries fire at their original due times.
"""

from __future__ import annotations

import argparse
import sys
import threading
from datetime import datetime, timezone
from typing import TextIO

from lmif_mock.api import default_plan
from lmif_mock.clock import Clock, RealClock, VirtualClock
from lmif_mock.commands.interrupt import wait_until_interrupted
from lmif_mock.ratelimit import PLAN_LIMITS, RateLimitError, RateLimits
from lmif_mock.records import Attempt, Delivery
from lmif_mock.server import LMIFServer, ServerError, generate_api_key
from lmif_mock.sqlite_store import SQLiteStore
from lmif_mock.store import Store
from lmif_mock.webhooks import WebhookError

DEFAULT_PORT = 8765


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``serve`` options (also the defaults of ``python -m lmif_mock`` with no command)."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any)"
    )
    parser.add_argument("--api-key", help="accept this key (default: generated and printed)")
    parser.add_argument("--environment", choices=["sandbox", "live"], default="sandbox")
    parser.add_argument("--db", help="keep state in this SQLite file (survives restarts)")
    parser.add_argument("--clock", choices=["real", "virtual"], default="real")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="run a real clock N times faster"
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
    if args.time_scale <= 0:
        raise ServerError("--time-scale must be positive")
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
        with lock:
            print(
                f"--> {delivery.event_type} {delivery.event_id} "
                f"[{delivery.id} attempt {attempt.number}]",
                file=out,
            )
            print(
                f"<-- {answer} POST {url} {attempt.duration * 1000:.0f} ms{note}",
                file=out,
                flush=True,
            )

    server.dispatcher.on_attempt(show)


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Serve until interrupted; returns the exit code."""
    store: Store | None = None
    saved_clock: datetime | None = None
    api_key = args.api_key
    sqlite: SQLiteStore | None = None
    if args.db:
        sqlite = SQLiteStore(args.db)
        store = sqlite
        saved_clock = sqlite.load_clock()
        if api_key is None:
            api_key = sqlite.get_meta("api_key") or generate_api_key(args.environment)
            sqlite.put_meta("api_key", api_key)
    try:
        server = LMIFServer(
            clock=_clock(args, saved_clock),
            seed=args.seed,
            store=store,
            allowed_hosts=args.allow_host,
            host=args.host,
            port=args.port,
            api_key=api_key,
            environment=args.environment,
            rate_limits=_rate_limits(args),
            plan=args.plan,
        )
        server.start()
    except ServerError as exc:
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
        return 2
    if sqlite is not None:
        server.dispatcher.on_attempt(lambda d, a: sqlite.save_clock(server.clock.now()))
    resumed = server.dispatcher.recover() if sqlite is not None else 0
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
    print(f"  dashboard: {server.url}/dashboard/   (log in with the API key)", file=out)
    print(f"  API docs:  {server.url}/openapi.json   (Ctrl+C to stop)", file=out, flush=True)
    if not args.quiet:
        _printer(out, server)

    try:
        wait_until_interrupted()
    finally:
        server.stop()
        if sqlite is not None:
            sqlite.close()
    print("lmif-mock: stopped", file=out, flush=True)
    return 0
