"""The examples' shared storage: a real SQLite database that makes 'process once' atomic.

A receiver records an event's id in ``processed_events`` (primary key) and applies its effect in
the same transaction; a duplicate, even one arriving at the same instant, fails the insert and
changes nothing. ``effects`` is what the receiver did, which is what the tests count.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS processed_events (event_id TEXT PRIMARY KEY, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS effects (event_id TEXT NOT NULL, effect TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS boxes (
    box_id TEXT PRIMARY KEY, identity_name TEXT NOT NULL, policy TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS grace_periods (
    grace_period_id TEXT PRIMARY KEY, box_id TEXT NOT NULL, expires_at TEXT NOT NULL,
    status TEXT NOT NULL
);
"""


class Ledger:
    """What a receiver knows and has done, kept in SQLite."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        with self._connect() as db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def record(self, event: dict[str, Any]) -> bool:
        """Apply ``event`` once; ``False`` if it was already processed (a duplicate)."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT INTO processed_events (event_id, type) VALUES (?, ?)",
                    (event["id"], event["type"]),
                )
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                return False
            self._apply(db, event)
            db.execute("COMMIT")
            return True
        finally:
            db.close()

    def _apply(self, db: sqlite3.Connection, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        kind = event["type"]
        if kind == "box.created":
            db.execute(
                "INSERT OR REPLACE INTO boxes VALUES (?, ?, ?)",
                (data["boxId"], data["identityName"], data["policy"]),
            )
            effect = f"rescan avatars for {data['identityName']}"
        elif kind == "box.updated":
            policy = (data.get("changes") or {}).get("policy") or {}
            if "to" in policy:
                db.execute(
                    "UPDATE boxes SET policy = ? WHERE box_id = ?", (policy["to"], data["boxId"])
                )
            effect = "re-evaluate avatars"
        elif kind == "grace_period.started":
            db.execute(
                "INSERT OR REPLACE INTO grace_periods VALUES (?, ?, ?, 'active')",
                (data["gracePeriodId"], data["boxId"], data["expiresAt"]),
            )
            effect = f"notify {len(data.get('affectedAvatars', []))} creators"
        elif kind == "grace_period.expired":
            db.execute(
                "UPDATE grace_periods SET status = 'expired' WHERE grace_period_id = ?",
                (data["gracePeriodId"],),
            )
            effect = "deactivate unlicensed avatars"
        else:
            effect = f"noted {kind}"
        db.execute("INSERT INTO effects VALUES (?, ?)", (event["id"], effect))

    def times_processed(self, event_id: str) -> int:
        """How many effects were applied for ``event_id`` (a correct receiver: 0 or 1)."""
        with self._connect() as db:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM effects WHERE event_id = ?", (event_id,)
            ).fetchone()
        return int(count)

    def box_policy(self, box_id: str) -> str | None:
        """The policy the receiver believes a box has."""
        with self._connect() as db:
            row = db.execute("SELECT policy FROM boxes WHERE box_id = ?", (box_id,)).fetchone()
        return None if row is None else str(row[0])

    def dump(self) -> str:
        """Everything, for a failing test's message."""
        with self._connect() as db:
            return json.dumps(db.execute("SELECT * FROM effects").fetchall())
