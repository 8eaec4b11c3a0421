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

import collections
import contextlib
import functools
import logging
import random
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from lmif_mock.clock import Clock, Timer, VirtualClock
from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.events import EVENT_TYPES, Event
from lmif_mock.faults import NO_FAULTS, FaultError, Faults, signed_request
from lmif_mock.health import with_retry_after
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.records import Attempt, Delivery, DeliveryStatus, Trigger, Webhook
from lmif_mock.retry import RetryPolicy
from lmif_mock.scripts import decide, extra_delay, start_late_copies
from lmif_mock.signing import SIGNATURE_HEADER
from lmif_mock.store import Store
from lmif_mock.transports import (
    USER_AGENT,
    HTTPTransport,
    OutgoingRequest,
    Response,
    Transport,
    TransportError,
    transport_for_app,
)

log = logging.getLogger("lmif_mock.dispatcher")

#: How much of a receiver's answer is kept on the attempt record.
EXCERPT_CHARS = 1024
_KNOWN_TYPES = frozenset(EVENT_TYPES)
#: Excerpts up to this long are interned: receivers answer the same short text again and again.
_SHARED_EXCERPT = 16

AttemptListener = Callable[[Delivery, Attempt], None]
#: Changes a settlement (status, next attempt time) after an attempt: opt-in delivery control.
SettlementAdjuster = Callable[
    [Attempt, DeliveryStatus, datetime | None], tuple[DeliveryStatus, datetime | None]
]
#: At most this many deliveries come from one event (webhooks x (1 + duplicates of each kind)).
MAX_DELIVERIES_PER_EMIT = 10_000


