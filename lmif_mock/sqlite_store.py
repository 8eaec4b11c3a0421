"""A :class:`~lmif_mock.store.Store` in SQLite, so ``serve --db`` survives a crash.

WAL journal with ``synchronous=NORMAL``: every write is one autocommitted statement, durable
against the process being killed (``kill -9``) without an fsync per delivery attempt. Records are
stored as JSON documents next to the few columns queries filter on; the exact payload bytes are a
BLOB, so a delivery retried after a restart sends byte-for-byte what it sent before.

In-process (WSGI/ASGI) webhook targets are Python objects and cannot be persisted: they live only
as long as the process, and a reloaded webhook without its app is left as its ``wsgi://`` URL.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lmif_mock.events import Event
from lmif_mock.faults import Faults
from lmif_mock.records import Attempt, Delivery, DeliveryStatus, Webhook
from lmif_mock.retry import RetryPolicy

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_webhook ON deliveries (webhook_id);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse(value: str | None) -> datetime | None:
    """Read back what :func:`_time` wrote (aware, microseconds kept)."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _webhook_doc(webhook: Webhook) -> str:
    return json.dumps(
        {
            "id": webhook.id,
            "url": webhook.url,
            "events": list(webhook.events),
            "secret": webhook.secret,
            "createdAt": _time(webhook.created_at),
            "enabled": webhook.enabled,
            "previousSecret": webhook.previous_secret,
            "path": webhook.path,
        }
    )


def _attempt_doc(attempt: Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "at": _time(attempt.at),
        "statusCode": attempt.status_code,
        "error": attempt.error,
        "duration": attempt.duration,
        "message": attempt.message,
        "responseExcerpt": attempt.response_excerpt,
        "trigger": attempt.trigger,
        "signature": attempt.signature,
    }


def _attempt(doc: dict[str, Any]) -> Attempt:
    return Attempt(
        number=doc["number"],
        at=_parse(doc["at"]),  # type: ignore[arg-type]
        status_code=doc["statusCode"],
        error=doc["error"],
        duration=doc["duration"],
        message=doc["message"],
        response_excerpt=doc["responseExcerpt"],
        trigger=doc["trigger"],
        signature=doc["signature"],
    )


def _delivery_doc(delivery: Delivery) -> str:
    return json.dumps(
        {
            "id": delivery.id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "webhookId": delivery.webhook_id,
            "createdAt": _time(delivery.created_at),
            "status": delivery.status,
            "attempts": [_attempt_doc(a) for a in delivery.attempts],
            "nextAttemptAt": _time(delivery.next_attempt_at),
            "faults": delivery.faults.to_dict(),
            "policy": delivery.policy.to_seconds(),
            "duplicateOf": delivery.duplicate_of,
        }
    )


