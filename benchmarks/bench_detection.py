"""How often ``idempotent_concurrent`` catches a real check-then-insert race, option by option.

Run: ``python -m benchmarks.bench_detection`` (``--runs N``, default 20; ``--quick`` for 3).

The racy receiver is the project's test receiver ``tests/buggy_receivers.py`` with the
``racy_dedup`` bug: Flask (or FastAPI with a plain ``def`` endpoint) over a SQLite file, one
connection per request, SELECT then INSERT then the side effect, no sleeps. Each run makes a
fresh receiver and runs the one check; a run counts as a detection when the check fails. The
same is done against a correct (atomic insert) receiver with the default probe, where every
failure would be a false alarm. First, the README's ``@given`` idempotency pattern is run
``--property-runs`` times (default 5) against the racy and a correct receiver. Each transport
is measured: in-process WSGI, in-process ASGI, and HTTP to a werkzeug server on 127.0.0.1.
Figures are detection rates, not times.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import given, settings

from lmif_mock import FakeLMIF
from pytest_lmif import check_receiver
from pytest_lmif.races import RaceProbe
from pytest_lmif.strategies import DeliveryPlan, assert_idempotent, delivery_plans
from tests.buggy_receivers import PATH, SECRET, Receiver
from tests.receivers import wsgi_server

OPTIONS: dict[str, RaceProbe] = {
    "before (4 copies, 1 round)": RaceProbe(copies=4, rounds=1, gate=False),
    "4 copies, 1 round, switch 1 us": RaceProbe(
        copies=4, rounds=1, switch_interval=1e-6, gate=False
    ),
    "4 copies, 1 round, switch 20 ms": RaceProbe(
        copies=4, rounds=1, switch_interval=0.02, gate=False
    ),
    "4 copies, 1 round, gate": RaceProbe(copies=4, rounds=1),
    "8 copies, 1 round, gate": RaceProbe(copies=8, rounds=1),
    "16 copies, 1 round, gate": RaceProbe(copies=16, rounds=1),
    "4 copies, 10 rounds, no gate": RaceProbe(copies=4, rounds=10, gate=False),
    "default (8 copies, 100 rounds, gate)": RaceProbe(),
}


@contextmanager
def target_for(transport: str, receiver: Receiver) -> Iterator[tuple[Any, str | None]]:
    """The check's target and path for one receiver over ``transport``."""
    if transport == "http":
        with wsgi_server(receiver.app) as base:
            yield base + PATH, None
    else:
        yield (receiver.app if transport == "wsgi" else receiver.asgi), PATH


def detected(transport: str, bug: str | None, probe: RaceProbe) -> bool:
    """Whether the check failed on one fresh receiver."""
    receiver = Receiver(bug)
    with target_for(transport, receiver) as (target, path):
        report = check_receiver(
            target, secret=SECRET, processed=receiver.processed, path=path,
            only=["idempotent_concurrent"], timeout=5, settle=0.0, race_probe=probe,
        )  # fmt: skip
    return report["idempotent_concurrent"].passed is False


def property_failed(bug: str | None) -> bool:
    """Whether the README's ``@given`` pattern failed against one fresh receiver."""
    receiver = Receiver(bug)
    fake = FakeLMIF()

    @settings(max_examples=20, deadline=None, database=None)
    @given(plan=delivery_plans(types=["box.created", "violation.detected"]))
    def property_test(plan: DeliveryPlan) -> None:
        assert_idempotent(
            fake, receiver.app, plan, secret=SECRET, path=PATH, processed=receiver.processed
        )

    try:
        property_test()
    except Exception:  # AssertionError, or hypothesis's Flaky when a race did not replay
        return True
    finally:
        fake.close()
    return False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--transport", choices=["wsgi", "asgi", "http"], action="append")
    parser.add_argument("--property-runs", type=int, default=5)
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    property_runs = 1 if args.quick else args.property_runs
    racy = sum(property_failed("racy_dedup") for _ in range(property_runs))
    correct = sum(not property_failed(None) for _ in range(property_runs))
    print(f"README @given pattern: failed {racy}/{property_runs} runs on the racy receiver, "
          f"passed {correct}/{property_runs} on a correct one", flush=True)  # fmt: skip
    for transport in args.transport or ["wsgi", "asgi", "http"]:
        # Options take turns run by run, so a change in the machine's load hits them alike.
        chosen = OPTIONS  # over HTTP there is nothing to gate: the gate is a no-op there
        caught = dict.fromkeys(chosen, 0)
        spent = dict.fromkeys(chosen, 0.0)
        false_failures = 0
        for _ in range(runs):
            for label, probe in chosen.items():
                started = time.perf_counter()
                caught[label] += detected(transport, "racy_dedup", probe)
                spent[label] += time.perf_counter() - started
            false_failures += detected(transport, None, RaceProbe())
        for label in chosen:
            print(f"{transport:5} racy receiver, {label:36} caught {caught[label]:2}/{runs}"
                  f"  ({spent[label] / runs * 1000:.0f} ms per run)", flush=True)  # fmt: skip
        print(f"{transport:5} atomic receiver, default probe: {false_failures}/{runs} false "
              "failures", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
