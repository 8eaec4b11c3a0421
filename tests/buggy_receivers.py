"""Receivers written the way teams write them (Flask or FastAPI, a SQLite file, one connection
per request, an optional background worker), one correct in each of three styles and one per bug
the receiver checks must catch.

No receiver here sleeps to widen a race: the racy one is a plain SELECT, then INSERT, then side
effect, as found in real code. Every receiver records what it *did* in an ``effects`` table,
which is what the checks' ``processed`` callable counts.
"""

from __future__ import annotations

import collections
import contextlib
import hashlib
import hmac
import json
import queue
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request, Response
from flask import Flask, request

from lmif_mock import verify

SECRET = "lmif_whsec_receiver_under_test"
PATH = "/webhooks/lmif"

#: Correct receivers: the "process once" step is atomic in each of these ways.
STYLES = ("atomic", "lock", "queue")

#: Each bug, with the check that owns it. The receiver is otherwise correct (atomic style).
BUGS: dict[str, str] = {
    "skips_verification": "rejects_bad_signatures",
    "copied_node_check": "rejects_bad_signatures",
    "acts_before_verifying": "rejects_bad_signatures",
    "queue_acts_before_verifying": "rejects_bad_signatures",
    "reserialises_json": "verifies_raw_bytes",
    "reserialises_ascii_json": "verifies_raw_bytes",
    "no_dedup": "idempotent_sequential",
    "refuses_duplicates": "idempotent_sequential",
    "racy_dedup": "idempotent_concurrent",
    "short_memory": "remembers_duplicates",
    "marks_seen_before_verifying": "forged_copies_do_not_block",
    "dedup_on_type": "distinct_events_processed",
    "dedup_on_box": "distinct_events_processed",
    "rejects_unknown_types": "unknown_types_acknowledged",
    "rejects_unknown_actions": "unknown_types_acknowledged",
    "strict_fields": "unknown_fields_tolerated",
    "latin1_names": "accepts_non_ascii_text",
    "slow": "answers_within_timeout",
}

KNOWN_CATEGORIES = ("box", "violation", "grace_period", "license", "detection")
HANDLED = {
    "box": ("created", "updated", "deleted"),
    "violation": ("detected", "resolved", "appealed"),
    "grace_period": ("started", "reminder", "ending", "expired", "resolved"),
    "license": ("requested", "approved", "denied", "expiring", "expired", "revoked"),
    "detection": ("match_found", "scan_complete"),
}


@dataclass(frozen=True)
class BoxCreated:
    """A strict parse of box.created's data, as a typed model without 'extra=ignore' would do."""

    boxId: str  # noqa: N815 - the provider's field names
    claimId: str  # noqa: N815
    identityName: str  # noqa: N815
    entityType: str  # noqa: N815
    policy: str
    enforcement: str
    policyConfig: dict[str, Any]  # noqa: N815


