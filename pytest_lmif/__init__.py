"""pytest support for lmif-mock: fixtures (``lmif_server`` first), receiver checks and
hypothesis strategies (``pytest_lmif.strategies``).

The plugin registers itself through the ``pytest11`` entry point; nothing needs importing to use
the fixtures.
"""

from __future__ import annotations

from typing import Any

from pytest_lmif.builder import EventBuilder, SignedEvent
from pytest_lmif.checks import CHECK_NAMES
from pytest_lmif.report import CheckResult, ReceiverCheckFailed, ReceiverReport
from pytest_lmif.runner import check_receiver


def assert_receiver(target: Any, **options: Any) -> ReceiverReport:
    """Run :func:`check_receiver` and fail the test with the report if any check failed.

    When every selected check was skipped (e.g. ``only=["idempotent_concurrent"]`` without a
    ``processed`` callable), the test is skipped with the reason, not passed.
    """
    import pytest

    __tracebackhide__ = True  # a skip or failure points at the calling test, not at this line
    report = check_receiver(target, **options)
    if report.results and all(r.skipped for r in report.results):
        pytest.skip("; ".join(r.summary for r in report.results))
    report.assert_ok()
    return report


__all__ = [
    "CHECK_NAMES",
    "CheckResult",
    "EventBuilder",
    "ReceiverCheckFailed",
    "ReceiverReport",
    "SignedEvent",
    "assert_receiver",
    "check_receiver",
]
