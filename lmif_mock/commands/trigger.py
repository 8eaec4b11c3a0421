"""``trigger``: send events, either through a running fake (``--server``) or straight to a
receiver (``--to URL --secret S``), the way ``stripe trigger`` does.

Sent straight, an event is stamped with the current time (a receiver that checks freshness would
otherwise reject it); ``--created-at`` fixes the time, which with ``--seed`` makes the bytes
reproducible.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from lmif_mock.commands.control_client import ControlClient, ControlError, add_server_arguments
from lmif_mock.errors import EncodingError, LMIFMockError
from lmif_mock.events import EVENT_TYPES, MAX_DATA_DEPTH, check_json_value, check_text
from lmif_mock.faults import SIGNATURE_FAULTS, FaultError, Faults
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.payloads import EventFactory, deep_merge
from lmif_mock.signing import SIGNATURE_HEADER
from lmif_mock.timestamps import parse_timestamp, utc
from lmif_mock.transports import USER_AGENT, HTTPTransport, OutgoingRequest, TransportError
from lmif_mock.wire import sign_body

#: How long one POST of ``--to`` may take in all, as the provider allows a receiver.
DIRECT_TIMEOUT = 30.0

MAX_COUNT = 100_000


class UsageError(Exception):
    """A command-line mistake; the message says which."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``trigger`` options."""
    parser.add_argument("type", help="event type, e.g. box.created")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override one data field, e.g. --set avatar.name=Ada (JSON values ok)",
    )
    parser.add_argument("--data", help="JSON object deep-merged into the generated data")
    parser.add_argument("--count", type=int, default=1, help="how many events (default 1)")
    parser.add_argument("--duplicates", type=int, default=0, help="extra copies, one after another")
    parser.add_argument("--concurrent", type=int, default=0, help="extra copies sent at once")
    parser.add_argument("--signature-fault", choices=sorted(SIGNATURE_FAULTS))
    parser.add_argument("--allow-unknown", action="store_true", help="allow an undocumented type")
    add_server_arguments(parser)
    parser.add_argument("--to", help="send straight to this receiver URL instead")
    parser.add_argument("--secret", help="the receiver's webhook secret, with --to")
    parser.add_argument("--seed", type=int, help="seed for the data, with --to")
    parser.add_argument(
        "--created-at",
        type=_timestamp,
        metavar="TIME",
        help="with --to: stamp events with this time (2024-01-15T10:00:00Z) instead of now",
    )
    parser.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                        help="with --to: also allow this non-loopback host")  # fmt: skip


def _timestamp(text: str) -> datetime:
    """An argparse type: a provider timestamp, ``2024-01-15T10:00:00Z``."""
    try:
        return parse_timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a timestamp like 2024-01-15T10:00:00Z"
        ) from None


def parse_overrides(sets: list[str], data: str | None) -> dict[str, Any]:
    """``--data`` and every ``--set a.b=value`` as one overrides object."""
    merged: dict[str, Any] = {}
    if data is not None:
        try:
            parsed = json.loads(data)
        except ValueError as exc:
            raise UsageError(f"--data is not valid JSON: {exc}") from None
        except RecursionError:
            raise UsageError(f"--data is nested deeper than {MAX_DATA_DEPTH} levels") from None
        if not isinstance(parsed, dict):
            raise UsageError("--data must be a JSON object")
        merged = parsed
    for item in sets:
        path, sep, text = item.partition("=")
        if not sep or not path or any(not part for part in path.split(".")):
            raise UsageError(f"--set takes PATH=VALUE (e.g. avatar.name=Ada), not {item!r}")
        try:
            value: Any = json.loads(text)
        except (ValueError, RecursionError):
            value = text
        nested: dict[str, Any] = {}
        cursor = nested
        *parents, leaf = path.split(".")
        for part in parents:
            cursor[part] = {}
            cursor = cursor[part]
        cursor[leaf] = value
        merged = deep_merge(merged, nested)
    # What Python's json reads but the wire cannot carry (NaN, 1e400, lone surrogates, nesting
    # past the cap) is refused here, in both modes, before anything is sent.
    try:
        check_json_value(merged, "data")
    except EncodingError as exc:
        raise UsageError(str(exc)) from None
    return merged


