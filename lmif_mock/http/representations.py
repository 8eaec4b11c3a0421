"""Records as the API shows them: camelCase keys and provider timestamps, like the real API."""

from __future__ import annotations

import base64
import json
from typing import Any

from lmif_mock.events import Event
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.timestamps import format_timestamp
from lmif_mock.wire import SentRequest


def webhook_json(webhook: Webhook, *, with_secret: bool = False) -> dict[str, Any]:
    """A webhook; the secret only on creation and rotation, as the provider shows it."""
    return webhook.to_public(with_secret=with_secret)


def attempt_json(attempt: Attempt, *, with_request: bool = False) -> dict[str, Any]:
    """One attempt, with the timing and the answer (or error) that decided it; ``with_request``
    adds the exact request it sent (see :func:`sent_request_json`)."""
    shown: dict[str, Any] = {
        "number": attempt.number,
        "at": format_timestamp(attempt.at),
        "trigger": attempt.trigger,
        "statusCode": attempt.status_code,
        "error": attempt.error,
        "message": attempt.message,
        "durationMs": round(attempt.duration * 1000, 3),
        "responseExcerpt": attempt.response_excerpt,
        "script": attempt.script,
        "retryAfter": attempt.retry_after,
    }
    if with_request:
        shown["request"] = sent_request_json(attempt.request)
    return shown


def sent_request_json(request: SentRequest | None) -> dict[str, Any] | None:
    """A request as sent: its headers, and exactly one of ``body`` (the bytes as UTF-8 text) or
    ``bodyBase64`` (the bytes in base64, when they are not UTF-8), as a transcript shows it, so
    one reader serves both. ``None``: nothing was sent (webhook disabled or deleted)."""
    if request is None:
        return None
    try:
        return {"headers": request.headers, "body": request.body.decode("utf-8")}
    except UnicodeDecodeError:
        body = base64.b64encode(request.body).decode("ascii")
        return {"headers": request.headers, "bodyBase64": body}


def delivery_json(delivery: Delivery, *, with_body: bool = False) -> dict[str, Any]:
    """A delivery with every attempt; ``with_body`` adds the payload (the delivery's canonical
    bytes) and each attempt's request exactly as sent, after faults."""
    shown: dict[str, Any] = {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "webhookId": delivery.webhook_id,
        "status": delivery.status,
        "createdAt": format_timestamp(delivery.created_at),
        "nextAttemptAt": (
            format_timestamp(delivery.next_attempt_at) if delivery.next_attempt_at else None
        ),
        "duplicateOf": delivery.duplicate_of,
        "faults": delivery.faults.to_dict() if delivery.faults.any else None,
        "attempts": [
            attempt_json(attempt, with_request=with_body) for attempt in delivery.attempts
        ],
    }
    if with_body:
        shown["payload"] = delivery.body.decode("utf-8", "replace")
    return shown


def event_json(event: Event) -> dict[str, Any]:
    """An emitted event's envelope; ``meta.webhookId`` is null, as each delivery has its own."""
    envelope: dict[str, Any] = json.loads(event.for_webhook("").body)
    envelope["meta"]["webhookId"] = None
    return envelope