class Receiver:
    """A webhook receiver backed by a SQLite file, with ``bug`` (or none) and a ``style``.

    ``app`` is the Flask (WSGI) app, ``asgi`` the same receiver as a FastAPI app whose endpoint
    is a plain ``def`` (FastAPI runs it on a thread pool, so copies really run at once).
    """

    def __init__(self, bug: str | None = None, *, style: str = "atomic") -> None:
        if bug is not None and bug not in BUGS:
            raise ValueError(f"unknown bug {bug!r}")
        if style not in STYLES:
            raise ValueError(f"unknown style {style!r}")
        self.bug = bug
        self.style = "queue" if bug == "queue_acts_before_verifying" else style
        self._directory = tempfile.TemporaryDirectory(prefix="lmif-receiver-")
        self.db_path = str(Path(self._directory.name) / "receiver.db")
        unique = "" if bug in ("racy_dedup", "no_dedup") else " PRIMARY KEY"
        db = self._connect()
        with contextlib.closing(db):
            db.executescript(
                f"""
                CREATE TABLE processed_events (event_id TEXT{unique});
                CREATE TABLE effects (event_id TEXT NOT NULL, kind TEXT NOT NULL);
                CREATE TABLE inbox (seq INTEGER PRIMARY KEY, body BLOB NOT NULL);
                """
            )
        self.lock = threading.Lock()
        #: Longer than a cache of the "last 8" ids, still far shorter than the retry schedule.
        self.recent: collections.deque[str] = collections.deque(maxlen=16)
        self.seen_keys: set[str] = set()
        self.app = self._flask()
        self.asgi = self._fastapi()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        if self.style == "queue":
            self._worker = threading.Thread(target=self._work, daemon=True)
            self._worker.start()

    def close(self) -> None:
        """Stop the background worker (queue style)."""
        self._stop.set()
        if self._worker is not None:
            self._worker.join()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.db_path, timeout=10)

    def processed(self, event_id: str) -> int:
        """How many times this receiver acted on ``event_id`` (what the checks read)."""
        db = self._connect()
        try:
            (count,) = db.execute(
                "SELECT COUNT(*) FROM effects WHERE event_id = ?", (event_id,)
            ).fetchone()
        finally:
            db.close()
        return int(count)

    # -- the web layer -------------------------------------------------------------------------

    def _flask(self) -> Flask:
        app = Flask(f"receiver_{self.bug or self.style}")

        @app.post(PATH)
        def lmif_webhook() -> tuple[str, int]:
            return self.handle(request.get_data(), request.headers.get("X-LMIF-Signature"))

        return app

    def _fastapi(self) -> FastAPI:
        app = FastAPI()

        @app.post(PATH)
        def lmif_webhook(
            raw: Annotated[bytes, Depends(raw_body)],
            x_lmif_signature: Annotated[str | None, Header()] = None,
        ) -> Response:
            text, status = self.handle(raw, x_lmif_signature)
            return Response(text, status_code=status)

        return app

    # -- the receiver itself -------------------------------------------------------------------

    def handle(self, raw: bytes, signature: str | None) -> tuple[str, int]:
        """Verify, parse, deduplicate and act: the receiver's whole job for one request."""
        if self.bug == "queue_acts_before_verifying":
            self._enqueue(raw)  # kept "for replay", then verified: but the worker acts on it
        if self.bug == "acts_before_verifying":
            self._insert_once(json.loads(raw))
        if self.bug == "marks_seen_before_verifying":
            with self.lock:
                event_id = _event_id_of(raw)
                if event_id in self.seen_keys:
                    return "duplicate", 200
                self.seen_keys.add(event_id)
        if not self._signature_ok(raw, signature):
            return "invalid signature", 401
        if self.bug in ("queue_acts_before_verifying", "acts_before_verifying"):
            return "OK", 200
        event = json.loads(raw.decode("utf-8"))
        category, _, action = event["type"].partition(".")
        if category not in KNOWN_CATEGORIES:
            if self.bug == "rejects_unknown_types":
                return "unknown event type", 400
            return "ignored", 200
        if action not in HANDLED[category] and self.bug == "rejects_unknown_actions":
            raise KeyError(event["type"])  # a dispatch table without a default: 500
        if self.bug == "strict_fields" and event["type"] == "box.created":
            BoxCreated(**event["data"])  # TypeError on a field added later: 500
        if self.bug == "latin1_names":
            name = event["data"].get("identityName", "")
            name.encode("latin-1")  # a legacy column: accents fit, CJK and emoji do not
        if self.bug == "slow":
            time.sleep(0.6)  # slow work done before answering
        if self.style == "queue":
            self._enqueue(raw)
            return "accepted", 202
        self._process(event)
        return "OK", 200

    def _signature_ok(self, raw: bytes, header: str | None) -> bool:
        if self.bug in ("skips_verification",):
            return True
        if self.bug == "reserialises_json":
            canonical = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False)
            return verify(canonical.encode(), header, SECRET)
        if self.bug == "reserialises_ascii_json":  # json.dumps' default escapes non-ASCII
            return verify(
                json.dumps(json.loads(raw), separators=(",", ":")).encode(), header, SECRET
            )
        if self.bug == "copied_node_check":
            # The provider's documented manual check, translated: it raises on a length mismatch.
            expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            given = (header or "").encode()
            if len(given) != len(expected):
                raise ValueError("Input buffers must have the same byte length")
            return hmac.compare_digest(given, expected.encode())
        return verify(raw, header, SECRET)

    def _process(self, event: dict[str, Any]) -> None:
        event_id = event["id"]
        if self.bug in ("no_dedup", "marks_seen_before_verifying"):
            self._act(event)
        elif self.bug == "racy_dedup":
            self._check_then_insert(event)
        elif self.bug in ("short_memory", "dedup_on_type", "dedup_on_box"):
            key = {
                "dedup_on_type": event["type"],
                "dedup_on_box": str(event["data"].get("boxId", event_id)),
            }.get(self.bug, event_id)
            with self.lock:
                if self.bug == "short_memory":
                    if key in self.recent:  # remembers only the last few ids
                        return
                    self.recent.append(key)
                else:
                    if key in self.seen_keys:
                        return
                    self.seen_keys.add(key)
            self._act(event)
        elif self.style == "lock":
            with self.lock:  # check and insert as one step, in one process
                self._check_then_insert(event)
        elif self.bug == "refuses_duplicates":
            if not self._insert_once(event):
                raise LookupError("already processed")  # acted on once, but answers 500
        else:
            self._insert_once(event)

    def _check_then_insert(self, event: dict[str, Any]) -> None:
        """SELECT, then INSERT, then the effect: atomic only if the caller holds a lock."""
        db = self._connect()
        try:
            found = db.execute(
                "SELECT 1 FROM processed_events WHERE event_id = ?", (event["id"],)
            ).fetchone()
            if found is None:
                db.execute("INSERT INTO processed_events VALUES (?)", (event["id"],))
                db.execute("INSERT INTO effects VALUES (?, ?)", (event["id"], event["type"]))
                db.commit()
        finally:
            db.close()

    def _insert_once(self, event: dict[str, Any]) -> bool:
        """The atomic way: the primary key decides, in the transaction that applies the effect."""
        db = self._connect()
        try:
            inserted = db.execute(
                "INSERT INTO processed_events VALUES (?) ON CONFLICT DO NOTHING", (event["id"],)
            ).rowcount
            if inserted == 1:
                db.execute("INSERT INTO effects VALUES (?, ?)", (event["id"], event["type"]))
            db.commit()
        finally:
            db.close()
        return inserted == 1

    def _act(self, event: dict[str, Any]) -> None:
        db = self._connect()
        try:
            db.execute("INSERT INTO effects VALUES (?, ?)", (event["id"], event["type"]))
            db.commit()
        finally:
            db.close()

    # -- the background queue (a table a worker polls) ------------------------------------------

    def _enqueue(self, raw: bytes) -> None:
        db = self._connect()
        try:
            db.execute("INSERT INTO inbox (body) VALUES (?)", (raw,))
            db.commit()
        finally:
            db.close()

    def _work(self) -> None:
        """Take jobs in order, every 20 ms, as a polling job runner does."""
        last = 0
        while not self._stop.wait(0.02):
            db = self._connect()
            try:
                rows = db.execute(
                    "SELECT seq, body FROM inbox WHERE seq > ? ORDER BY seq", (last,)
                ).fetchall()
            finally:
                db.close()
            for seq, body in rows:
                last = seq
                self._insert_once(json.loads(body))


