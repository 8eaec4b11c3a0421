"""``python -m lmif_mock``: the fake LMIF from a shell, for people and for tests in any language."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lmif_mock import fixture_files
from lmif_mock.commands import (
    listen,
    load,
    replay,
    retry,
    scenario,
    serve,
    signature,
    transcript,
    trigger,
    wait,
)
from lmif_mock.events import CATEGORIES, EVENT_TYPES
from lmif_mock.payloads import EventFactory

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def _cmd_events(args: argparse.Namespace) -> int:
    if args.action == "show":
        if args.type not in EVENT_TYPES:
            print(
                f"error: unknown event type {args.type!r}; run 'events' to list them",
                file=sys.stderr,
            )
            return EXIT_USAGE
        event = EventFactory(args.seed).build(args.type)
        print(json.dumps(event.envelope(), indent=2, ensure_ascii=False))
        return EXIT_OK
    for category, types in CATEGORIES.items():
        print(f"{category}:")
        for event_type in types:
            print(f"  {event_type}")
    return EXIT_OK


def _cmd_fixtures(args: argparse.Namespace) -> int:
    directory = Path(args.dir)
    if args.check:
        problems = fixture_files.check(directory)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print(
                f"{len(problems)} fixture file(s) out of date; run 'python -m lmif_mock fixtures'",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"fixtures in {directory} match the code")
        return EXIT_OK
    try:
        changed = fixture_files.write(directory)
    except OSError as exc:  # an unusable directory is the caller's to fix, said in one line
        print(
            f"error: cannot write fixtures under {directory}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    print(f"wrote {len(changed)} changed file(s) under {directory}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; kept separate so tests and docs can inspect it."""
    parser = argparse.ArgumentParser(
        prog="python -m lmif_mock",
        description="A fake LMIF webhook provider for testing webhook receivers.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve_parser = commands.add_parser(
        "serve", help="run the fake LMIF API (the default with no command)"
    )
    serve.add_arguments(serve_parser)
    serve_parser.set_defaults(handler=serve.run)

    trigger_parser = commands.add_parser("trigger", help="send events through a fake or straight")
    trigger.add_arguments(trigger_parser)
    trigger_parser.set_defaults(handler=trigger.run)

    scenario_parser = commands.add_parser("scenario", help="play a named world story on a fake")
    scenario.add_arguments(scenario_parser)
    scenario_parser.set_defaults(handler=scenario.run)

    listen_parser = commands.add_parser("listen", help="a verifying receiver that prints events")
    listen.add_arguments(listen_parser)
    listen_parser.set_defaults(handler=listen.run)

    load_parser = commands.add_parser("load", help="load-test a receiver with Locust (extra: load)")
    load.add_arguments(load_parser)
    load_parser.set_defaults(handler=load.run)

    events = commands.add_parser("events", help="list the event catalogue or show a sample event")
    events.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    events.add_argument("type", nargs="?", help="event type, with 'show'")
    events.add_argument("--seed", type=int, default=0, help="seed for the sample data (default 0)")
    events.set_defaults(handler=_cmd_events)

    retry_parser = commands.add_parser("retry", help="attempt a delivery again now")
    retry.add_arguments(retry_parser)
    retry_parser.set_defaults(handler=retry.run)

    replay_parser = commands.add_parser("replay", help="send a transcript's requests again")
    replay.add_arguments(replay_parser)
    replay_parser.set_defaults(handler=replay.run)

    transcript_parser = commands.add_parser(
        "transcript", help="write a running fake's whole transcript (every page)"
    )
    transcript.add_arguments(transcript_parser)
    transcript_parser.set_defaults(handler=transcript.run)

    wait_parser = commands.add_parser("wait", help="wait until deliveries reach a state")
    wait.add_arguments(wait_parser)
    wait_parser.set_defaults(handler=wait.run)

    signer = commands.add_parser("sign", help="print the X-LMIF-Signature value for a body")
    signature.add_sign_arguments(signer)
    signer.set_defaults(handler=signature.run_sign)

    verifier = commands.add_parser(
        "verify", help="check a signature; exit 0 if valid, 1 (saying why) if not"
    )
    signature.add_verify_arguments(verifier)
    verifier.set_defaults(handler=signature.run_verify)

    fixtures = commands.add_parser(
        "fixtures", help="regenerate (or --check) the fixtures directory"
    )
    fixtures.add_argument(
        "--dir", default="fixtures", help="fixtures directory (default ./fixtures)"
    )
    fixtures.add_argument("--check", action="store_true", help="fail if files differ from the code")
    fixtures.set_defaults(handler=_cmd_fixtures)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command (``serve`` when none is given); returns the exit code.

    0: done; 1: a check or delivery failed, or the server could not start; 2: usage error.
    """
    parser = build_parser()
    given = list(sys.argv[1:] if argv is None else argv)
    if not given or (given[0].startswith("-") and given[0] not in ("-h", "--help")):
        given = ["serve", *given]  # `python -m lmif_mock --port 9000` means serve
    args = parser.parse_args(given)
    if args.command == "events" and args.action == "show" and not args.type:
        parser.error("events show needs an event type")
    handler = args.handler
    code: int = handler(args)
    return code
