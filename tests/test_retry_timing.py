"""The schedule as pure functions: no threads, transports or store needed to check it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lmif_mock import Faults, RetryPolicy
from lmif_mock.faults import NO_FAULTS, FaultError
from lmif_mock.records import Attempt, Delivery
from lmif_mock.retry_timing import after_attempt, first_attempt_due, held_back

START = datetime(2026, 1, 1, tzinfo=UTC)


def _delivery(*attempts: Attempt, status: str = "pending", faults: Faults = NO_FAULTS) -> Delivery:
    policy = RetryPolicy(delays=[0, 60, 300])
    state: Any = status
    return Delivery(
        "dlv_1",
        "evt_1",
        "box.created",
        "wh_1",
        START,
        state,
        attempts,
        faults=faults,
        policy=policy,
    )


def _failed(number: int, at: datetime, trigger: str = "scheduled") -> Attempt:
    return Attempt(number, at, 500, "http_error", 0.01, trigger=trigger)  # type: ignore[arg-type]


def test_a_failure_waits_the_policys_next_delay_and_the_last_one_settles() -> None:
    first = _failed(1, START)
    assert after_attempt(_delivery(), first) == ("pending", START + timedelta(minutes=1))
    second = _failed(2, START + timedelta(minutes=1))
    assert after_attempt(_delivery(first), second) == (
        "pending",
        START + timedelta(minutes=6),
    )
    third = _failed(3, START + timedelta(minutes=6))
    assert after_attempt(_delivery(first, second), third) == ("failed", None)


def test_success_and_a_deleted_webhook_settle_at_once() -> None:
    ok = Attempt(1, START, 200, None, 0.01)
    assert after_attempt(_delivery(), ok) == ("succeeded", None)
    gone = Attempt(1, START, None, "webhook_deleted", 0.0)
    assert after_attempt(_delivery(), gone) == ("failed", None)


def test_a_manual_attempt_neither_uses_the_schedule_nor_reopens_a_settled_delivery() -> None:
    first = _failed(1, START)
    manual = _failed(2, START + timedelta(seconds=5), trigger="manual")
    assert after_attempt(_delivery(first), manual) == ("pending", manual.at + timedelta(minutes=1))
    assert after_attempt(_delivery(first, status="failed"), manual) == ("failed", None)


def test_a_script_delay_adds_to_the_schedule_and_delays_hold_the_first_attempt() -> None:
    scripted = Faults(script="2: delay 30s")
    first = _failed(1, START)
    due = START + timedelta(minutes=1, seconds=30)
    assert after_attempt(_delivery(faults=scripted), first) == ("pending", due)
    assert not held_back(Faults())
    assert held_back(Faults(delay=timedelta(seconds=1)))
    assert held_back(Faults(script="1: delay 5s"))
    assert first_attempt_due(START, Faults(delay=timedelta(hours=1))) == START + timedelta(hours=1)
    with pytest.raises(FaultError, match="9999"):
        first_attempt_due(datetime.max.replace(tzinfo=UTC), Faults(delay=timedelta(days=1)))