def _applicable(faults: Faults, webhook: Webhook) -> Faults:
    """``faults`` as they can apply to ``webhook``: a previous secret needs a rotation."""
    if faults.signature == "previous_secret" and webhook.previous_secret is None:
        return replace(faults, signature=None)
    return faults


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
        self.http = http or HTTPTransport()
        self.synchronous = isinstance(clock, VirtualClock)
        self._app_transports: dict[int, Transport] = {}
        self._timers: dict[str, Timer] = {}
        self._in_flight: set[str] = set()
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._listeners: list[AttemptListener] = []
        self._pool: ThreadPoolExecutor | None = None
        self._max_workers = max_workers
        #: On a real clock a webhook may hold at most this many workers, so that slow receivers
        #: behind one webhook leave the rest of the pool to the others.
        self.per_webhook_workers = max(1, max_workers // 4)
        self._lane_busy: dict[str, int] = {}
        self._lane_waiting: dict[str, collections.deque[Callable[[], None]]] = {}
        self.enforce_inprocess_timeout = enforce_inprocess_timeout
        #: Set by opt-in delivery control (lmif_mock.health); None: the provider's behaviour.
        self.adjust_settlement: SettlementAdjuster | None = None

    # -- public -------------------------------------------------------------------------------

    def on_attempt(self, listener: AttemptListener) -> None:
        """Call ``listener(delivery, attempt)`` after every recorded attempt (e.g. to log it)."""
        self._listeners.append(listener)

    @property
    def in_flight(self) -> int:
        """How many attempts are being made at this moment."""
        with self._lock:
            return len(self._in_flight)

    def subscribers(self, event_type: str) -> list[Webhook]:
        """Enabled webhooks that get ``event_type``; undocumented types go to every enabled one."""
        known = event_type in _KNOWN_TYPES
        return [
            w
            for w in self.store.list_webhooks()
            if w.enabled and (w.subscribes_to(event_type) or not known)
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
        plans = [
            self._plan(event, webhook, _applicable(faults, webhook), chosen) for webhook in targets
        ]
        self.store.add_event_with_deliveries(event, [d for plan in plans for d in plan])
        for plan in plans:
            self._begin(plan)
        found = [self.store.get_delivery(d.id) for plan in plans for d in plan]
        return [d for d in found if d is not None]

    def check(
        self, event: Event, faults: Faults, targets: list[Webhook], *, strict_faults: bool = True
    ) -> int:
        """Refuse (typed errors) what :meth:`dispatch` could not send; else how many deliveries
        it would make. The event is encoded here, once, so one that cannot be is never stored.

        Faults given with the emit are checked strictly. The global defaults are not refused
        (``strict_faults=False``): they also ride on world events and timers, where a refusal
        would leave a transition half done or stop a clock advance part way.
        """
        if faults.signature == "previous_secret" and strict_faults:
            unrotated = [w.id for w in targets if w.previous_secret is None]
            if unrotated:
                raise FaultError(
                    f"previous_secret needs rotated webhooks; not rotated: {', '.join(unrotated)}"
                )
        copies = (1 + faults.duplicates + faults.concurrent_duplicates) * len(targets)
        if copies > MAX_DELIVERIES_PER_EMIT and strict_faults:
            raise FaultError(
                f"this emit would make {copies} deliveries; at most {MAX_DELIVERIES_PER_EMIT} "
                "per emit (the cap)"
            )
        # Encoded once here (or EncodingError before anything is stored); each webhook's copy is
        # then these bytes with its id spliced in (Event.for_webhook), and the store keeps them.
        event.body  # noqa: B018
        return copies

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
        plans = [self._plan(event, webhook, NO_FAULTS, self.policy) for webhook in targets]
        self.store.add_event_with_deliveries(event, [d for plan in plans for d in plan])
        for plan in plans:
            self._begin(plan)
        found = [self.store.get_delivery(d.id) for plan in plans for d in plan]
        return [d for d in found if d is not None]

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
        count = 0
        now = self.clock.now()
        for delivery in self.store.list_deliveries(status="pending"):
            due = delivery.next_attempt_at or now
            self._schedule(delivery.id, due)
            count += 1
        return count

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until no attempt is in flight (real clocks); ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def wait_for_attempts(self, delivery_ids: Iterable[str], timeout: float) -> bool:
        """Block until each delivery has at least one attempt recorded (real clocks; a virtual
        clock has already made them); ``False`` if ``timeout`` seconds pass first.
        """
        waiting = list(delivery_ids)
        deadline = time.monotonic() + timeout
        with self._idle:
            while True:
                waiting = [
                    d
                    for d in waiting
                    if (found := self.store.get_delivery(d)) is not None and not found.attempts
                ]
                remaining = deadline - time.monotonic()
                if not waiting:
                    return True
                if remaining <= 0:
                    return False
                self._idle.wait(min(remaining, 0.05))

    def reset(self) -> None:
        """Cancel every scheduled attempt and let go of in-process apps (the store is cleared by
        its owner). Without the latter a session-long fake would keep every test's app, and its
        worker thread, alive until the session ends."""
        with self._lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers.clear()
            transports = list(self._app_transports.values())
            self._app_transports.clear()
        for transport in transports:
            transport.close()

    def close(self) -> None:
        """Stop scheduling, finish what is running, release connections and threads."""
        self.reset()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self.http.close()

    def forget_app(self, app: object) -> None:
        """Drop the cached transport of an in-process app (when its webhook is deleted)."""
        transport = self._app_transports.pop(id(app), None)
        if transport is not None:
            transport.close()

    # -- delivery life cycle ------------------------------------------------------------------

    def _plan(
        self, event: Event, webhook: Webhook, faults: Faults, policy: RetryPolicy
    ) -> list[Delivery]:
        """The deliveries one webhook gets for ``event``: the original first, then the
        concurrent copies, then the sequential ones. Nothing is stored or sent yet."""
        copy = event.for_webhook(webhook.id)
        now = self.clock.now()
        try:
            due = now + faults.delay + extra_delay(faults.script, 1)
        except OverflowError:
            raise FaultError("delay runs past the year 9999 on this clock") from None
        original = Delivery(
            id=new_id(PREFIXES["delivery"], self.rng),
            event_id=event.id,
            event_type=event.type,
            webhook_id=webhook.id,
            created_at=now,
            next_attempt_at=due,
            body=copy.body,
            faults=faults,
            policy=policy,
        )
        if not faults.duplicates and not faults.concurrent_duplicates:
            return [original]  # the common case: no copies, so no copies' faults to make
        copies_faults = replace(faults, duplicates=0, concurrent_duplicates=0)
        concurrent = [
            self._copy(original, copies_faults) for _ in range(faults.concurrent_duplicates)
        ]
        sequential = [self._copy(original, copies_faults) for _ in range(faults.duplicates)]
        return [original, *concurrent, *sequential]

    def _begin(self, plan: list[Delivery]) -> None:
        """Start the first attempts of one webhook's stored deliveries, as its faults ask."""
        original, faults = plan[0], plan[0].faults
        concurrent = plan[1 : 1 + faults.concurrent_duplicates]
        sequential = plan[1 + faults.concurrent_duplicates :]
        if faults.delay or extra_delay(faults.script, 1):
            for delivery in plan:
                assert delivery.next_attempt_at is not None
                self._schedule(delivery.id, delivery.next_attempt_at)
        elif concurrent:
            self._run_now(
                lambda: self._release_together([original.id, *(d.id for d in concurrent)]),
                original.webhook_id,
            )
            for delivery in sequential:
                self._run_now(functools.partial(self._attempt, delivery.id), original.webhook_id)
        else:
            for delivery in plan:
                self._run_now(functools.partial(self._attempt, delivery.id), original.webhook_id)

    def _copy(self, original: Delivery, faults: Faults) -> Delivery:
        return replace(
            original,
            id=new_id(PREFIXES["delivery"], self.rng),
            faults=faults,
            duplicate_of=original.id,
        )

    def _release_together(self, delivery_ids: list[str]) -> None:
        """First attempts of ``delivery_ids`` from separate threads, released by one barrier."""
        barrier = threading.Barrier(len(delivery_ids))
        threads = [
            threading.Thread(
                target=self._attempt, args=(d,), kwargs={"barrier": barrier}, daemon=True
            )
            for d in delivery_ids
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _run_now(self, work: Callable[[], None], lane: str) -> None:
        if self.synchronous:
            work()
        else:
            self._submit(work, lane)

    def _submit(self, work: Callable[[], None], lane: str) -> None:
        """Hand ``work`` to the pool, or queue it behind its lane (webhook) if that lane already
        holds ``per_webhook_workers`` workers: one webhook's hung receivers never take them all.
        """
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._max_workers, thread_name_prefix="lmif-send")
                self._lane_busy.clear()  # a closed pool ran (or cancelled) all it had
                self._lane_waiting.clear()
            busy = self._lane_busy.get(lane, 0)
            if busy >= self.per_webhook_workers:
                self._lane_waiting.setdefault(lane, collections.deque()).append(work)
                return
            self._lane_busy[lane] = busy + 1
            pool = self._pool
        with contextlib.suppress(RuntimeError):  # shut down: pending work stays pending
            pool.submit(self._run_in_lane, work, lane)

    def _run_in_lane(self, work: Callable[[], None], lane: str) -> None:
        """Run ``work``, then send the lane's next waiting work to the back of the pool's queue,
        so lanes with a backlog take turns with every other lane."""
        try:
            work()
        except Exception:  # pragma: no cover - _attempt records its own errors
            log.exception("delivery work failed")
        with self._lock:
            waiting = self._lane_waiting.get(lane)
            pool = self._pool
            if not waiting or pool is None:
                busy = self._lane_busy.get(lane, 1) - 1
                if busy > 0:
                    self._lane_busy[lane] = busy
                else:
                    self._lane_busy.pop(lane, None)
                return
            following = waiting.popleft()
            if not waiting:
                del self._lane_waiting[lane]
        with contextlib.suppress(RuntimeError):
            pool.submit(self._run_in_lane, following, lane)

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
        try:
            attempt = self._make_attempt(delivery, manual, barrier, due)
        except Exception as exc:  # pragma: no cover - defensive: the dispatcher must live on
            log.exception("internal error while attempting %s", delivery_id)
            attempt = Attempt(
                number=delivery.attempt_count + 1,
                at=due or self.clock.now(),
                status_code=None,
                error="internal_error",
                duration=0.0,
                message=f"lmif-mock internal error: {type(exc).__name__}: {exc}",
                trigger="manual" if manual else "scheduled",
            )
        try:
            return self._settle(delivery_id, attempt)
        finally:
            with self._idle:
                self._in_flight.discard(delivery_id)
                self._idle.notify_all()

    def _make_attempt(
        self,
        delivery: Delivery,
        manual: bool,
        barrier: threading.Barrier | None,
        due: datetime | None = None,
    ) -> Attempt:
        number = delivery.attempt_count + 1
        trigger: Trigger = "manual" if manual else "scheduled"
        at = due or self.clock.now()
        webhook = self.store.get_webhook(delivery.webhook_id)
        if webhook is None or not webhook.enabled:
            if barrier is not None:
                barrier.abort()
            kind = "webhook_deleted" if webhook is None else "webhook_disabled"
            return Attempt(number, at, None, kind, 0.0, f"not sent: {kind.replace('_', ' ')}",
                           trigger=trigger)  # fmt: skip
        signed = signed_request(
            delivery.body,
            webhook.secret,
            delivery.faults.signature,
            previous_secret=webhook.previous_secret,
            rng=self.rng,
            layout=delivery.faults.layout,
        )
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if signed.signature is not None:
            headers[SIGNATURE_HEADER] = signed.signature
        request = OutgoingRequest(self._url_of(webhook), signed.body, headers)
        transport = self._transport_for(webhook)
        timeout = delivery.policy.timeout.total_seconds()
        scripted = decide(delivery.faults.script, number, self.rng)
        if scripted is not None and scripted.error is not None:
            if barrier is not None:
                barrier.abort()
            return Attempt(number, at, None, scripted.error, 0.0, scripted.message,
                           trigger=trigger, signature=signed.signature,
                           script="; ".join(scripted.notes))  # fmt: skip
        late = start_late_copies(delivery.faults.script, number, transport, request, timeout)
        if barrier is not None:
            # A sibling that could not be sent breaks the barrier; send this one anyway.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=timeout)
        if late is not None:
            late.release(timeout)
        started = time.perf_counter()
        try:
            response: Response | None = transport.send(request, timeout)
            failure: TransportError | None = None
        except TransportError as exc:
            response, failure = None, exc
        duration = time.perf_counter() - started
        judged = self._judge(
            delivery, number, at, duration, trigger, signed.signature, response, failure
        )
        judged = with_retry_after(judged, response)
        notes = (*(scripted.notes if scripted else ()), *(late.notes(timeout) if late else ()))
        if not notes:
            return judged
        if scripted is not None and scripted.drop_answer and judged.error is None:
            lost = f"receiver answered {judged.status_code}; script: the answer was lost"
            judged = replace(judged, error="dropped", message=lost)
        return replace(judged, script="; ".join(notes))

    def _judge(
        self,
        delivery: Delivery,
        number: int,
        at: datetime,
        duration: float,
        trigger: Trigger,
        signature: str | None,
        response: Response | None,
        failure: TransportError | None,
    ) -> Attempt:
        """Decide success or failure the provider's way: a 2xx within the timeout, nothing else."""
        if response is None:
            assert failure is not None
            return Attempt(number, at, None, failure.kind, duration, failure.message,
                           trigger=trigger, signature=signature)  # fmt: skip
        excerpt = response.body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
        if len(excerpt) <= _SHARED_EXCERPT:
            excerpt = sys.intern(excerpt)  # "ok", "": one string for the session, not one each
        status = response.status
        error: str | None = None
        message: str | None = None
        if duration > delivery.policy.timeout.total_seconds():
            error, message = (
                "timeout",
                f"answered {status} after the {delivery.policy.timeout} timeout",
            )
        elif 200 <= status < 300:
            earlier_drops = sum(1 for a in delivery.attempts if a.error == "dropped")
            if earlier_drops < delivery.faults.drop_after_response:
                error, message = "dropped", f"receiver answered {status}; fault: response lost"
        elif 300 <= status < 400:
            location = response.headers.get("location", "")
            error, message = (
                "redirect",
                f"HTTP {status} to {location!r}; redirects are not followed",
            )
        else:
            error, message = "http_error", f"HTTP {status}"
        return Attempt(number, at, status, error, duration, message, excerpt,
                       trigger=trigger, signature=signature)  # fmt: skip

    def _settle(self, delivery_id: str, attempt: Attempt) -> datetime | None:
        """Record ``attempt`` and schedule the next; returns the next due time instead when a
        virtual clock has already passed it (the caller makes that attempt at once)."""
        overdue: datetime | None = None
        with self._lock:
            delivery = self.store.get_delivery(delivery_id)
            if delivery is None:
                return None
            status: DeliveryStatus
            next_at: datetime | None = None
            if attempt.succeeded:
                status = "succeeded"
            elif attempt.error == "webhook_deleted":
                status = "failed"  # nobody left to retry for
            else:
                used = delivery.scheduled_attempts + (attempt.trigger == "scheduled")
                delay = delivery.policy.delay_before(used + 1)
                was_open = delivery.status == "pending"
                if delay is not None and (was_open or attempt.trigger == "scheduled"):
                    later = extra_delay(delivery.faults.script, attempt.number + 1)
                    try:
                        status, next_at = "pending", attempt.at + delay + later
                    except OverflowError:  # past the year 9999: no retry can ever fall due
                        status = "failed"
                else:
                    status = "failed"
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

    # -- transports ---------------------------------------------------------------------------

    def _url_of(self, webhook: Webhook) -> str:
        return webhook.target if isinstance(webhook.target, str) else webhook.path

    def _transport_for(self, webhook: Webhook) -> Transport:
        target = webhook.target
        if target is None or isinstance(target, str):
            return self.http
        with self._lock:
            transport = self._app_transports.get(id(target))
            if transport is None:
                transport = transport_for_app(
                    target, enforce_timeout=self.enforce_inprocess_timeout
                )
                self._app_transports[id(target)] = transport
            return transport
