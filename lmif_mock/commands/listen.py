"""``listen``: a small verifying receiver that prints each event and whether its signature holds.

For seeing what the fake (or the real provider, through a tunnel) sends, and for testing senders:
a valid signature gets ``--status`` (200), an invalid one 401, as a correct receiver answers.
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

from lmif_mock.commands.interrupt import wait_until_interrupted
from lmif_mock.server import QuietRequestHandler
from lmif_mock.signing import SIGNATURE_HEADER, verify


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``listen`` options."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any)")
    parser.add_argument(
        "--secret",
        action="append",
        required=True,
        help="webhook secret (repeat to accept several during a rotation)",
    )
    parser.add_argument("--path", default="/", help="only this path receives events (default /)")
    parser.add_argument("--status", type=int, default=200, help="answer to valid events")
    parser.add_argument("--print-body", action="store_true", help="print each payload too")


def receiver(
    secrets: list[str], out: TextIO, *, path: str = "/", status: int = 200, print_body: bool = False
) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The WSGI app ``listen`` serves (also usable on its own in tests)."""
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if request.path != path:
            return Response("not found\n", status=404)(environ, start_response)
        if request.method != "POST":
            return Response("POST only\n", status=405, headers={"Allow": "POST"})(
                environ, start_response
            )
        body = request.get_data()
        signature = request.headers.get(SIGNATURE_HEADER)
        valid = verify(body, signature, secrets)
        try:
            envelope = json.loads(body)
            what = f"{envelope.get('type')} {envelope.get('id')}"
        except (ValueError, AttributeError):
            what = "(not a JSON event)"
        verdict = (
            "signature valid"
            if valid
            else ("signature MISSING" if signature is None else "signature INVALID")
        )
        with lock:
            print(f"{'ok ' if valid else 'BAD'} {what} - {verdict} ({len(body)} bytes)", file=out)
            if print_body:
                print(body.decode("utf-8", "replace"), file=out)
            out.flush()
        if not valid:
            return Response("invalid signature\n", status=401)(environ, start_response)
        return Response("OK\n", status=status)(environ, start_response)

    return app


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Listen until interrupted."""
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
