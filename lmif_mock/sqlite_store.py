"""A :class:`~lmif_mock.store.Store` in SQLite, so ``serve --db`` survives a crash.

Records are stored as JSON documents (:mod:`lmif_mock.sqlite_documents`) next to the few columns
queries filter on; the exact payload bytes are a BLOB, so a delivery retried after a restart sends
byte-for-byte what it sent before. What each attempt sent is kept too: a reference to the
payload, or to ``sent_body`` when a fault changed it. Opening the file (its permissions, lock,
schema version and migration) is :mod:`lmif_mock.sqlite_file`'s job; this module only reads and
writes records.

In-process (WSGI/ASGI) webhook targets are Python objects and cannot be persisted: they live only
as long as the process, and a reloaded webhook without its app is left as its ``wsgi://`` URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from lmif_mock.events import Event
from lmif_mock.records import Delivery, DeliveryStatus, Webhook
from lmif_mock.sqlite_documents import (
    delivery_doc,
    delivery_from_doc,
    faulted_body,
    parse_time,
    webhook_doc,
    webhook_from_doc,
)
from lmif_mock.sqlite_file import SCHEMA_VERSION, DatabaseFileError, open_database
from lmif_mock.store import raise_second_payload

__all__ = ["SCHEMA_VERSION", "DatabaseFileError", "SQLiteStore"]


class SQLiteStore:
    """A thread-safe store in one SQLite file (one connection behind a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._apps: dict[str, Any] = {}
        self._db = open_database(self.path)

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
        """Forget every record; settings in ``meta`` (the API key, the clock...) stay, since a
        reset starts the records again, not the server's identity (their owner resets them)."""
        with self._lock:
            self._db.executescript(
                "BEGIN; DELETE FROM webhooks; DELETE FROM events; DELETE FROM deliveries; COMMIT;"
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
            webhook_doc(webhook),
        )

    def get_webhook(self, webhook_id: str) -> Webhook | None:
        rows = self._rows("SELECT doc FROM webhooks WHERE id = ?", webhook_id)
        return webhook_from_doc(rows[0][0], self._apps) if rows else None

    def list_webhooks(self) -> list[Webhook]:
        rows = self._rows("SELECT doc FROM webhooks ORDER BY rowid")
        return [webhook_from_doc(doc, self._apps) for (doc,) in rows]

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
                known = self._rows("SELECT doc FROM events WHERE id = ?", event.id)
                if known and _wire_bytes(json.loads(known[0][0])) != event.for_webhook(None).body:
                    raise_second_payload(event.id)
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

    def event_ids(self, event_type: str | None = None) -> list[str]:
        if event_type is None:
            rows = self._rows("SELECT id FROM events ORDER BY rowid")
        else:
            rows = self._rows("SELECT id FROM events WHERE type = ? ORDER BY rowid", event_type)
        return [str(event_id) for (event_id,) in rows]

    def count_events(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM events")[0][0])

    def events_between(self, start: int, stop: int) -> list[Event]:
        rows = self._rows(
            "SELECT doc FROM events ORDER BY rowid LIMIT ? OFFSET ?", max(0, stop - start), start
        )
        return [Event.from_envelope(json.loads(doc)) for (doc,) in rows]

    # deliveries --------------------------------------------------------------------------------

    def count_deliveries(self) -> int:
        return int(self._rows("SELECT COUNT(*) FROM deliveries")[0][0])

    def deliveries_between(self, start: int, stop: int) -> list[Delivery]:
        rows = self._rows(
            "SELECT doc, body, sent_body FROM deliveries ORDER BY rowid LIMIT ? OFFSET ?",
            max(0, stop - start),
            start,
        )
        return [delivery_from_doc(*row) for row in rows]

    def put_delivery(self, delivery: Delivery) -> None:
        faulted = faulted_body(delivery)
        self._write(
            "INSERT INTO deliveries (id, event_id, webhook_id, status, doc, body, sent_body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "status=excluded.status, doc=excluded.doc, sent_body=excluded.sent_body",
            delivery.id,
            delivery.event_id,
            delivery.webhook_id,
            delivery.status,
            delivery_doc(delivery, faulted),
            delivery.body,
            faulted,
        )

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._rows("SELECT doc, body, sent_body FROM deliveries WHERE id = ?", delivery_id)
        return delivery_from_doc(*rows[0]) if rows else None

    def list_deliveries(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[Delivery]:
        where, params = _delivery_filter(event_id, webhook_id, status)
        rows = self._rows(
            f"SELECT doc, body, sent_body FROM deliveries{where} ORDER BY rowid", *params
        )
        return [delivery_from_doc(*row) for row in rows]

    def delivery_ids(
        self,
        event_id: str | None = None,
        webhook_id: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> list[str]:
        where, params = _delivery_filter(event_id, webhook_id, status)
        rows = self._rows(f"SELECT id FROM deliveries{where} ORDER BY rowid", *params)
        return [str(delivery_id) for (delivery_id,) in rows]

    # small settings that must survive a restart (the API key, the clock's position) ----------

    def put_meta(self, key: str, value: str) -> None:
        """Remember ``value`` under ``key``."""
        self._write(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            key,
            value,
        )

    def delete_meta(self, key: str) -> None:
        """Forget the value saved under ``key`` (nothing happens if there is none)."""
        self._write("DELETE FROM meta WHERE key = ?", key)

    def get_meta(self, key: str) -> str | None:
        """The value saved under ``key``, if any."""
        rows = self._rows("SELECT value FROM meta WHERE key = ?", key)
        return str(rows[0][0]) if rows else None

    def save_clock(self, now: datetime) -> None:
        """Remember the clock's current instant."""
        self.put_meta("clock", now.isoformat())

    def load_clock(self) -> datetime | None:
        """The instant last saved, if any."""
        return parse_time(self.get_meta("clock"))


def _wire_bytes(envelope: dict[str, Any]) -> bytes:
    """The bytes a stored event is sent as (addressed to no webhook): what makes two events the
    same event is what a receiver reads, so ``true`` is not ``1`` and key order counts, as it
    does for the memory store, which compares the bytes themselves."""
    return Event.from_envelope(envelope).for_webhook(None).body


def _delivery_filter(
    event_id: str | None, webhook_id: str | None, status: str | None
) -> tuple[str, list[str]]:
    """The WHERE clause (and its parameters) of a delivery query filtered as asked."""
    clauses, params = [], []
    for column, value in (("event_id", event_id), ("webhook_id", webhook_id), ("status", status)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params
