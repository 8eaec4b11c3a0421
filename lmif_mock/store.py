"""Where the fake keeps webhooks, events and deliveries, behind one small interface.

:class:`MemoryStore` is the default (tests want speed and nothing on disk); the SQLite store used
by ``serve --db`` implements the same :class:`Store` protocol so the dispatcher cannot tell them
apart. Records are immutable, so a store hands out the objects it holds without copying (the
memory store keeps an event as its bytes and decodes it when asked).
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple, Protocol

from lmif_mock.errors import ConflictError
from lmif_mock.events import Event
from lmif_mock.records import Delivery, DeliveryStatus, Webhook


class Store(Protocol):
    """The persistence the dispatcher and API need; every method is thread-safe."""

    def put_webhook(self, webhook: Webhook) -> None:
        """Insert or replace a webhook."""
        ...

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        """The webhook, or ``None``."""
        ...

    def list_webhooks(self) -> list[Webhook]:
        """All webhooks, oldest first."""
        ...

    def delete_webhook(self, webhook_id: str) -> bool:
        """Forget a webhook; ``False`` if there was none (its deliveries are kept)."""
        ...

    def add_event(self, event: Event) -> None:
        """Keep an emitted event (once; adding the same id again is ignored)."""
        ...

    def add_event_with_deliveries(self, event: Event, deliveries: Iterable[Delivery]) -> None:
        """Keep an event and its first deliveries together, in one step: a reader (or a crash)
        sees all of them or none."""
        ...

    def get_event(self, event_id: str) -> Event | None:
        """The event, or ``None``."""
        ...

    def list_events(self, event_type: str | None = None) -> list[Event]:
        """Events, oldest first, optionally of one type."""
        ...

    def put_delivery(self, delivery: Delivery) -> None:
        """Insert or replace a delivery."""
        ...

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        """The delivery, or ``None``."""
        ...

    def list_deliveries(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[Delivery]:
        """Deliveries matching every filter given, oldest first."""
        ...

    def event_ids(self, event_type: str | None = None) -> list[str]:
        """The ids of :meth:`list_events`, in its order, without reading the events: a page of
        a long list reads only its own."""
        ...

    def count_events(self) -> int:
        """How many events are kept."""
        ...

    def events_between(self, start: int, stop: int) -> list[Event]:
        """Events ``start`` to ``stop`` (excluded) in the order they were kept: one page of a
        long session without reading (or decoding) the rest of it."""
        ...

    def delivery_ids(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[str]:
        """The ids of :meth:`list_deliveries`, in its order, without reading the deliveries."""
        ...

    def count_deliveries(self) -> int:
        """How many deliveries are kept."""
        ...

    def deliveries_between(self, start: int, stop: int) -> list[Delivery]:
        """Deliveries ``start`` to ``stop`` (excluded), oldest first, as one page."""
        ...

    def clear(self) -> None:
        """Forget everything."""
        ...


class _StoredEvent(NamedTuple):
    """An event as the memory store keeps it: its bytes, not its data as Python objects.

    The data of a generated event is a tree of small dicts and strings several times the size
    of its JSON, and every delivery already keeps those bytes; a session of many events keeps
    only the bytes, and an event asked for is decoded from them (as the SQLite store does).
    Where a delivery holds the same event's bytes for its webhook, the event shares them
    (``body_webhook_id`` says whose copy they are) instead of keeping a second copy that differs
    only in ``meta.webhookId``: half the bytes a session keeps per event.
    """

    id: str
    type: str
    created_at: datetime
    webhook_id: str | None
    api_version: str
    body: bytes
    body_webhook_id: str | None

    @classmethod
    def of(cls, event: Event, deliveries: Sequence[Delivery] = ()) -> _StoredEvent:
        body, owner = event.body, event.webhook_id
        if deliveries and deliveries[0].event_id == event.id:
            first = deliveries[0]
            if event.for_webhook(first.webhook_id).body == first.body:
                body, owner = first.body, first.webhook_id
        return cls(
            event.id, event.type, event.created_at, event.webhook_id, event.api_version, body, owner
        )

    def event(self) -> Event:
        data = json.loads(self.body)["data"]
        found = Event(self.id, self.type, self.created_at, data, self.body_webhook_id,
                      self.api_version)  # fmt: skip
        found.__dict__["body"] = self.body  # the very bytes, not a re-encoding
        if self.body_webhook_id != self.webhook_id:
            return found.for_webhook(self.webhook_id)  # the same bytes, this copy's id spliced in
        return found


def raise_second_payload(event_id: str) -> None:
    """Two emits naming one new event id raced, and this one lost: its payload differs from the
    one stored meanwhile, and one id never stands for two payloads (what a receiver's
    de-duplication by id relies on). Nothing of the losing emit is stored."""
    raise ConflictError(
        f"event {event_id!r} was stored meanwhile with another payload; an emit reusing an id "
        "sends that event again as stored, so this one was not sent"
    )


class MemoryStore:
    """A :class:`Store` in dictionaries, indexed by event, webhook and status, so the queries
    tests make cost what they return, not what a long session has stored."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self._lock:
            self._webhooks: dict[str, Webhook] = {}
            self._events: dict[str, _StoredEvent] = {}
            self._deliveries: dict[str, Delivery] = {}
            self._by_event: dict[str, list[str]] = {}
            self._by_webhook: dict[str, list[str]] = {}
            #: Delivery ids by status, with each delivery's place in creation order as value.
            self._by_status: dict[str, dict[str, int]] = {}

    def put_webhook(self, webhook: Webhook) -> None:
        with self._lock:
            self._webhooks[webhook.id] = webhook

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        return self._webhooks.get(webhook_id)

    def list_webhooks(self) -> list[Webhook]:
        with self._lock:
            return list(self._webhooks.values())

    def delete_webhook(self, webhook_id: str) -> bool:
        with self._lock:
            return self._webhooks.pop(webhook_id, None) is not None

    def add_event(self, event: Event) -> None:
        with self._lock:
            if event.id not in self._events:
                self._events[event.id] = _StoredEvent.of(event)

    def add_event_with_deliveries(self, event: Event, deliveries: Iterable[Delivery]) -> None:
        deliveries = list(deliveries)
        with self._lock:
            known = self._events.get(event.id)
            if known is None:
                self._events[event.id] = _StoredEvent.of(event, deliveries)
            elif event.for_webhook(known.body_webhook_id).body != known.body:
                raise_second_payload(event.id)
            for delivery in deliveries:
                self.put_delivery(delivery)

    def get_event(self, event_id: str) -> Event | None:
        stored = self._events.get(event_id)
        return None if stored is None else stored.event()

    def list_events(self, event_type: str | None = None) -> list[Event]:
        with self._lock:
            stored = list(self._events.values())
        return [e.event() for e in stored if event_type is None or e.type == event_type]

    def event_ids(self, event_type: str | None = None) -> list[str]:
        with self._lock:
            stored = list(self._events.values())
        return [e.id for e in stored if event_type is None or e.type == event_type]

    def count_events(self) -> int:
        return len(self._events)

    def events_between(self, start: int, stop: int) -> list[Event]:
        with self._lock:
            stored = list(itertools.islice(self._events.values(), start, max(start, stop)))
        return [e.event() for e in stored]

    def delivery_ids(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[str]:
        return [d.id for d in self._matching(event_id, webhook_id, status)]

    def count_deliveries(self) -> int:
        return len(self._deliveries)

    def deliveries_between(self, start: int, stop: int) -> list[Delivery]:
        with self._lock:
            return list(itertools.islice(self._deliveries.values(), start, max(start, stop)))

    def put_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            known = self._deliveries.get(delivery.id)
            if known is None:
                self._by_event.setdefault(delivery.event_id, []).append(delivery.id)
                self._by_webhook.setdefault(delivery.webhook_id, []).append(delivery.id)
                place = len(self._deliveries)
                self._by_status.setdefault(delivery.status, {})[delivery.id] = place
            elif known.status != delivery.status:
                place = self._by_status[known.status].pop(delivery.id)
                self._by_status.setdefault(delivery.status, {})[delivery.id] = place
            self._deliveries[delivery.id] = delivery

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        return self._deliveries.get(delivery_id)

    def list_deliveries(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[Delivery]:
        return self._matching(event_id, webhook_id, status)

    def _matching(
        self, event_id: str | None, webhook_id: str | None, status: DeliveryStatus | None
    ) -> list[Delivery]:
        with self._lock:
            if event_id is not None:
                ids: Iterable[str] = self._by_event.get(event_id, ())
            elif webhook_id is not None and (
                status is None
                or len(self._by_webhook.get(webhook_id, ())) <= len(self._by_status.get(status, {}))
            ):
                ids = self._by_webhook.get(webhook_id, ())
            elif status is not None:
                # Oldest first: the index remembers each delivery's place in creation order.
                in_status = self._by_status.get(status, {})
                ids = sorted(in_status, key=in_status.__getitem__)
            else:
                ids = self._deliveries
            found = (self._deliveries[i] for i in ids)
            return [
                d
                for d in found
                if (webhook_id is None or d.webhook_id == webhook_id)
                and (status is None or d.status == status)
            ]