class SQLiteStore:
    """A thread-safe store in one SQLite file (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._apps: dict[str, Any] = {}

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    def _rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _write(self, sql: str, *params: Any) -> None:
        with self._lock:
            self._db.execute(sql, params)

    def clear(self) -> None:
        with self._lock:
            self._db.executescript(
                "BEGIN; DELETE FROM webhooks; DELETE FROM events; DELETE FROM deliveries; "
                "DELETE FROM meta; COMMIT;"
            )
            self._apps.clear()

    # webhooks ----------------------------------------------------------------------------------

    def put_webhook(self, webhook: Webhook) -> None:
        if webhook.target is not None and not isinstance(webhook.target, str):
            self._apps[webhook.id] = webhook.target
        self._write(
            "INSERT INTO webhooks (id, doc) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET doc=excluded.doc",
            webhook.id,
            _webhook_doc(webhook),
        )

    def _webhook(self, doc: str) -> Webhook:
        raw = json.loads(doc)
        target = self._apps.get(raw["id"], raw["url"] if raw["url"].startswith("http") else None)
        return Webhook(
            id=raw["id"],
            url=raw["url"],
            events=tuple(raw["events"]),
            secret=raw["secret"],
            created_at=_parse(raw["createdAt"]),  # type: ignore[arg-type]
            enabled=raw["enabled"],
            previous_secret=raw["previousSecret"],
            path=raw["path"],
            target=target,
        )

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        rows = self._rows("SELECT doc FROM webhooks WHERE id = ?", webhook_id)
        return self._webhook(rows[0][0]) if rows else None

    def list_webhooks(self) -> list[Webhook]:
        return [
            self._webhook(doc) for (doc,) in self._rows("SELECT doc FROM webhooks ORDER BY rowid")
        ]

    def delete_webhook(self, webhook_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
            self._apps.pop(webhook_id, None)
            return cursor.rowcount > 0

    # events ------------------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        envelope = event.envelope()
        self._write(
            "INSERT OR IGNORE INTO events (id, type, doc) VALUES (?, ?, ?)",
            event.id,
            event.type,
            json.dumps(envelope, ensure_ascii=False),
        )

    def add_event_with_deliveries(self, event: Event, deliveries: Iterable[Delivery]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self.add_event(event)
                for delivery in deliveries:
                    self.put_delivery(delivery)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_event(self, event_id: str) -> Event | None:
        rows = self._rows("SELECT doc FROM events WHERE id = ?", event_id)
        return Event.from_envelope(json.loads(rows[0][0])) if rows else None

    def list_events(self, event_type: str | None = None) -> list[Event]:
        if event_type is None:
            rows = self._rows("SELECT doc FROM events ORDER BY rowid")
        else:
            rows = self._rows("SELECT doc FROM events WHERE type = ? ORDER BY rowid", event_type)
        return [Event.from_envelope(json.loads(doc)) for (doc,) in rows]

    # deliveries --------------------------------------------------------------------------------

    def put_delivery(self, delivery: Delivery) -> None:
        self._write(
            "INSERT INTO deliveries (id, event_id, webhook_id, status, doc, body) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "status=excluded.status, doc=excluded.doc",
            delivery.id,
            delivery.event_id,
            delivery.webhook_id,
            delivery.status,
            _delivery_doc(delivery),
            delivery.body,
        )

    @staticmethod
    def _delivery(doc: str, body: bytes) -> Delivery:
        raw = json.loads(doc)
        return Delivery(
            id=raw["id"],
            event_id=raw["eventId"],
            event_type=raw["eventType"],
            webhook_id=raw["webhookId"],
            created_at=_parse(raw["createdAt"]),  # type: ignore[arg-type]
            status=raw["status"],
            attempts=tuple(_attempt(a) for a in raw["attempts"]),
            next_attempt_at=_parse(raw["nextAttemptAt"]),
            body=bytes(body),
            faults=Faults.from_dict(raw["faults"]),
            policy=RetryPolicy.from_seconds(raw["policy"]),
            duplicate_of=raw["duplicateOf"],
        )

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._rows("SELECT doc, body FROM deliveries WHERE id = ?", delivery_id)
        return self._delivery(*rows[0]) if rows else None

    def list_deliveries(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[Delivery]:
        clauses, params = [], []
        for column, value in (
            ("event_id", event_id),
            ("webhook_id", webhook_id),
            ("status", status),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(f"SELECT doc, body FROM deliveries{where} ORDER BY rowid", *params)
        return [self._delivery(doc, body) for doc, body in rows]

    # small settings that must survive a restart (the API key, the clock's position) ----------

    def put_meta(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key``."""
        self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            key,
            value,
        )

    def get_meta(self, key: str) -> str | None:
        """The value saved under ``key``, if any."""
        rows = self._rows("SELECT value FROM meta WHERE key = ?", key)
        return str(rows[0][0]) if rows else None

    def save_clock(self, now: datetime) -> None:
        """Remember the clock's current instant."""
        self.put_meta("clock", now.isoformat())

    def load_clock(self) -> datetime | None:
        """The instant last saved, if any."""
        return _parse(self.get_meta("clock"))
