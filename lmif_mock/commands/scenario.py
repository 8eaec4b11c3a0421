"""``scenario``: play a named world story on a running fake (``--list`` shows them)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from lmif_mock.commands.control_client import (
    ControlClient,
    ControlError,
    add_server_arguments,
    failed,
    server_missing,
)
from lmif_mock.world.scenarios import SCENARIOS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``scenario`` options."""
    parser.add_argument("name", nargs="?", help="scenario to play (see --list)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    add_server_arguments(parser)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Play the scenario and print the events it emitted; 0 on success, 1 on failure, 2 usage."""
    if args.list or not args.name:
        for scenario in SCENARIOS.values():
            print(f"{scenario.name:22} {scenario.description}", file=out)
        return 0 if args.list else 2
    if args.name not in SCENARIOS:
        print(f"error: no scenario {args.name!r}; run with --list", file=err)
        return 2
    if server_missing(args, err):
        return 2
    try:
        client = ControlClient(args.server, args.api_key, busy_notes=err)
        data = client.post(f"/_mock/scenarios/{args.name}")
    except ControlError as exc:
        return failed(exc, err)
    for event in data["events"]:
        print(f"{event['createdAt']}  {event['type']:24} {event['id']}", file=out)
    return 0
