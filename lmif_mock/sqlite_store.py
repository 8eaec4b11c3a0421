"""A :class:`~lmif_mock.store.Store` in SQLite, so ``serve --db`` survives a crash.

WAL journal with ``synchronous=NORMAL``: every write is one autocommitted statement, durable
against the process being killed (``kill -9``) without an fsync per delivery attempt. Records are
stored as JSON documents next to the few columns queries filter on; the exact payload bytes are a
BLOB, so a delivery retried after a restart sends byte-for-byte what it sent before. What each
attempt sent is kept too: a reference to the payload, or to ``sent_body`` when a fault changed it.

In-process (WSGI/ASGI) webhook targets are Python objects and cannot be persisted: they live only
as long as the process, and a reloaded webhook without its app is left as its ``wsgi://`` URL.

The file holds the API key and every webhook secret, so it (and its ``-wal`` journal, which SQLite
creates with the same mode) is readable by its owner only. It carries a schema version
(``PRAGMA user_version``): an unversioned file from lmif-mock 0.1 is migrated in place, anything
else this code cannot read (another program's database, a newer lmif-mock's, a damaged file) is
refused with one :class:`DatabaseFileError` line saying why, before anything is written to it.
One server at a time: the file is locked exclusively while open.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lmif_mock.errors import LMIFMockError
from lmif_mock.events import Event
from lmif_mock.faults import Faults
from lmif_mock.records import Attempt, Delivery, DeliveryStatus, Webhook
from lmif_mock.retry import RetryPolicy

#: The layout this code writes; bump it with a migration in :data:`MIGRATIONS` when it changes.
SCHEMA_VERSION = 2
#: Owner read/write only: the file holds the API key and every webhook secret.
FILE_MODE = 0o600
#: The tables and columns every readable layout has (the unversioned 0.1 layout included).
REQUIRED_COLUMNS = {
    "webhooks": {"id", "doc"},
    "events": {"id", "type", "doc"},
    "deliveries": {"id", "event_id", "webhook_id", "status", "doc", "body"},
    "meta": {"key", "value"},
}

SCHEMA = """
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL,
    status TEXT NOT NULL,
    doc TEXT NOT NULL,
    body BLOB NOT NULL,
    sent_body BLOB
);
CREATE INDEX IF NOT EXISTS deliveries_event ON deliveries (event_id);
CREATE INDEX IF NOT EXISTS deliveries_webhook ON deliveries (webhook_id);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class DatabaseFileError(LMIFMockError):
    """The ``--db`` file cannot be used; the message is one line saying why and what to do."""


def _migrate_unversioned(db: sqlite3.Connection) -> None:
    """lmif-mock 0.1 wrote today's layout without a version: only the stamp is missing."""


def _add_sent_body(db: sqlite3.Connection) -> None:
    """Version 2 records the body each attempt sent; a body a fault changed is kept once per
    delivery in ``sent_body``. Attempts recorded before it say nothing about their request."""
    db.execute("ALTER TABLE deliveries ADD COLUMN sent_body BLOB")


#: ``from_version -> step``; each step brings a file one version forward inside one transaction.
MIGRATIONS = {0: _migrate_unversioned, 1: _add_sent_body}


def _owner_only(path: Path) -> None:
    """Create ``path`` readable by its owner only, or narrow an existing file to that mode.

    Created before SQLite opens it, so the secrets are never in a world-readable file, not even
    for a moment; SQLite gives its ``-wal``/``-shm`` files the database file's mode.
    """
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
        return
    except FileExistsError:
        pass
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            info = companion.stat()
        except FileNotFoundError:
            continue
        if stat.S_IMODE(info.st_mode) & 0o077 and info.st_uid == os.geteuid():
            companion.chmod(stat.S_IMODE(info.st_mode) & 0o700)


def _check_path(path: Path) -> None:
    """Refuse what is plainly not a database file before SQLite sees it (clearer messages)."""
    if path.is_dir():
        raise DatabaseFileError(
            f"{path} is a directory; give --db a file path, e.g. {path}/lmif.db"
        )
    if not path.parent.is_dir():
        raise DatabaseFileError(f"cannot create {path}: directory {path.parent} does not exist")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseFileError(
            f"{path} is read-only; lmif-mock records every delivery in it: make it writable "
            "or pass another --db"
        )


def _tables(db: sqlite3.Connection) -> dict[str, set[str]]:
    names = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {name: {row[1] for row in db.execute(f'PRAGMA table_info("{name}")')} for name in names}


def _explain(path: Path, exc: sqlite3.Error) -> str:
    """SQLite's complaint about ``path`` as one line a user can act on."""
    text = str(exc)
    advice = "move it aside or pass another --db"
    if "locked" in text:
        return f"{path} is in use by another lmif-mock (or program); stop it or pass another --db"
    if "readonly" in text:
        return f"{path} is read-only; lmif-mock records every delivery in it: make it writable"
    if "not a database" in text or "malformed" in text:
        return f"{path} is not an SQLite database or is damaged ({text}); {advice}"
    return f"cannot use {path} as the database ({text}); {advice}"


