"""``listen``: a small verifying receiver that prints each event and whether its signature holds.

For seeing what the fake (or the real provider, through a tunnel) sends, and for testing senders:
a valid signature gets ``--status`` (200), an invalid one 401, as a correct receiver answers.
Every request gets a line, including those it refuses (another path: 404, not a POST: 405), so
a sender pointed at the wrong URL sees why nothing arrived. The default path is the README's
``/webhooks/lmif``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from lmif_mock.commands.console import printable
from lmif_mock.commands.interrupt import wait_until_interrupted
from lmif_mock.commands.ports import port_number, port_problem
from lmif_mock.server import QuietRequestHandler
from lmif_mock.signing import SIGNATURE_HEADER, verify

#: Where the README's examples send events.
DEFAULT_PATH = "/webhooks/lmif"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``listen`` options."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=port_number, default=8000, help="port (default 8000; 0 = any)"
    )
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        help="webhook secret (repeat to accept several during a rotation)",
    )
    parser.add_argument(
        "--path",
        default=DEFAULT_PATH,
        help=f"only this path receives events (default {DEFAULT_PATH})",
    )
    parser.add_argument("--status", type=int, default=200, help="answer to valid events")
    parser.add_argument("--print-body", action="store_true", help="print each payload too")


def receiver(
    secrets: list[str],
    out: TextIO,
    *,
    path: str = DEFAULT_PATH,
    status: int = 200,
    print_body: bool = False,
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app ``listen`` serves (also usable on its own in tests)."""
    lock = threading.Lock()

    def refuse(request: Request, code: int, why: str) -> Response:
        with lock:
            line = f"??? {request.method} {request.path} - {why} (answered {code})"
            print(printable(line), file=out)
            out.flush()
        headers = {"Allow": "POST"} if code == 405 else {}
        return Response(f"{why}\n", status=code, headers=headers)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path != path:
            why = f"not the path listened on, {path} (start listen with --path {request.path}?)"
            return refuse(request, 404, why)(environ, start_response)
        if request.method != "POST":
            return refuse(request, 405, "events come as POST")(environ, start_response)
        body = request.get_data()
        signature = request.headers.get(SIGNATURE_HEADER)
        valid = verify(body, signature, secrets)
        what = printable(_what(body))
        verdict = (
            "signature valid"
            if valid
            else ("signature MISSING" if signature is None else "signature INVALID")
        )
        with lock:
            print(f"{'ok ' if valid else 'BAD'} {what} - {verdict} ({len(body)} bytes)", file=out)
            if print_body:
                print(printable(body.decode("utf-8", "replace"), keep="\n\t"), file=out)
            out.flush()
        if not valid:
            return Response("invalid signature\n", status=401)(environ, start_response)
        return Response("OK\n", status=status)(environ, start_response)

    return app


def _what(body: bytes) -> str:
    """The event's type and id for the console line, or what the body is instead of an event."""
    try:
        envelope = json.loads(body)
    except (ValueError, RecursionError):
        return "(not JSON)"
    if not isinstance(envelope, dict):
        return "(JSON, but not an object)"
    found = [str(envelope[key]) for key in ("type", "id") if key in envelope]
    if not found:
        return "(JSON object without type or id)"
    if len(found) == 1:
        missing = "id" if "type" in envelope else "type"
        return f"{found[0]} (no {missing})"
    return " ".join(found)


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Listen until interrupted."""
    problem = None if args.port == 0 else port_problem(args.host, args.port)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 1
    app = receiver(args.secret, out, path=args.path, status=args.status, print_body=args.print_body)
    try:
        server = make_server(
            args.host, args.port, app, threaded=True, request_handler=QuietRequestHandler
        )
    except (OSError, SystemExit) as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(f"listening on http://{args.host}:{server.server_port}{args.path} (Ctrl+C to stop)",
          file=out, flush=True)  # fmt: skip
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        wait_until_interrupted()
    finally:
        server.shutdown()
        server.server_close()
    return 0
