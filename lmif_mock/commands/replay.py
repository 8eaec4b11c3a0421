"""``replay FILE --to URL``: send a transcript's recorded requests to a receiver again.

Record a session (``GET /_mock/transcript`` or the dashboard's download) while clicking through
an app against ``serve``, then replay the exact requests, signatures included, in CI. Targets
follow the same host policy as webhooks: loopback unless named with ``--allow-host``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from lmif_mock.transcript import TranscriptError, replay

EXPECTATIONS = ("2xx", "recorded", "any")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``replay`` options."""
    parser.add_argument("file", help="a transcript (JSON), or - for stdin")
    parser.add_argument("--to", required=True, metavar="URL", help="the receiver to send to")
    parser.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                        help="a non-loopback host the URL may name (repeatable)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds to wait for each answer (default 30)")  # fmt: skip
    parser.add_argument(
        "--expect",
        choices=EXPECTATIONS,
        default="2xx",
        help="exit 1 unless every answer is a 2xx (default), the recorded status, or any answer",
    )


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """0 if every answer met ``--expect``, 1 if one did not, 2 on an unusable file or target."""
    try:
        source = sys.stdin.buffer.read() if args.file == "-" else Path(args.file)
        results = replay(source, args.to, allowed_hosts=args.allow_host, timeout=args.timeout)
    except TranscriptError as exc:
        print(f"error: {exc}", file=err)
        return 2
    failed = 0
    for result in results:
        request = result.request
        answer = str(result.status_code) if result.error is None else result.error
        if result.error is not None and result.message:
            answer = f"{result.error} ({result.message})"
        recorded = request.recorded_status if request.recorded_status is not None else "none"
        if args.expect == "2xx":
            ok = result.status_code is not None and 200 <= result.status_code < 300
        elif args.expect == "recorded":
            ok = result.same_status
        else:
            ok = result.error is None
        failed += not ok
        flag = "" if ok else f"  <- not {args.expect}"
        line = f"{request.delivery_id} #{request.attempt} {request.event_id}: {answer}"
        print(f"{line} (recorded {recorded}){flag}", file=out)
    print(f"replayed {len(results)} request(s); {failed} not {args.expect}", file=out)
    return 1 if failed else 0
