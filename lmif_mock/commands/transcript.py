"""``transcript``: a running fake's whole transcript, read page by page, as one file.

``GET /_mock/transcript`` answers one bounded page at a time (a long session's whole run in one
answer took 50 MB and held the server's memory and a worker while it was built); this follows
every page and writes the run as ``replay`` and :func:`lmif_mock.replay` read it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from lmif_mock.commands.control_client import (
    ControlClient,
    ControlError,
    add_server_arguments,
    failed,
    server_missing,
)
from lmif_mock.http.listing import MAX_LIMIT
from lmif_mock.transcript import dumps

#: Times the reading starts over when the session changed under it before giving up.
READ_TRIES = 3
LISTS = ("webhooks", "events", "deliveries")


class SessionChanged(Exception):
    """The transcript's size changed between two pages: the pages would not fit together."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``transcript`` options."""
    parser.add_argument("--output", "-o", metavar="FILE", help="write here (default stdout)")
    add_server_arguments(parser)


def read_whole(client: ControlClient, page_size: int = MAX_LIMIT) -> dict[str, Any]:
    """Every page of the fake's transcript, joined list by list (what ``server.transcript()``
    gives in-process). Raises :class:`SessionChanged` if the total moved while reading."""
    whole: dict[str, Any] | None = None
    offset, total = 0, None
    while total is None or offset < total:
        query = {"limit": page_size, "offset": offset}
        page, meta = client.get_page("/_mock/transcript", query, read_timeout=120)
        if total is not None and meta["total"] != total:
            raise SessionChanged(f"the transcript went from {total} to {meta['total']} items")
        total = int(meta["total"])
        if whole is None:
            whole = dict(page)
        else:
            for name in LISTS:
                whole[name].extend(page[name])
        held = sum(len(page[name]) for name in LISTS)
        if held == 0 and offset < total:
            raise SessionChanged("a page came back empty before the end")
        offset += held
    assert whole is not None
    return whole


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """0 when the whole transcript was written; 1 when the fake could not be read, or kept
    changing while it was; 2 on usage errors."""
    if server_missing(args, err):
        return 2
    client = ControlClient(args.server, args.api_key)
    for _ in range(READ_TRIES):
        try:
            whole = read_whole(client)
            break
        except SessionChanged:
            continue
        except ControlError as exc:
            return failed(exc, err)
    else:
        print(
            f"error: the session kept changing while its transcript was read ({READ_TRIES} "
            "tries); read it again once it is idle (python -m lmif_mock wait --idle)",
            file=err,
        )
        return 1
    text = dumps(whole)
    if args.output is None:
        out.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.output}: {exc.strerror or exc}", file=err)
        return 2
    return 0
