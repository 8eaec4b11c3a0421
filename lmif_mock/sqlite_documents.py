"""Records as the JSON documents :class:`~lmif_mock.sqlite_store.SQLiteStore` keeps, and back.

A document holds everything, secrets included (unlike the API's views in
:mod:`lmif_mock.http.representations`), with times as ISO 8601 text that keeps microseconds, so a
record read back after a restart equals the one written. Only the columns queries filter on, and
a delivery's exact payload bytes (a BLOB), are kept outside the document; so is the body its
attempts sent when a fault changed it (``sent_body``), which each attempt's document refers to.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from lmif_mock.faults import Faults
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.retry import RetryPolicy


def time_text(value: datetime | None) -> str | None:
    """``value`` as stored: ISO 8601, offset and microseconds kept."""
    return value.isoformat() if value is not None else None


def parse_time(value: str | None) -> datetime | None:
    """Read back what :func:`time_text` wrote (aware, microseconds kept)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def webhook_doc(webhook: Webhook) -> str:
    """The document for ``webhook``; an in-process app target is not in it (see the store)."""
    return json.dumps(
        {
            "id": webhook.id,
            "url": webhook.url,
            "events": list(webhook.events),
            "secret": webhook.secret,
            "createdAt": time_text(webhook.created_at),
            "enabled": webhook.enabled,
            "previousSecret": webhook.previous_secret,
            "path": webhook.path,
        }
    )


def webhook_from_doc(doc: str, apps: Mapping[str, Any]) -> Webhook:
    """The webhook ``doc`` holds, its target the app in ``apps`` under its id if one is there."""
    raw = json.loads(doc)
    target = apps.get(raw["id"], raw["url"] if raw["url"].startswith("http") else None)
    return Webhook(
        id=raw["id"],
        url=raw["url"],
        events=tuple(raw["events"]),
        secret=raw["secret"],
        created_at=parse_time(raw["createdAt"]),  # type: ignore[arg-type]
        enabled=raw["enabled"],
        previous_secret=raw["previousSecret"],
        path=raw["path"],
        target=target,
    )


def faulted_body(delivery: Delivery) -> bytes | None:
    """The first body an attempt sent that is not the delivery's own (a fault changed it): the
    one kept in the ``sent_body`` column. Faults change the body the same way on every attempt."""
    for attempt in delivery.attempts:
        sent = attempt.sent_body
        if sent is not None and sent is not delivery.body and sent != delivery.body:
            return sent
    return None


def _sent_body_doc(sent: bytes | None, payload: bytes, faulted: bytes | None) -> Any:
    """Where an attempt's sent body is: ``"payload"`` (the ``body`` column), ``"faulted"``
    (the ``sent_body`` column), inline base64 for any other, ``None`` if nothing was sent."""
    if sent is None:
        return None
    if sent is payload or sent == payload:
        return "payload"
    if sent is faulted or sent == faulted:
        return "faulted"
    return {"base64": base64.b64encode(sent).decode("ascii")}


def _sent_body(doc: Any, payload: bytes, faulted: bytes | None) -> bytes | None:
    """Read back what :func:`_sent_body_doc` wrote (sharing the delivery's bytes objects)."""
    if doc == "payload":
        return payload
    if doc == "faulted":
        return faulted
    if isinstance(doc, dict):
        return base64.b64decode(doc["base64"])
    return None


def attempt_doc(attempt: Attempt, payload: bytes, faulted: bytes | None) -> dict[str, Any]:
    """One attempt, as a part of its delivery's document (``payload`` and ``faulted``: the
    bodies stored beside it, which its sent body refers to)."""
    return {
        "number": attempt.number,
        "at": time_text(attempt.at),
        "statusCode": attempt.status_code,
        "error": attempt.error,
        "duration": attempt.duration,
        "message": attempt.message,
        "responseExcerpt": attempt.response_excerpt,
        "trigger": attempt.trigger,
        "signature": attempt.signature,
        "script": attempt.script,
        "retryAfter": attempt.retry_after,
        "sentBody": _sent_body_doc(attempt.sent_body, payload, faulted),
    }


def attempt_from_doc(doc: dict[str, Any], payload: bytes, faulted: bytes | None) -> Attempt:
    """Read back :func:`attempt_doc`; keys added later are optional, so older files still load."""
    return Attempt(
        number=doc["number"],
        at=parse_time(doc["at"]),  # type: ignore[arg-type]
        status_code=doc["statusCode"],
        error=doc["error"],
        duration=doc["duration"],
        message=doc["message"],
        response_excerpt=doc["responseExcerpt"],
        trigger=doc["trigger"],
        signature=doc["signature"],
        script=doc.get("script"),
        retry_after=doc.get("retryAfter"),
        sent_body=_sent_body(doc.get("sentBody"), payload, faulted),
    )


def delivery_doc(delivery: Delivery, faulted: bytes | None) -> str:
    """The document for ``delivery``, every attempt included; its body, and the ``faulted`` body
    its attempts sent (:func:`faulted_body`), are stored beside it."""
    return json.dumps(
        {
            "id": delivery.id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "webhookId": delivery.webhook_id,
            "createdAt": time_text(delivery.created_at),
            "status": delivery.status,
            "attempts": [
                attempt_doc(attempt, delivery.body, faulted) for attempt in delivery.attempts
            ],
            "nextAttemptAt": time_text(delivery.next_attempt_at),
            "faults": delivery.faults.to_dict(),
            "policy": delivery.policy.to_seconds(),
            "duplicateOf": delivery.duplicate_of,
        }
    )


def delivery_from_doc(doc: str, body: bytes, sent_body: bytes | None = None) -> Delivery:
    """The delivery ``doc`` holds, with the exact payload bytes stored beside it (and the body a
    fault made its attempts send, if any)."""
    raw = json.loads(doc)
    payload = bytes(body)
    faulted = bytes(sent_body) if sent_body is not None else None
    return Delivery(
        id=raw["id"],
        event_id=raw["eventId"],
        event_type=raw["eventType"],
        webhook_id=raw["webhookId"],
        created_at=parse_time(raw["createdAt"]),  # type: ignore[arg-type]
        status=raw["status"],
        attempts=tuple(attempt_from_doc(part, payload, faulted) for part in raw["attempts"]),
        next_attempt_at=parse_time(raw["nextAttemptAt"]),
        body=payload,
        faults=Faults.from_dict(raw["faults"]),
        policy=RetryPolicy.from_seconds(raw["policy"]),
        duplicate_of=raw["duplicateOf"],
    )
