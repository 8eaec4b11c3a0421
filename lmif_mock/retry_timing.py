"""When a delivery's next attempt falls due, and when it is settled for good.

Pure functions of the delivery, its faults and the attempt just made: the dispatcher asks them
and records the answer, so the provider's schedule (and the faults that bend it) can be read and
tested here without threads, transports or a store.
"""

from __future__ import annotations

from datetime import datetime

from lmif_mock.faults import FaultError, Faults
from lmif_mock.records import Attempt, Delivery, DeliveryStatus
from lmif_mock.scripts import extra_delay


def first_attempt_due(now: datetime, faults: Faults) -> datetime:
    """When attempt 1 is made: at once, or later by a ``delay`` fault or a script's delay."""
    try:
        return now + faults.delay + extra_delay(faults.script, 1)
    except OverflowError:
        raise FaultError("delay runs past the year 9999 on this clock") from None


def held_back(faults: Faults) -> bool:
    """Whether attempt 1 waits for the clock rather than being made at once."""
    return bool(faults.delay or extra_delay(faults.script, 1))


def after_attempt(delivery: Delivery, attempt: Attempt) -> tuple[DeliveryStatus, datetime | None]:
    """The delivery's state once ``attempt`` is recorded: settled (``succeeded``/``failed``), or
    ``pending`` with the time the retry policy (plus any script delay) sets for the next one.

    Manual attempts do not use up the schedule; a manual attempt of a settled delivery leaves it
    settled if it fails again."""
    if attempt.succeeded:
        return "succeeded", None
    if attempt.error == "webhook_deleted":
        return "failed", None  # nobody left to retry for
    used = delivery.scheduled_attempts + (attempt.trigger == "scheduled")
    delay = delivery.policy.delay_before(used + 1)
    was_open = delivery.status == "pending"
    if delay is None or not (was_open or attempt.trigger == "scheduled"):
        return "failed", None
    scripted_delay = extra_delay(delivery.faults.script, attempt.number + 1)
    try:
        return "pending", attempt.at + delay + scripted_delay
    except OverflowError:  # past the year 9999: no retry can ever fall due
        return "failed", None
