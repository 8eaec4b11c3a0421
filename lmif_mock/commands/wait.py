"""``wait``: block until deliveries on a running fake reach a state (a shell's ``wait_for``).

A script that drives ``serve`` (or a test in another language that shells out) waits here instead
of sleeping: one bounded long poll on ``GET /_mock/wait`` (or ``/_mock/wait/idle``).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, TextIO

from lmif_mock.commands.control_client import (
    ControlClient,
    ControlError,
    add_server_arguments,
    failed,
    server_missing,
)
from lmif_mock.http.wait_routes import MAX_LONG_POLL, WAIT_RETRY_AFTER
from lmif_mock.waiting import UNTIL


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``wait`` options."""
    parser.add_argument("--event", help="an event id (evt_...)")
    parser.add_argument("--type", dest="event_type", help="an event type")
    parser.add_argument("--webhook", help="a webhook id (wh_...)")
    parser.add_argument("--until", choices=UNTIL, help="the status to wait for (default settled)")
    parser.add_argument("--attempts", type=int, help="at least this many attempts")
    parser.add_argument("--count", default="1", help="how many deliveries, or 'all' (default 1)")
    parser.add_argument("--idle", action="store_true",
                        help="wait until nothing is in flight or pending instead")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0,
                        help=f"seconds, at most {MAX_LONG_POLL:g} (default 30)")  # fmt: skip
    add_server_arguments(parser)


def _query(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if args.idle:
        return "/_mock/wait/idle", {"timeout": args.timeout}
    given = {
        "eventId": args.event,
        "eventType": args.event_type,
        "webhookId": args.webhook,
        "until": args.until,
        "attempts": args.attempts,
        "count": args.count,
        "timeout": args.timeout,
    }
    return "/_mock/wait", {k: v for k, v in given.items() if v is not None}


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """0 when the wait was met, 1 when the timeout passed first (what was seen is printed) or
    the fake cannot be reached, 2 on usage errors (the fake refusing the query included)."""
    if server_missing(args, err):
        return 2
    path, query = _query(args)
    client = ControlClient(args.server, args.api_key)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            data = client.get(path, query, read_timeout=MAX_LONG_POLL + 30)
            break
        except ControlError as exc:
            # Too many others already wait (503): ask again within our own timeout, as told.
            if exc.status != 503 or deadline - time.monotonic() <= WAIT_RETRY_AFTER:
                return failed(exc, err)
            print(f"{exc}; asking again in {WAIT_RETRY_AFTER} s", file=err, flush=True)
            time.sleep(WAIT_RETRY_AFTER)
            query["timeout"] = round(max(0.0, deadline - time.monotonic()), 3)
    met = data["idle"] if args.idle else data["met"]
    if met:
        print("idle" if args.idle else f"met: {data['waitedFor']}", file=out)
        for delivery in data.get("deliveries", []):
            print(f"  {delivery['id']} {delivery['eventType']}: {delivery['status']}", file=out)
        return 0
    print(f"timed out after {args.timeout:g} s; saw:\n{data['seen']}", file=err)
    return 1
