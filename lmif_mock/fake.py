"""The fake LMIF itself, without any socket: webhooks, emit, deliveries, retry, reset.

:class:`FakeLMIF` wires the pure parts together (store, clock, event factory, dispatcher) and is
everything a test needs when receivers are in-process apps. :class:`lmif_mock.LMIFServer` adds the
HTTP API on top of exactly this object.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from copy import deepcopy
from typing import Any

from lmif_mock.clock import Clock, RealClock, VirtualClock
from lmif_mock.delivery_plans import MAX_DELIVERIES_PER_EMIT
from lmif_mock.dispatcher import Dispatcher
from lmif_mock.errors import ConflictError, EncodingError, NotFoundError, UnknownEventType
from lmif_mock.events import Event, check_event_type, check_json_value, check_text
from lmif_mock.faults import NO_FAULTS, FaultError, Faults, shuffled
from lmif_mock.health import Controlled
from lmif_mock.hosts import HostPolicy
from lmif_mock.payloads import REMOVE, EventFactory
from lmif_mock.records import Delivery, DeliveryStatus, Webhook
from lmif_mock.retry import RetryPolicy, RetryPolicyError
from lmif_mock.store import MemoryStore, Store
from lmif_mock.transcript import Recording
from lmif_mock.transports import HTTPTransport
from lmif_mock.unretryable import why_not_retryable
from lmif_mock.waiting import Waiting
from lmif_mock.webhooks import WebhookError, Webhooks
from lmif_mock.world import World

EventSpec = str | tuple[str, Mapping[str, Any]]
#: Longest event type (with ``allow_unknown``) or chosen event id accepted.
MAX_TYPE_LENGTH = 200


def _an_id(value: object, kind: str) -> str:
    """``value`` if it can be an id at all; anything else names nothing that exists."""
    if not isinstance(value, str):
        raise NotFoundError(f"no {kind} {value!r}")
    return value


def as_faults(faults: Faults | Mapping[str, Any] | None) -> Faults:
    """Accept faults as a :class:`Faults`, a plain mapping (as JSON gives it), or nothing."""
    if faults is None:
        return NO_FAULTS
    if isinstance(faults, Faults):
        return faults
    return Faults.from_dict(faults)


class FakeLMIF(Waiting, Recording, Controlled):
    """A complete fake provider in this process.

    ``seed`` fixes ids, generated data, secrets and fault choices (``None``: unpredictable);
    ``clock`` defaults to a :class:`VirtualClock`; ``allowed_hosts`` adds hosts beyond loopback
    that webhooks may point at; ``enforce_inprocess_timeout=False`` calls WSGI apps unwatched
    (a hung app then hangs the caller; with it, one called from the main thread runs there
    under the watchdog of :mod:`lmif_mock.watchdog`, and from other threads on a worker).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int | None = 0,
        retry_policy: RetryPolicy | None = None,
        store: Store | None = None,
        allowed_hosts: Iterable[str] = (),
        max_workers: int = 8,
        enforce_inprocess_timeout: bool = True,
    ) -> None:
        self.clock: Clock = clock if clock is not None else VirtualClock()
        self.seed = seed
        self.store: Store = store if store is not None else MemoryStore()
        self.factory = EventFactory(seed)
        self.hosts = HostPolicy(allowed_hosts)
        self._configured_policy = retry_policy or RetryPolicy()
        self.dispatcher = Dispatcher(
            self.store,
            self.clock,
            policy=self._configured_policy,
            rng=self.factory.random,
            http=HTTPTransport(self.hosts),
            max_workers=max_workers,
            enforce_inprocess_timeout=enforce_inprocess_timeout,
        )
        #: Faults applied to every emit that does not pass its own (the control API sets these).
        self.default_faults: Faults = NO_FAULTS
        #: Boxes, violations, grace periods and licenses, whose transitions emit events.
        self.world = World(self.clock, self.factory.new_id, self.factory.random, self.publish)
        self.webhooks = Webhooks(
            self.store,
            self.clock,
            lambda: self.factory.random,
            self.hosts,
            on_delete=self._forget,
            send_test=lambda event_type, ids: self.emit(event_type, webhook_ids=ids),
        )

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy new deliveries get."""
        return self.dispatcher.policy

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        self.dispatcher.policy = policy

    def emit(
        self,
        event_type: str,
        data: Mapping[str, Any] | None = None,
        *,
        faults: Faults | Mapping[str, Any] | None = None,
        retry_policy: RetryPolicy | None = None,
        allow_unknown: bool = False,
        event_id: str | None = None,
        webhook_ids: Iterable[str] | None = None,
    ) -> Event:
        """Create an event (``data`` deep-merged into generated data) and deliver it.

        Returns the copy of the first delivery made (the first subscribed webhook, in creation
        order), so ``.body`` holds the exact payload sent there; each webhook's copy differs only
        in ``meta.webhookId`` (:meth:`event_copies`). A ``layout`` or ``tampered_body`` fault
        changes the bytes on the wire per attempt: each attempt's ``request`` has them. With a
        virtual clock, first attempts are finished when this returns. Types outside the catalogue
        need ``allow_unknown=True`` and go to every enabled webhook, since none can subscribe to
        them by name. ``webhook_ids`` sends to those
        webhooks only, subscribed or not (what a "send test event" button does). An
        ``event_id`` that names a stored event sends that very event again (same type, same
        data, the faults given): it takes no ``data``, and another type is a ``ConflictError``;
        so is an emit that found a new id free but lost the race to store it to another payload.

        Everything given is checked before anything is stored, and the event is stored with all
        its deliveries at once; a refusal is a typed :class:`~lmif_mock.LMIFMockError`. Faults
        given here are strict (a ``previous_secret`` for a never-rotated webhook is refused);
        without them the global :attr:`default_faults` apply wherever they can.
        """
        targets = None if webhook_ids is None else self._targets(webhook_ids)
        explicit = as_faults(faults) if faults is not None else None
        if retry_policy is not None and not isinstance(retry_policy, RetryPolicy):
            raise RetryPolicyError(f"retry_policy must be a RetryPolicy, not {retry_policy!r}")
        event = self._build(event_type, data, allow_unknown, event_id)
        return self._deliver(event, explicit, retry_policy, targets)

    def publish(self, event_type: str, data: Mapping[str, Any]) -> Event:
        """Send an event whose ``data`` is already complete (the world's), generating nothing.

        The world calls this after releasing its lock, with the global default faults. The data
        is copied: the world's lists (a box's revenue types...) may change after it was sent."""
        check_event_type(event_type)
        check_json_value(data, "data")
        event = Event(self.factory.new_id("event"), event_type, self.clock.now(), deepcopy(data))
        return self._deliver(event, None, None)

    def emit_many(
        self,
        events: Iterable[EventSpec],
        *,
        shuffle: bool = False,
        faults: Faults | Mapping[str, Any] | None = None,
    ) -> list[Event]:
        """Emit several events; ``shuffle`` delivers them in a seeded random order.

        The returned list keeps the order given (and creation order), while receivers see the
        shuffled one: what a receiver meets when a ``box.updated`` overtakes its ``box.created``.
        """
        if isinstance(events, (str, bytes, Mapping)) or not isinstance(events, Iterable):
            raise UnknownEventType(events)
        built = []
        for spec in events:
            if isinstance(spec, str):
                event_type, data = spec, None
            elif isinstance(spec, (tuple, list)) and len(spec) == 2:
                event_type, data = spec
            else:
                raise UnknownEventType(spec)
            built.append(self._build(event_type, data, False, None))
        order = shuffled(built, self.factory.random) if shuffle else built
        explicit = as_faults(faults) if faults is not None else None
        total = sum(self._preflight(event, explicit) for event in order)
        if total > MAX_DELIVERIES_PER_EMIT and explicit is not None:
            raise FaultError(
                f"this batch would make {total} deliveries; at most {MAX_DELIVERIES_PER_EMIT} "
                "per emit (the cap)"
            )
        sent = {event.id: self._deliver(event, explicit, None) for event in order}
        return [sent[event.id] for event in built]

    def deliveries(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[Delivery]:
        """Deliveries, oldest first, filtered by event, webhook and status."""
        return self.store.list_deliveries(event_id, webhook_id, status)

    def delivery(self, delivery_id: str) -> Delivery:
        """One delivery by id."""
        found = self.store.get_delivery(_an_id(delivery_id, "delivery"))
        if found is None:
            raise NotFoundError(f"no delivery {delivery_id!r}")
        return found

    def events(self, event_type: str | None = None) -> list[Event]:
        """Emitted events, oldest first."""
        return self.store.list_events(event_type)

    def event_copies(self, event_id: str) -> dict[str, Event]:
        """Every webhook's copy of an emitted event, by webhook id, in delivery order.

        Each copy is the event as that webhook received it: ``meta.webhookId`` names the webhook
        and ``.body`` is its deliveries' payload, byte for byte (faults that re-lay or tamper with
        a body act per attempt: see :attr:`Attempt.request`)."""
        event = self.store.get_event(_an_id(event_id, "event"))
        if event is None:
            raise NotFoundError(f"no event {event_id!r}")
        copies: dict[str, Event] = {}
        for delivery in self.store.list_deliveries(event_id=event.id):
            if delivery.webhook_id not in copies:
                copy = event.for_webhook(delivery.webhook_id)
                copy.__dict__["body"] = delivery.body  # the stored bytes, not a re-encoding
                copies[delivery.webhook_id] = copy
        return copies

    def event_copy(self, event_id: str, webhook_id: str) -> Event:
        """The copy of an event that ``webhook_id`` received (see :meth:`event_copies`)."""
        copy = self.event_copies(event_id).get(webhook_id)
        if copy is None:
            raise NotFoundError(f"event {event_id!r} was not delivered to {webhook_id!r}")
        return copy

    def retry(self, delivery_id: str) -> Delivery:
        """Attempt a delivery again now (the dashboard's "Retry"); returns it resettled.

        A retry that cannot reach anyone (its webhook was deleted) is a ``ConflictError`` that
        says why, and records nothing, as the API and the dashboard refuse it."""
        checked = _an_id(delivery_id, "delivery")
        delivery = self.store.get_delivery(checked)
        why_not = None if delivery is None else why_not_retryable(delivery, self.store)
        if why_not is not None:
            raise ConflictError(f"delivery {checked} cannot be retried: {why_not}")
        return self.dispatcher.retry(checked)

    def resend(self, event_id: str, webhook_ids: Iterable[str] | None = None) -> list[Delivery]:
        """Deliver an emitted event again, same id and bytes, as new deliveries."""
        if webhook_ids is not None:
            webhook_ids = [w.id for w in self._targets(webhook_ids)]
        return self.dispatcher.resend(_an_id(event_id, "event"), webhook_ids)

    def reset(self) -> None:
        """Forget everything, cancel what is scheduled; seed, virtual clock, policy as at start."""
        self.dispatcher.reset()
        if isinstance(self.clock, VirtualClock):
            self.clock.reset()
        else:
            self.clock.clear()
        self.store.clear()
        self.default_faults = NO_FAULTS
        self.dispatcher.policy = self._configured_policy
        self.factory.reseed(self.seed)
        self.world.reset()
        self.reset_delivery_control()

    def close(self) -> None:
        """Stop background work (clock thread, worker pool, connections)."""
        self.dispatcher.close()
        if isinstance(self.clock, RealClock):
            self.clock.stop()

    def _targets(self, webhook_ids: Iterable[str]) -> list[Webhook]:
        if isinstance(webhook_ids, (str, bytes)) or not isinstance(webhook_ids, Iterable):
            raise WebhookError("webhook_ids must be a list of webhook ids")
        return [self.webhooks.get(w) for w in webhook_ids]

    def _build(
        self,
        event_type: str,
        data: Mapping[str, Any] | None,
        allow_unknown: bool,
        event_id: str | None,
    ) -> Event:
        """The event, once everything given has been checked (before anything is stored)."""
        if not allow_unknown:
            check_event_type(event_type)
        elif not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_TYPE_LENGTH:
            raise UnknownEventType(event_type)
        else:
            check_text(event_type, "type")
        if data is not None and not isinstance(data, Mapping):
            kind = type(data).__name__
            raise EncodingError(f"data must be a mapping (a JSON object), not a {kind}")
        check_json_value(data, "data", markers=(REMOVE,))
        if event_id is not None:
            if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_TYPE_LENGTH:
                raise EncodingError(f"event_id must be a short non-empty string, not {event_id!r}")
            check_text(event_id, "event_id")
            stored = self.store.get_event(event_id)
            if stored is not None:
                return _the_same_event_again(stored, event_type, data)
        return self.factory.build(
            event_type, self.clock.now(), data, event_id=event_id, allow_unknown=allow_unknown
        )

    def _preflight(self, event: Event, explicit: Faults | None) -> int:
        """Refuse now what :meth:`_deliver` would refuse, so a batch is all or nothing; returns
        how many deliveries the event would make."""
        event.body  # noqa: B018 - an event of the batch that cannot be encoded stops them all
        return self.dispatcher.check(
            event,
            explicit if explicit is not None else self.default_faults,
            self.dispatcher.subscribers(event.type),
            strict_faults=explicit is not None,
        )

    def _deliver(
        self,
        event: Event,
        explicit: Faults | None,
        policy: RetryPolicy | None,
        webhooks: list[Webhook] | None = None,
    ) -> Event:
        """Store and send; faults given with the emit are strict, the global defaults lenient."""
        deliveries = self.dispatcher.dispatch(
            event,
            faults=explicit if explicit is not None else self.default_faults,
            policy=policy,
            webhooks=webhooks,
            strict_faults=explicit is not None,
        )
        if deliveries:
            return event.for_webhook(deliveries[0].webhook_id)
        return event

    def _forget(self, webhook: Webhook) -> None:
        if webhook.target is not None and not isinstance(webhook.target, str):
            self.dispatcher.forget_app(webhook.target)


def _the_same_event_again(stored: Event, event_type: str, data: Mapping[str, Any] | None) -> Event:
    """An emit naming a stored event's id sends that very event again (as the provider re-sends
    an event): one id never stands for two payloads, so a different type or new data is refused."""
    if event_type != stored.type:
        raise ConflictError(
            f"event {stored.id!r} is a {stored.type} event; an emit reusing its id sends it "
            f"again, so it cannot be a {event_type} event"
        )
    if data is not None:
        raise ConflictError(
            f"event {stored.id!r} already exists; an emit reusing its id sends it again as "
            "stored, so it takes no data (use a new id for new data)"
        )
    return stored