def _progress(done: int, total: int, err: TextIO) -> None:
    if total >= 20 and (done % max(1, total // 10) == 0 or done == total):
        print(f"  {done}/{total} sent", file=err, flush=True)


def _via_server(
    args: argparse.Namespace, overrides: dict[str, Any], out: TextIO, err: TextIO
) -> int:
    if not args.api_key:
        raise UsageError("--api-key (or $LMIF_MOCK_API_KEY) is required with --server")
    client = ControlClient(args.server, args.api_key, busy_notes=err)
    faults: dict[str, Any] = {
        "duplicates": args.duplicates,
        "concurrent_duplicates": args.concurrent,
    }
    if args.signature_fault:
        faults["signature"] = args.signature_fault
    body = {
        "type": args.type,
        "data": overrides,
        "faults": faults,
        "allowUnknown": args.allow_unknown,
    }
    failures = 0
    for number in range(1, args.count + 1):
        try:
            emitted = client.post("/_mock/events", body)
        except ControlError as exc:
            if exc.is_refused_input:  # the fake said the data is wrong: a usage error
                raise UsageError(str(exc)) from None
            print(f"error: {exc}", file=err)
            return 1
        event = emitted["event"]
        statuses = [d["status"] for d in emitted["deliveries"]]
        failures += sum(1 for s in statuses if s != "succeeded")
        if args.count == 1 or number == args.count:
            print(f"{event['type']} {event['id']}: {len(statuses)} deliveries {statuses}", file=out)
        _progress(number, args.count, err)
    return 0 if failures == 0 else 1


def _direct(args: argparse.Namespace, overrides: dict[str, Any], out: TextIO, err: TextIO) -> int:
    if not args.secret:
        raise UsageError("--secret is required with --to")
    hosts = HostPolicy(args.allow_host)
    try:
        hosts.check_url(args.to)
    except BlockedHostError as exc:
        raise UsageError(str(exc)) from None
    factory = EventFactory(args.seed)
    http = HTTPTransport(hosts)  # the fake's own client: checked again at every connection
    failures = 0
    webhook_id = factory.new_id("webhook")
    for number in range(1, args.count + 1):
        created_at = args.created_at or utc(datetime.now(timezone.utc))
        try:
            event = factory.build(
                args.type, created_at, overrides, webhook_id=webhook_id, allow_unknown=True
            )
            request = sign_body(event.body, args.secret, args.signature_fault, rng=factory.random)
        except LMIFMockError as exc:  # e.g. previous_secret: no rotated secret to sign with
            http.close()
            raise UsageError(str(exc)) from None
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if request.signature is not None:
            headers[SIGNATURE_HEADER] = request.signature
        for copy in range(1 + args.duplicates):
            try:
                outgoing = OutgoingRequest(args.to, request.body, headers)
                response = http.send(outgoing, DIRECT_TIMEOUT)
                status: int | str = response.status
                ok = 200 <= response.status < 300
            except TransportError as exc:
                status, ok = f"error ({exc.kind}: {exc.message})", False
            failures += not ok
            if args.count == 1 or number == args.count:
                label = " (duplicate)" if copy else ""
                print(f"{event.type} {event.id}{label} -> {status}", file=out)
        _progress(number, args.count, err)
    http.close()
    return 0 if failures == 0 else 1


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Send the events; exit 0 if every delivery succeeded, 1 if any failed, 2 on usage errors."""
    try:
        if not 1 <= args.count <= MAX_COUNT:
            raise UsageError(f"--count must be between 1 and {MAX_COUNT}")
        try:
            check_text(args.type, "the event type")
        except EncodingError as exc:
            raise UsageError(str(exc)) from None
        if args.type not in EVENT_TYPES and not args.allow_unknown:
            raise UsageError(f"unknown event type {args.type!r}; add --allow-unknown to send it")
        try:
            Faults(duplicates=args.duplicates, concurrent_duplicates=args.concurrent)
        except FaultError as exc:
            raise UsageError(str(exc)) from None
        overrides = parse_overrides(args.set, args.data)
        if args.created_at is not None and not args.to:
            raise UsageError("--created-at goes with --to (a fake stamps events with its clock)")
        if args.to:
            if args.concurrent:
                raise UsageError("--concurrent needs --server (the fake releases the copies)")
            return _direct(args, overrides, out, err)
        if not args.server:
            raise UsageError("give --server URL (or $LMIF_MOCK_URL), or --to URL --secret S")
        return _via_server(args, overrides, out, err)
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return 2
