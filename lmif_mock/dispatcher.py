"""Fan an event out to its webhooks, make every attempt, record it, and schedule the next one.

Life of a delivery: created ``pending``; attempt 1 runs at once (or after a ``delay`` fault); a
failure schedules the next attempt on the clock per the :class:`RetryPolicy`; a 2xx, or the last
allowed failure, settles it ``succeeded`` or ``failed``. Whatever the receiver or the transport
does (hangs, resets, garbage, exceptions in this very code), the attempt is recorded and the
delivery moves on: nothing is ever lost.

On a :class:`VirtualClock` everything happens on the caller's thread: ``dispatch`` returns after the
first attempts, and retries run inside ``clock.advance``. On a real clock the clock's thread hands
due attempts to a bounded pool of workers.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from lmif_mock.attempt_sender import AttemptSender
from lmif_mock.clock import Clock, Timer, VirtualClock
from lmif_mock.delivery_plans import (
    applicable_faults,
    count_deliveries,
    plan_deliveries,
)
from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.events import EVENT_TYPES, Event
from lmif_mock.faults import NO_FAULTS, Faults
from lmif_mock.in_flight import InFlight
from lmif_mock.records import Attempt, Delivery, DeliveryStatus, Webhook
from lmif_mock.retry import RetryPolicy
from lmif_mock.retry_timing import after_attempt, held_back
from lmif_mock.send_lanes import SendLanes
from lmif_mock.store import Store
from lmif_mock.transports import HTTPTransport, Transport

log = logging.getLogger("lmif_mock.dispatcher")

_KNOWN_TYPES = frozenset(EVENT_TYPES)

AttemptListener = Callable[[Delivery, Attempt], None]
#: Changes a settlement (status, next attempt time) after an attempt: opt-in delivery control.
SettlementAdjuster = Callable[
    [Attempt, DeliveryStatus, datetime | None], tuple[DeliveryStatus, datetime | None]
]


class Dispatcher:
    """Turns events into deliveries and deliveries into recorded attempts."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        http: Transport | None = None,
        max_workers: int = 8,
        enforce_inprocess_timeout: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.synchronous = isinstance(clock, VirtualClock)
        self.sender = AttemptSender(
            store,
            clock,
            self.rng,
            http or HTTPTransport(),
            enforce_inprocess_timeout=enforce_inprocess_timeout,
        )
        #: On a real clock, the workers that make attempts, shared fairly between webhooks.
        self.lanes = SendLanes(max_workers)
        self._timers: dict[str, Timer] = {}
        self._lock = threading.RLock()
        self._in_flight = InFlight(self._lock)
        self._listeners: list[AttemptListener] = []
        #: Set by opt-in delivery control (lmif_mock.health); None: the provider's behaviour.
        self.adjust_settlement: SettlementAdjuster | None = None

    # -- public -------------------------------------------------------------------------------

    def on_attempt(self, listener: AttemptListener) -> None:
        """Call ``listener(delivery, attempt)`` after every recorded attempt (e.g. to log it)."""
        self._listeners.append(listener)

    @property
    def in_flight(self) -> int:
        """How many attempts are being made at this moment."""
        return len(self._in_flight)

    def subscribers(self, event_type: str) -> list[Webhook]:
        """Enabled webhooks that get ``event_type``; undocumented types go to every enabled one."""
        known = event_type in _KNOWN_TYPES
        return [
            webhook
            for webhook in self.store.list_webhooks()
            if webhook.enabled and (webhook.subscribes_to(event_type) or not known)
        ]

    def dispatch(
        self,
        event: Event,
        *,
        faults: Faults = NO_FAULTS,
        policy: RetryPolicy | None = None,
        webhooks: Iterable[Webhook] | None = None,
        strict_faults: bool = True,
    ) -> list[Delivery]:
        """Record ``event`` and start one delivery per subscribed webhook (plus fault copies).

        Everything that can be refused is refused before anything is stored, and the event is
        stored together with all its deliveries in one step: an emit is all or nothing.
        ``strict_faults=False`` (the global default faults) applies a ``previous_secret`` fault
        only to webhooks that have a previous secret, and no cap refuses the emit.
        """
        targets = list(webhooks) if webhooks is not None else self.subscribers(event.type)
        chosen = policy or self.policy
        self.check(event, faults, targets, strict_faults=strict_faults)
        return self._store_and_begin(event, targets, faults, chosen)

    def check(
        self, event: Event, faults: Faults, targets: list[Webhook], *, strict_faults: bool = True
    ) -> int:
        """Refuse (typed errors) what :meth:`dispatch` could not send; else how many deliveries
        it would make (:func:`~lmif_mock.delivery_plans.count_deliveries`)."""
        return count_deliveries(event, faults, targets, strict_faults=strict_faults)

    def resend(self, event_id: str, webhook_ids: Iterable[str] | None = None) -> list[Delivery]:
        """Deliver a stored event again: new deliveries, same event id and same bytes."""
        event = self.store.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id!r}")
        if webhook_ids is None:
            targets = self.subscribers(event.type)
        else:
            targets = []
            for webhook_id in webhook_ids:
                webhook = self.store.get_webhook(webhook_id)
                if webhook is None:
                    raise NotFoundError(f"no webhook {webhook_id!r}")
                targets.append(webhook)
        return self._store_and_begin(event, targets, NO_FAULTS, self.policy)

    def retry(self, delivery_id: str) -> Delivery:
        """Attempt a delivery again now, whatever its state, and resettle it on the result."""
        with self._lock:
            delivery = self.store.get_delivery(delivery_id)
            if delivery is None:
                raise NotFoundError(f"no delivery {delivery_id!r}")
            if delivery_id in self._in_flight:
                raise ConflictError(f"an attempt of {delivery_id} is in flight; try again shortly")
            timer = self._timers.pop(delivery_id, None)
        if timer is not None:
            timer.cancel()
        self._attempt(delivery_id, manual=True)
        settled = self.store.get_delivery(delivery_id)
        if settled is None:  # a reset (or another owner) cleared the store meanwhile
            raise NotFoundError(f"no delivery {delivery_id!r}")
        return settled

    def recover(self) -> int:
        """Reschedule every pending delivery at its recorded due time (after a restart)."""
        pending = self.store.list_deliveries(status="pending")
        now = self.clock.now()
        for delivery in pending:
            self._schedule(delivery.id, delivery.next_attempt_at or now)
        return len(pending)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no attempt is in flight (real clocks); ``False`` on timeout."""
        return self._in_flight.wait_idle(timeout)

    def wait_for_attempts(self, delivery_ids: Iterable[str], timeout: float) -> bool:
        """Block until each delivery has at least one attempt recorded (real clocks; a virtual
        clock has already made them); ``False`` if ``timeout`` seconds pass first.
        """
        waiting = list(delivery_ids)

        def all_attempted() -> bool:
            waiting[:] = [
                delivery_id
                for delivery_id in waiting
                if (found := self.store.get_delivery(delivery_id)) is not None
                and not found.attempts
            ]
            return not waiting

        return self._in_flight.wait_until(all_attempted, timeout)

    def reset(self) -> None:
        """Cancel every scheduled attempt and let go of in-process apps (the store is cleared by
        its owner). Without the latter a session-long fake would keep every test's app, and its
        worker thread, alive until the session ends."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
        self.sender.forget_apps()

    def close(self) -> None:
        """Stop scheduling, finish what is running, release connections and threads."""
        self.reset()
        self.lanes.close()
        self.sender.close()

    def forget_app(self, app: object) -> None:
        """Drop the cached transport of an in-process app (when its webhook is deleted)."""
        self.sender.forget_app(app)

    # -- delivery life cycle ------------------------------------------------------------------

    def _plan(
        self, event: Event, webhook: Webhook, faults: Faults, policy: RetryPolicy
    ) -> list[Delivery]:
        """The deliveries one webhook gets for ``event``: the original first, then the
        concurrent copies, then the sequential ones. Nothing is stored or sent yet."""
        return plan_deliveries(event, webhook, faults, policy, self.clock.now(), self.rng)

    def _store_and_begin(
        self, event: Event, targets: list[Webhook], faults: Faults, policy: RetryPolicy
    ) -> list[Delivery]:
        """Plan each webhook's deliveries, store them with ``event`` in one step, start them."""
        plans = [
            self._plan(event, webhook, applicable_faults(faults, webhook), policy)
            for webhook in targets
        ]
        planned = [delivery for plan in plans for delivery in plan]
        self.store.add_event_with_deliveries(event, planned)
        for plan in plans:
            self._begin(plan)
        found = [self.store.get_delivery(delivery.id) for delivery in planned]
        return [delivery for delivery in found if delivery is not None]

    def _begin(self, plan: list[Delivery]) -> None:
        """Start the first attempts of one webhook's stored deliveries, as its faults ask."""
        original, faults = plan[0], plan[0].faults
        concurrent = plan[1 : 1 + faults.concurrent_duplicates]
        sequential = plan[1 + faults.concurrent_duplicates :]
        if held_back(faults):
            for delivery in plan:
                assert delivery.next_attempt_at is not None
                self._schedule(delivery.id, delivery.next_attempt_at)
        elif concurrent:
            self._run_now(
                lambda: release_together(
                    self._attempt, [original.id, *(copy.id for copy in concurrent)]
                ),
                original.webhook_id,
            )
            for delivery in sequential:
                self._run_now(functools.partial(self._attempt, delivery.id), original.webhook_id)
        else:
            for delivery in plan:
                self._run_now(functools.partial(self._attempt, delivery.id), original.webhook_id)

    def _run_now(self, work: Callable[[], None], lane: str) -> None:
        """Run ``work`` here on a virtual clock, else on a worker of ``lane`` (its webhook)."""
        if self.synchronous:
            work()
        else:
            self.lanes.submit(work, lane)

    def _schedule(self, delivery_id: str, when: datetime) -> None:
        def due() -> None:
            with self._lock:
                self._timers.pop(delivery_id, None)
            found = self.store.get_delivery(delivery_id)
            lane = found.webhook_id if found is not None else delivery_id
            self._run_now(lambda: self._attempt(delivery_id), lane)

        with self._lock:
            old = self._timers.pop(delivery_id, None)
            if old is not None:
                old.cancel()
            self._timers[delivery_id] = self.clock.call_at(when, due)

    def _attempt(
        self, delivery_id: str, *, manual: bool = False, barrier: threading.Barrier | None = None
    ) -> None:
        """Make one attempt and record it; never raises (a bug here is recorded, not thrown).

        On a virtual clock, an attempt that settles after the clock has already moved past its
        retry's due time (the clock was advanced on another thread while it was in flight) makes
        that retry at once, recorded at its due time, and so on until the schedule catches up:
        a retry is never left overdue by an advance that could not see it yet.
        """
        due: datetime | None = None
        while True:
            overdue = self._attempt_once(delivery_id, manual, barrier, due)
            if overdue is None:
                return
            manual, barrier, due = False, None, overdue

    def _attempt_once(
        self,
        delivery_id: str,
        manual: bool,
        barrier: threading.Barrier | None,
        due: datetime | None,
    ) -> datetime | None:
        with self._lock:
            delivery = self.store.get_delivery(delivery_id)
            if delivery is None or delivery_id in self._in_flight:
                return None
            if delivery.status != "pending" and not manual:
                return None
            self._in_flight.add(delivery_id)
        attempt = self.sender.attempt_or_internal_error(delivery, manual, barrier, due)
        try:
            return self._settle(delivery_id, attempt)
        finally:
            self._in_flight.discard(delivery_id)

    def _settle(self, delivery_id: str, attempt: Attempt) -> datetime | None:
        """Record ``attempt`` and schedule the next; returns the next due time instead when a
        virtual clock has already passed it (the caller makes that attempt at once)."""
        overdue: datetime | None = None
        with self._lock:
            delivery = self.store.get_delivery(delivery_id)
            if delivery is None:
                return None
            status, next_at = after_attempt(delivery, attempt)
            adjust = self.adjust_settlement
            if adjust is not None and status == "pending":
                status, next_at = adjust(attempt, status, next_at)
            updated = delivery.with_attempt(attempt, status, next_at)
            self.store.put_delivery(updated)
            # No longer in flight *before* the next attempt can fire: on a fast clock it may fall
            # due at once, and an attempt that found this one still in flight would be dropped.
            self._in_flight.discard(delivery_id)
            if next_at is not None:
                if self.synchronous and next_at < self.clock.now():
                    overdue = next_at
                else:
                    self._schedule(delivery_id, next_at)
        for listener in self._listeners:
            try:
                listener(updated, attempt)
            except Exception:
                log.exception("attempt listener failed")
        return overdue


def release_together(attempt: Callable[..., None], delivery_ids: list[str]) -> None:
    """First attempts of ``delivery_ids`` from separate threads, released by one barrier: the
    copies reach the receiver at the same instant, as a check-then-insert race needs."""
    barrier = threading.Barrier(len(delivery_ids))
    threads = [
        threading.Thread(
            target=attempt, args=(delivery_id,), kwargs={"barrier": barrier}, daemon=True
        )
        for delivery_id in delivery_ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
