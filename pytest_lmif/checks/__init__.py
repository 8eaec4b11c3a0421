"""The receiver checks: each one sends what a real provider (or attacker) sends and judges what
came back and, where the caller says how to read them, the receiver's side effects.

Every check is proven in this project's own tests to fail on a receiver with exactly the bug it
names (``tests/buggy_receivers.py``) and to pass on correct receivers written three ways. A check
only names a cause it has seen: a timeout is reported as a timeout, a refused duplicate as a
refusal, and a check that could not judge says so instead of passing.

By family: :mod:`~pytest_lmif.checks.acknowledgement` (what must be answered 2xx, in time),
:mod:`~pytest_lmif.checks.signatures` (what must be refused, and how to verify) and
:mod:`~pytest_lmif.checks.duplicates` (what must be acted on once); their shared inconclusive
verdicts in :mod:`~pytest_lmif.checks.verdicts`. This module is the registry, in running order.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_lmif.checks.acknowledgement import (
    check_accepts_non_ascii_text,
    check_accepts_valid_events,
    check_answers_within_timeout,
    check_unknown_fields_tolerated,
    check_unknown_types_acknowledged,
)
from pytest_lmif.checks.duplicates import (
    check_distinct_events_processed,
    check_forged_copies_do_not_block,
    check_idempotent_concurrent,
    check_idempotent_sequential,
    check_remembers_duplicates,
)
from pytest_lmif.checks.signatures import check_rejects_bad_signatures, check_verifies_raw_bytes
from pytest_lmif.report import CheckResult
from pytest_lmif.session import CheckSession

CHECKS: dict[str, Callable[[CheckSession], CheckResult]] = {
    "accepts_valid_events": check_accepts_valid_events,
    "accepts_non_ascii_text": check_accepts_non_ascii_text,
    "rejects_bad_signatures": check_rejects_bad_signatures,
    "verifies_raw_bytes": check_verifies_raw_bytes,
    "idempotent_sequential": check_idempotent_sequential,
    "idempotent_concurrent": check_idempotent_concurrent,
    "remembers_duplicates": check_remembers_duplicates,
    "forged_copies_do_not_block": check_forged_copies_do_not_block,
    "distinct_events_processed": check_distinct_events_processed,
    "unknown_types_acknowledged": check_unknown_types_acknowledged,
    "unknown_fields_tolerated": check_unknown_fields_tolerated,
    "answers_within_timeout": check_answers_within_timeout,
}
#: The check names, in the order they run: parametrize over these for one pytest item each.
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)

__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "check_accepts_non_ascii_text",
    "check_accepts_valid_events",
    "check_answers_within_timeout",
    "check_distinct_events_processed",
    "check_forged_copies_do_not_block",
    "check_idempotent_concurrent",
    "check_idempotent_sequential",
    "check_rejects_bad_signatures",
    "check_remembers_duplicates",
    "check_unknown_fields_tolerated",
    "check_unknown_types_acknowledged",
    "check_verifies_raw_bytes",
]
