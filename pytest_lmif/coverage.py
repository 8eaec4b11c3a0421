"""``--lmif-report``: what the session's receivers met, printed when the session ends.

A suite can pass while never sending a receiver a tampered body, a concurrent duplicate or a
``license.revoked``. The report counts, over every test, the deliveries made by the fakes the
tests used (``lmif_server``, ``lmif_shared_server``, any fake passed to or made by
``check_receiver``) by event type, fault and outcome, which receiver checks ran, failed or were
skipped, and lists the event types and faults no test exercised. ``--lmif-report-json=PATH``
writes the same as JSON for CI. Under pytest-xdist every worker counts its own tests and the
controller adds them up.

A fake a test builds for itself and never hands to a fixture or a check is not seen.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lmif_mock import EVENT_TYPES, LAYOUTS, SIGNATURE_FAULTS, Delivery, FakeLMIF, Faults
from pytest_lmif.checks import CHECK_NAMES
from pytest_lmif.outcomes import on_receiver_checked
from pytest_lmif.report import ReceiverReport

#: Every fault a delivery can carry, as the report names them.
FAULT_NAMES: tuple[str, ...] = (
    "duplicates",
    "concurrent_duplicates",
    "drop_after_response",
    "delay",
    *(f"signature:{name}" for name in SIGNATURE_FAULTS),
    *(f"layout:{name}" for name in LAYOUTS),
    "script",
)
OUTCOMES = ("succeeded", "failed", "pending")
_WORKER_KEY = "lmif_report"


def fault_names(faults: Faults) -> list[str]:
    """The faults of one delivery by name (``none`` when it had none)."""
    names = [
        name
        for name, on in (
            ("duplicates", faults.duplicates),
            ("concurrent_duplicates", faults.concurrent_duplicates),
            ("drop_after_response", faults.drop_after_response),
            ("delay", faults.delay),
            ("script", faults.script),
        )
        if on
    ]
    if faults.signature is not None:
        names.append(f"signature:{faults.signature}")
    if faults.layout is not None:
        names.append(f"layout:{faults.layout}")
    return names or ["none"]


class Coverage:
    """The counts behind the report; mergeable, so xdist workers can be added up."""

    def __init__(self) -> None:
        self.cells: Counter[tuple[str, str, str]] = Counter()
        self.checks: dict[str, Counter[str]] = {name: Counter() for name in CHECK_NAMES}
        self.tests = 0
        self._seen: set[str] = set()
        self._used = False

    def start_test(self) -> None:
        """Forget which deliveries were counted: ids may repeat in the next test's fake."""
        self._seen.clear()
        self._used = False

    def end_test(self) -> None:
        """Count the test if it used a fake (through a fixture or a receiver check)."""
        self.tests += self._used
        self._used = False

    def observe(self, fake: FakeLMIF) -> int:
        """Count the deliveries ``fake`` holds that were not counted yet in this test."""
        counted = 0
        self._used = True
        for delivery in fake.deliveries():
            if delivery.id in self._seen or delivery.duplicate_of is not None:
                continue  # copies made by a duplicates fault count once, as their original
            self._seen.add(delivery.id)
            self._count(delivery)
            counted += 1
        return counted

    def _count(self, delivery: Delivery) -> None:
        for fault in fault_names(delivery.faults):
            self.cells[(delivery.event_type, fault, delivery.status)] += 1

    def checked(self, report: ReceiverReport) -> None:
        """Count each check's verdict."""
        for result in report.results:
            verdict = "skipped" if result.skipped else "passed" if result.passed else "failed"
            self.checks.setdefault(result.name, Counter())[verdict] += 1

    # -- summaries ----------------------------------------------------------------------------

    def event_types_unexercised(self) -> list[str]:
        """Catalogue types no delivery carried."""
        seen = {event_type for event_type, _, _ in self.cells}
        return [t for t in EVENT_TYPES if t not in seen]

    def faults_unexercised(self) -> list[str]:
        """Faults no delivery carried."""
        seen = {fault for _, fault, _ in self.cells}
        return [f for f in FAULT_NAMES if f not in seen]

    def to_dict(self) -> dict[str, Any]:
        """JSON form (what ``--lmif-report-json`` writes)."""
        return {
            "tests": self.tests,
            "deliveries": [
                {"eventType": t, "fault": f, "outcome": o, "count": n}
                for (t, f, o), n in sorted(self.cells.items())
            ],
            "checks": {name: dict(sorted(counts.items())) for name, counts in self.checks.items()},
            "checksNeverRun": [name for name, counts in self.checks.items() if not counts],
            "eventTypesNotExercised": self.event_types_unexercised(),
            "faultsNotExercised": self.faults_unexercised(),
        }

    def merge(self, other: dict[str, Any]) -> None:
        """Add the counts of another :meth:`to_dict` (an xdist worker's)."""
        self.tests += int(other.get("tests", 0))
        for row in other.get("deliveries", []):
            key = (str(row["eventType"]), str(row["fault"]), str(row["outcome"]))
            self.cells[key] += int(row["count"])
        for name, counts in other.get("checks", {}).items():
            self.checks.setdefault(name, Counter()).update(
                {str(k): int(v) for k, v in counts.items()}
            )

    def lines(self) -> Iterator[str]:
        """The report as text lines for the terminal."""
        yield f"tests that used a fake LMIF: {self.tests}"
        if not self.cells:
            yield "no deliveries were made"
        else:
            width = max(len(t) for t, _, _ in self.cells) + 2
            fault_width = max(len(f) for _, f, _ in self.cells) + 2
            yield ("event type".ljust(width) + "fault".ljust(fault_width) + "  ".join(OUTCOMES))
            rows: dict[tuple[str, str], Counter[str]] = {}
            for (event_type, fault, outcome), count in self.cells.items():
                rows.setdefault((event_type, fault), Counter())[outcome] += count
            for (event_type, fault), counts in sorted(rows.items()):
                numbers = "  ".join(str(counts[o]).rjust(len(o)) for o in OUTCOMES)
                yield event_type.ljust(width) + fault.ljust(fault_width) + numbers
        yield ""
        yield "receiver checks (passed / failed / skipped):"
        for name, counts in self.checks.items():
            if counts:
                yield (f"  {name}: {counts['passed']} / {counts['failed']} / {counts['skipped']}")
            else:
                yield f"  {name}: never ran"
        missing_types = self.event_types_unexercised()
        missing_faults = self.faults_unexercised()
        yield ""
        yield "event types no test exercised: " + (", ".join(missing_types) or "none")
        yield "faults no test exercised: " + (", ".join(missing_faults) or "none")


