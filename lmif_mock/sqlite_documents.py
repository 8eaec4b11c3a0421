"""Records as the JSON documents :class:`~lmif_mock.sqlite_store.SQLiteStore` keeps, and back.

A document holds everything, secrets included (unlike the API's views in
:mod:`lmif_mock.http.representations`), with times as ISO 8601 text that keeps microseconds, so a
record read back after a restart equals the one written. Only the columns queries filter on, and
a delivery's exact payload bytes (a BLOB), are kept outside the document.
"""

from __future__ import annotations

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


def attempt_doc(attempt: Attempt) -> dict[str, Any]:
    """One attempt, as a part of its delivery's document."""
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
    }


def attempt_from_doc(doc: dict[str, Any]) -> Attempt:
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
    )


def delivery_doc(delivery: Delivery) -> str:
    """The document for ``delivery``, every attempt included; its body is stored beside it."""
    return json.dumps(
        {
            "id": delivery.id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "webhookId": delivery.webhook_id,
            "createdAt": time_text(delivery.created_at),
            "status": delivery.status,
            "attempts": [attempt_doc(a) for a in delivery.attempts],
            "nextAttemptAt": time_text(delivery.next_attempt_at),
            "faults": delivery.faults.to_dict(),
            "policy": delivery.policy.to_seconds(),
            "duplicateOf": delivery.duplicate_of,
        }
    )


def delivery_from_doc(doc: str, body: bytes) -> Delivery:
    """The delivery ``doc`` holds, with the exact payload bytes stored beside it."""
    raw = json.loads(doc)
    return Delivery(
        id=raw["id"],
        event_id=raw["eventId"],
        event_type=raw["eventType"],
        webhook_id=raw["webhookId"],
        created_at=parse_time(raw["createdAt"]),  # type: ignore[arg-type]
        status=raw["status"],
        attempts=tuple(attempt_from_doc(a) for a in raw["attempts"]),
        next_attempt_at=parse_time(raw["nextAttemptAt"]),
        body=bytes(body),
        faults=Faults.from_dict(raw["faults"]),
        policy=RetryPolicy.from_seconds(raw["policy"]),
        duplicate_of=raw["duplicateOf"],
    )