def _missing(tables: dict[str, set[str]]) -> list[str]:
    """What a readable layout needs and ``tables`` lacks, as ``table`` or ``table.column``."""
    absent = [name for name in REQUIRED_COLUMNS if name not in tables]
    short = [
        f"{name}.{column}"
        for name, columns in REQUIRED_COLUMNS.items()
        if name in tables
        for column in sorted(columns - tables[name])
    ]
    return absent + short


def _inspect(db: sqlite3.Connection, path: Path) -> tuple[int, bool]:
    """Check the file's integrity, version and layout without writing a byte to it; returns its
    version and whether it is new (empty)."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise DatabaseFileError(
            f"{path} is damaged ({problems[0]}); move it aside and start with a new --db file"
        )
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise DatabaseFileError(
            f"{path} was written by a newer lmif-mock (schema {version}; this one reads up to "
            f"{SCHEMA_VERSION}); upgrade lmif-mock or pass another --db"
        )
    tables = _tables(db)
    fresh = version == 0 and not tables
    missing = [] if fresh else _missing(tables)
    if missing:
        ours = set(tables) & set(REQUIRED_COLUMNS)
        kind = (
            "an lmif-mock layout that cannot be migrated" if ours else "not an lmif-mock database"
        )
        raise DatabaseFileError(
            f"{path} is {kind} (schema {version}, missing {', '.join(missing)}); "
            "move it aside or pass another --db"
        )
    return version, fresh


def _upgrade(db: sqlite3.Connection, version: int, fresh: bool) -> None:
    """Create or migrate the layout in one transaction: a failed step leaves the file as it was."""
    db.execute("BEGIN IMMEDIATE")
    try:
        while not fresh and version < SCHEMA_VERSION:
            MIGRATIONS[version](db)
            version += 1
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


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


def _faulted_body(delivery: Delivery) -> bytes | None:
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


def _attempt_doc(attempt: Attempt, payload: bytes, faulted: bytes | None) -> dict[str, Any]:
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
        "script": attempt.script,
        "retryAfter": attempt.retry_after,
        "sentBody": _sent_body_doc(attempt.sent_body, payload, faulted),
    }


def _attempt(doc: dict[str, Any], payload: bytes, faulted: bytes | None) -> Attempt:
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
        script=doc.get("script"),
        retry_after=doc.get("retryAfter"),
        sent_body=_sent_body(doc.get("sentBody"), payload, faulted),
    )


def _delivery_doc(delivery: Delivery, faulted: bytes | None) -> str:
    return json.dumps(
        {
            "id": delivery.id,
            "eventId": delivery.event_id,
            "eventType": delivery.event_type,
            "webhookId": delivery.webhook_id,
            "createdAt": _time(delivery.created_at),
            "status": delivery.status,
            "attempts": [
                _attempt_doc(attempt, delivery.body, faulted) for attempt in delivery.attempts
            ],
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
        self._apps: dict[str, Any] = {}
        _check_path(self.path)
        try:
            _owner_only(self.path)
        except OSError as exc:
            raise DatabaseFileError(f"cannot create {self.path}: {exc.strerror}") from None
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        try:
            # Exclusive: a second server on the same file would send every pending retry twice.
            self._db.execute("PRAGMA locking_mode=EXCLUSIVE")
            version, fresh = _inspect(self._db, self.path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            _upgrade(self._db, version, fresh)
        except sqlite3.Error as exc:
            self._db.close()
            raise DatabaseFileError(_explain(self.path, exc)) from None
        except DatabaseFileError:
            self._db.close()
            raise

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
        faulted = _faulted_body(delivery)
        self._write(
            "INSERT INTO deliveries (id, event_id, webhook_id, status, doc, body, sent_body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "status=excluded.status, doc=excluded.doc, sent_body=excluded.sent_body",
            delivery.id,
            delivery.event_id,
            delivery.webhook_id,
            delivery.status,
            _delivery_doc(delivery, faulted),
            delivery.body,
            faulted,
        )

    @staticmethod
    def _delivery(doc: str, body: bytes, sent_body: bytes | None) -> Delivery:
        raw = json.loads(doc)
        payload = bytes(body)
        faulted = bytes(sent_body) if sent_body is not None else None
        return Delivery(
            id=raw["id"],
            event_id=raw["eventId"],
            event_type=raw["eventType"],
            webhook_id=raw["webhookId"],
            created_at=_parse(raw["createdAt"]),  # type: ignore[arg-type]
            status=raw["status"],
            attempts=tuple(_attempt(doc, payload, faulted) for doc in raw["attempts"]),
            next_attempt_at=_parse(raw["nextAttemptAt"]),
            body=payload,
            faults=Faults.from_dict(raw["faults"]),
            policy=RetryPolicy.from_seconds(raw["policy"]),
            duplicate_of=raw["duplicateOf"],
        )

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._rows("SELECT doc, body, sent_body FROM deliveries WHERE id = ?", delivery_id)
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
        rows = self._rows(
            f"SELECT doc, body, sent_body FROM deliveries{where} ORDER BY rowid", *params
        )
        return [self._delivery(*row) for row in rows]

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
        return _parse(self.get_meta("clock"))