class LMIFReport:
    """The pytest plugin object that gathers the counts (registered on ``--lmif-report``)."""

    def __init__(self, config: pytest.Config, json_path: str | None, show: bool) -> None:
        self.config = config
        self.json_path = json_path
        self.show = show
        self.coverage = Coverage()
        self._stop = on_receiver_checked(self._checked)

    def _checked(self, report: ReceiverReport, fake: FakeLMIF) -> None:
        self.coverage.checked(report)
        self.coverage.observe(fake)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        self.coverage.start_test()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> None:
        """Before fixtures are torn down, count what the test's fakes hold."""
        values = getattr(item, "funcargs", {}).values()
        fakes = [v for v in values if isinstance(v, FakeLMIF)]
        for fake in {id(f): f for f in fakes}.values():
            self.coverage.observe(fake)
        self.coverage.end_test()

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist controller: add up what a worker counted."""
        output = getattr(node, "workeroutput", {})
        if _WORKER_KEY in output:
            self.coverage.merge(json.loads(output[_WORKER_KEY]))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self._stop()
        workeroutput = getattr(self.config, "workeroutput", None)
        if workeroutput is not None:  # an xdist worker: the controller reports
            workeroutput[_WORKER_KEY] = json.dumps(self.coverage.to_dict())
            return
        if self.json_path:
            Path(self.json_path).write_text(
                json.dumps(self.coverage.to_dict(), indent=2) + "\n", "utf-8"
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.show or hasattr(self.config, "workerinput"):
            return
        terminalreporter.write_sep("=", "lmif coverage")
        for line in self.coverage.lines():
            terminalreporter.write_line(line)
        if self.json_path:
            terminalreporter.write_line(f"(JSON written to {self.json_path})")


def add_options(group: Any) -> None:
    """``--lmif-report`` and ``--lmif-report-json`` (called by the plugin's addoption)."""
    group.addoption(
        "--lmif-report",
        action="store_true",
        default=False,
        help="print what the session's receivers met (event types x faults x outcomes, checks)",
    )
    group.addoption(
        "--lmif-report-json",
        default=None,
        metavar="PATH",
        help="write the lmif coverage report as JSON to PATH (for CI)",
    )


def configure(config: pytest.Config) -> None:
    """Register the report when asked for (called by the plugin's configure)."""
    show = bool(config.getoption("--lmif-report", False))
    json_path = config.getoption("--lmif-report-json", None)
    if show or json_path:
        config.pluginmanager.register(LMIFReport(config, json_path, show), "lmif-report")
