"""A delivery's retry schedule laid out in time: attempts made, the next one due, those planned.

The dashboard draws one row per step, so a glance shows when each attempt ran and when the next
falls due. Planned times assume every attempt before them fails, counted from the next due time
with the delivery's own retry policy (the same arithmetic the dispatcher uses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from lmif_mock.records import Attempt, Delivery

StepKind = Literal["made", "next", "planned"]


@dataclass(frozen=True)
class Step:
    """One row of the timeline: an attempt made, the one due next, or a later one planned."""

    number: int
    kind: StepKind
    at: datetime
    attempt: Attempt | None = None


def timeline(delivery: Delivery) -> list[Step]:
    """Every attempt made, then (while pending) the next due and those the policy still plans."""
    steps = [Step(a.number, "made", a.at, a) for a in delivery.attempts]
    if delivery.status != "pending" or delivery.next_attempt_at is None:
        return steps
    number = len(delivery.attempts) + 1
    scheduled = delivery.scheduled_attempts + 1  # manual retries do not use up the schedule
    due = delivery.next_attempt_at
    steps.append(Step(number, "next", due))
    for later in range(scheduled + 1, delivery.policy.max_attempts + 1):
        number += 1
        due = due + (delivery.policy.delay_before(later) or timedelta())
        steps.append(Step(number, "planned", due))
    return steps


def schedule_summary(delivery: Delivery) -> str:
    """The policy in words: "attempt 1 at once, then after 1 min, 5 min, ..."."""
    delays = delivery.policy.delays
    first = "at once" if not delays or not delays[0] else f"after {describe(delays[0])}"
    rest = ", ".join(describe(d) for d in delays[1:])
    tail = f", then after {rest}" if rest else ""
    return f"{len(delays)} attempt{'s' if len(delays) != 1 else ''}: the first {first}{tail}"


def describe(span: timedelta) -> str:
    """A duration the way a person reads it: ``2 h 30 min``, ``45 s``, ``1 d``."""
    seconds = int(span.total_seconds())
    if seconds <= 0:
        return "0 s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}")
    return " ".join(parts[:2])


def until(moment: datetime, now: datetime) -> str:
    """``in 4 min`` or ``now`` (the fake clock may stand exactly on a due time)."""
    if moment <= now:
        return "now"
    return f"in {describe(moment - now)}"
