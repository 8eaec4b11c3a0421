"""``retry``: attempt a delivery again now on a running fake, as the dashboard's Retry does.

What ``serve`` suggests when a delivery has failed for good: the receiver is fixed, send it again.
"""

from __future__ import annotations

import argparse
import re
import sys
from typing import TextIO
from urllib.parse import quote

from lmif_mock.commands.control_client import (
    ControlClient,
    ControlError,
    add_server_arguments,
    failed,
    server_missing,
)

#: What a delivery id is made of: letters, digits, ``_`` and ``-``; never a path or a query.
_DELIVERY_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``retry`` options."""
    parser.add_argument("delivery", help="the delivery id (dlv_...), as serve prints it")
    add_server_arguments(parser)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """One more attempt; 0 if the delivery succeeded, 1 if it failed again, 2 on usage errors."""
    if server_missing(args, err):
        return 2
    if not _DELIVERY_ID.fullmatch(args.delivery):
        print(f"error: {args.delivery!r} is not a delivery id (dlv_...)", file=err)
        return 2
    client = ControlClient(args.server, args.api_key, busy_notes=err)
    # Checked above and quoted whole anyway: an "id" must name a delivery, never another route
    # (``../../../_mock/reset?`` once reset the fake).
    try:
        delivery = client.post(f"/v1/lmif/deliveries/{quote(args.delivery, safe='')}/retry")
    except ControlError as exc:
        return failed(exc, err)
    if not isinstance(delivery, dict) or not delivery.get("attempts"):
        print(f"error: {args.server} did not answer with a delivery", file=err)
        return 1
    last = delivery["attempts"][-1]
    answer = last["statusCode"] if last["statusCode"] is not None else last["error"]
    print(f"{delivery['id']} {delivery['status']}: attempt {len(delivery['attempts'])} "
          f"got {answer}", file=out)  # fmt: skip
    return 0 if delivery["status"] == "succeeded" else 1
