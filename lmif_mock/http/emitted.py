"""What the API answers for an event it sent: the event, each webhook's copy, its deliveries.

Emitting, testing a webhook and reading an event back all answer this shape, and all wait the
same way for first attempts on a real clock, so the answer says what happened on a virtual one.
"""

from __future__ import annotations

import json
from typing import Any

from lmif_mock.fake import FakeLMIF
from lmif_mock.http.errors import not_found
from lmif_mock.http.representations import delivery_json, event_json
from lmif_mock.records import Delivery


def emitted_json(fake: FakeLMIF, event_id: str) -> dict[str, Any]:
    """The event, its per-webhook copies and its deliveries; NOT_FOUND for an unknown id."""
    event = fake.store.get_event(event_id)
    if event is None:
        raise not_found("event", event_id)
    deliveries = fake.deliveries(event_id=event_id)
    return {
        "event": event_json(event),
        "copies": copies_json(deliveries),
        "deliveries": [delivery_json(delivery) for delivery in deliveries],
    }


def copies_json(deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """The event as each webhook received it: ``meta.webhookId`` differs per webhook, so the
    bare ``event`` says null and each copy names its webhook and the deliveries that carried it."""
    by_webhook: dict[str, dict[str, Any]] = {}
    for delivery in deliveries:
        copy = by_webhook.get(delivery.webhook_id)
        if copy is None:
            by_webhook[delivery.webhook_id] = {
                "webhookId": delivery.webhook_id,
                "deliveryIds": [delivery.id],
                "envelope": json.loads(delivery.body),
            }
        else:
            copy["deliveryIds"].append(delivery.id)
    return list(by_webhook.values())


def settle_first_attempts(fake: FakeLMIF, event_id: str) -> None:
    """On a real clock, answer only once first attempts are made, as on a virtual one."""
    if fake.dispatcher.synchronous:
        return
    due_now = [
        delivery
        for delivery in fake.deliveries(event_id=event_id)
        if not delivery.faults.delay and not delivery.attempts
    ]
    if due_now:
        limit = max(delivery.policy.timeout.total_seconds() for delivery in due_now) + 5
        fake.dispatcher.wait_for_attempts([delivery.id for delivery in due_now], limit)
