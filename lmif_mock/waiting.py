"""Waiting for deliveries on a real clock, without sleeping in the test.

With a :class:`~lmif_mock.VirtualClock` every attempt has been made by the time ``emit`` or
``clock.advance`` returns, so there is nothing to wait for. With ``serve`` or a ``RealClock`` the
attempts run on worker threads, and a test has to wait for them. :func:`wait_for` waits until
deliveries matching some filters reach a state (succeeded, failed, settled, a number of
attempts), and :func:`wait_idle` until the fake has nothing left to do. Both give up after a
timeout with a :class:`WaitTimeout` that lists every matching delivery as it was last seen, so
a failing test says what did happen instead of only "timed out".

The waits wake on every recorded attempt and re-check at least every 50 ms (a retry falling due
is not an attempt yet), so they return promptly without busy-looping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from lmif_mock.clock import Clock, VirtualClock
from lmif_mock.errors import LMIFMockError
from lmif_mock.events import Event
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.timestamps import format_timestamp

if TYPE_CHECKING:
    from lmif_mock.dispatcher import Dispatcher
    from lmif_mock.store import Store

Until = Literal["succeeded", "failed", "settled", "pending"]
UNTIL: tuple[str, ...] = ("succeeded", "failed", "settled", "pending")
#: The default wait on a real clock; a virtual one checks once (nothing moves while it waits).
DEFAULT_TIMEOUT = 10.0
#: The longest wait anyone may ask for (the control API's long poll is bounded by this too).
MAX_TIMEOUT = 300.0
#: Re-check at least this often even without a new attempt (due retries, in-flight work).
RECHECK_SECONDS = 0.05


class WaitTimeout(LMIFMockError, TimeoutError):
    """What was waited for did not happen in time; the message shows what was seen."""


class WaitError(LMIFMockError, ValueError):
    """A wait asked for something that cannot be waited for (unknown status, bad count...)."""


@dataclass(frozen=True)
class Expectation:
    """Which deliveries are meant (``event_id``, ``event_type``, ``webhook_id``) and what they
    must reach: ``until`` a status, at least ``attempts`` attempts, for ``count`` of them (or
    ``"all"``: every matching one, and at least one must exist)."""

    event_id: str | None = None
    event_type: str | None = None
    webhook_id: str | None = None
    until: str | None = None
    attempts: int | None = None
    count: int | Literal["all"] = 1

    def __post_init__(self) -> None:
        if self.until is not None and self.until not in UNTIL:
            raise WaitError(f"status must be one of {', '.join(UNTIL)}, not {self.until!r}")
        if self.attempts is not None and (
            isinstance(self.attempts, bool) or not isinstance(self.attempts, int)
        ):
            raise WaitError(f"attempts must be a whole number, not {self.attempts!r}")
        if self.attempts is not None and not 1 <= self.attempts <= 1000:
            raise WaitError(f"attempts must be between 1 and 1000, not {self.attempts}")
        if self.count != "all" and (
            isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1
        ):
            raise WaitError(f"count must be a whole number >= 1 or 'all', not {self.count!r}")
        if self.until is None and self.attempts is None:
            object.__setattr__(self, "until", "settled")

    def concerns(self, delivery: Delivery) -> bool:
        """Whether ``delivery`` is one of the deliveries this wait is about."""
        return (
            (self.event_id is None or delivery.event_id == self.event_id)
            and (self.event_type is None or delivery.event_type == self.event_type)
            and (self.webhook_id is None or delivery.webhook_id == self.webhook_id)
        )

    def reached_by(self, delivery: Delivery) -> bool:
        """Whether ``delivery`` is in the state waited for."""
        if self.attempts is not None and delivery.attempt_count < self.attempts:
            return False
        if self.until is None:
            return True
        if self.until == "settled":
            return delivery.status != "pending"
        return delivery.status == self.until

    def met(self, matching: Sequence[Delivery]) -> list[Delivery] | None:
        """The deliveries that satisfy the wait, or ``None`` while it is not satisfied."""
        reached = [d for d in matching if self.reached_by(d)]
        if self.count == "all":
            return reached if matching and len(reached) == len(matching) else None
        return reached if len(reached) >= self.count else None

    def describe(self) -> str:
        """The wait in words, for error messages."""
        which = [
            f"{name}={value}"
            for name, value in (
                ("event", self.event_id),
                ("type", self.event_type),
                ("webhook", self.webhook_id),
            )
            if value is not None
        ]
        state = []
        if self.until is not None:
            state.append(self.until)
        if self.attempts is not None:
            state.append(f"with at least {self.attempts} attempt(s)")
        if self.count == "all":
            many = "every delivery"
        elif self.count == 1:
            many = "1 or more deliveries"
        else:
            many = f"{self.count} or more deliveries"
        scope = f" ({', '.join(which)})" if which else ""
        return " ".join([many + scope, *state])


def _attempt_words(attempt: Attempt) -> str:
    if attempt.error is None:
        return f"#{attempt.number} {attempt.status_code}"
    code = "" if attempt.status_code is None else f" {attempt.status_code}"
    return f"#{attempt.number}{code} {attempt.error}"


def describe_delivery(delivery: Delivery) -> str:
    """One line per delivery: what a test needs to see why a wait was not met."""
    attempts = ", ".join(_attempt_words(a) for a in delivery.attempts) or "no attempts yet"
    due = (
        f", next attempt at {format_timestamp(delivery.next_attempt_at)}"
        if delivery.status == "pending" and delivery.next_attempt_at is not None
        else ""
    )
    return (
        f"  {delivery.id} {delivery.event_type} -> {delivery.webhook_id}: {delivery.status}"
        f" ({attempts}){due}"
    )


def seen(deliveries: Sequence[Delivery], limit: int = 20) -> str:
    """What a wait saw, as lines (the first ``limit`` deliveries, then a count)."""
    if not deliveries:
        return "  (no matching deliveries)"
    lines = [describe_delivery(d) for d in deliveries[:limit]]
    if len(deliveries) > limit:
        lines.append(f"  ... and {len(deliveries) - limit} more")
    return "\n".join(lines)


class Waiter:
    """Wakes waiting threads whenever the dispatcher records an attempt (one per fake)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self._changed = threading.Condition()
        dispatcher.on_attempt(self._wake)

    def _wake(self, delivery: Delivery, attempt: Attempt) -> None:
        with self._changed:
            self._changed.notify_all()

    def until(self, check: Callable[[], bool], timeout: float) -> bool:
        """Call ``check`` until it is true (``True``) or ``timeout`` seconds pass (``False``)."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                self._changed.wait(min(remaining, RECHECK_SECONDS))


def resolve_timeout(clock: Clock, timeout: float | None) -> float:
    """``timeout`` checked, or the default: 10 s on a real clock, none on a virtual one."""
    if timeout is None:
        return 0.0 if isinstance(clock, VirtualClock) else DEFAULT_TIMEOUT
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise WaitError(f"timeout must be a number of seconds, not {timeout!r}")
    if not 0 <= timeout <= MAX_TIMEOUT:
        raise WaitError(f"timeout must be between 0 and {MAX_TIMEOUT:g} seconds, not {timeout}")
    return float(timeout)


class Waiting:
    """``wait_for`` and ``wait_idle``, mixed into :class:`lmif_mock.FakeLMIF`."""

    store: Store
    dispatcher: Dispatcher
    clock: Clock
    _waiter: Waiter | None = None

    def waiter(self) -> Waiter:
        """The object that wakes waits on every attempt (made on first use)."""
        if self._waiter is None:
            self._waiter = Waiter(self.dispatcher)
        return self._waiter

    def wait_for(
        self,
        *,
        event: Event | str | None = None,
        event_type: str | None = None,
        webhook: Webhook | str | None = None,
        status: Until | None = None,
        attempts: int | None = None,
        count: int | Literal["all"] = 1,
        timeout: float | None = None,
    ) -> list[Delivery]:
        """Block until ``count`` deliveries (or ``"all"``) matching ``event``, ``event_type``
        and ``webhook`` have reached ``status`` (``succeeded``, ``failed``, ``settled``: either
        of those, ``pending``) and at least ``attempts`` attempts; returns those deliveries.

        Without ``status`` or ``attempts`` it waits for ``settled``. ``timeout`` defaults to
        10 s on a real clock and to 0 (check once) on a virtual one, where nothing happens while
        the caller waits. Raises :class:`WaitTimeout` listing every matching delivery as seen.
        """
        wanted = Expectation(
            event_id=event.id if isinstance(event, Event) else event,
            event_type=event_type,
            webhook_id=webhook.id if isinstance(webhook, Webhook) else webhook,
            until=status,
            attempts=attempts,
            count=count,
        )
        limit = resolve_timeout(self.clock, timeout)
        found: list[Delivery] = []
        matching: list[Delivery] = []

        def check() -> bool:
            nonlocal found, matching
            matching = [d for d in self.store.list_deliveries() if wanted.concerns(d)]
            met = wanted.met(matching)
            if met is None:
                return False
            found = met
            return True

        if self.waiter().until(check, limit):
            return found
        raise WaitTimeout(
            f"waited {limit:g} s for {wanted.describe()}; saw {len(matching)} matching "
            f"deliveries:\n{seen(matching)}"
        )

    def wait_idle(self, *, timeout: float | None = None, retries: bool = True) -> None:
        """Block until the fake has nothing left to do.

        Idle means no attempt is in flight and none is due now (waiting for a worker). With
        ``retries=True`` (the default) it also means no delivery is pending at all, so retries
        scheduled for later must have run (on a real clock at scale 1 the provider's schedule
        takes 34 h 36 min; use a short retry policy or a time scale). ``retries=False`` returns
        while retries are still scheduled for later. Raises :class:`WaitTimeout` showing what
        was still busy.
        """
        limit = resolve_timeout(self.clock, timeout)
        busy: list[Delivery] = []
        in_flight = False

        def check() -> bool:
            nonlocal busy, in_flight
            in_flight = self.dispatcher.in_flight > 0
            pending = self.store.list_deliveries(status="pending")
            if not retries:
                now = self.clock.now()
                pending = [
                    d for d in pending if d.next_attempt_at is None or d.next_attempt_at <= now
                ]
            busy = pending
            return not in_flight and not busy

        if self.waiter().until(check, limit):
            return
        what = "pending deliveries" if retries else "deliveries due now"
        flight = "an attempt was still in flight; " if in_flight else ""
        raise WaitTimeout(
            f"waited {limit:g} s for the fake to be idle ({'with' if retries else 'without'} "
            f"pending retries counted); {flight}{len(busy)} {what}:\n{seen(busy)}"
        )