async def raw_body(request: Request) -> bytes:
    """The exact bytes received (a FastAPI dependency, so the endpoint itself can be ``def``)."""
    return await request.body()


def _event_id_of(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["id"])
    except (ValueError, KeyError, TypeError):
        return ""


class SlowWorkerReceiver:
    """Verifies, answers at once, and leaves the work to one background worker taking
    ``work_seconds`` per job, as a job queue with real work behind it does.

    With ``dedup`` the handler records each event id atomically (under a lock) and queues only
    ids it had not seen; without it every delivery is queued and acted on: the bug a fixed
    quiet period misses, since the duplicates' effects come a job's time after the original's.
    """

    def __init__(self, *, dedup: bool, work_seconds: float = 0.3) -> None:
        self.dedup = dedup
        self.work_seconds = work_seconds
        self.acted: collections.Counter[str] = collections.Counter()
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.jobs: queue.Queue[str | None] = queue.Queue()
        self.app = Flask(f"slow_worker_{'dedup' if dedup else 'no_dedup'}")
        self.app.post(PATH)(self._handle)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, daemon=True)
        self._worker.start()

    def _handle(self) -> tuple[str, int]:
        raw = request.get_data()
        if not verify(raw, request.headers.get("X-LMIF-Signature"), SECRET):
            return "invalid signature", 401
        event_id = str(json.loads(raw)["id"])
        with self.lock:
            fresh = event_id not in self.seen
            self.seen.add(event_id)
        if fresh or not self.dedup:
            self.jobs.put(event_id)
        return "queued", 202

    def _work(self) -> None:
        while (event_id := self.jobs.get()) is not None:
            if self._stop.wait(self.work_seconds):  # the slow part (an API call, a render)
                continue  # closing: the jobs left are dropped
            with self.lock:
                self.acted[event_id] += 1

    def processed(self, event_id: str) -> int:
        """How many times the worker acted on ``event_id``."""
        with self.lock:
            return self.acted[event_id]

    def close(self) -> None:
        """Stop the worker, dropping the jobs still queued."""
        self._stop.set()
        self.jobs.put(None)
        self._worker.join()
