"""Flask receivers, one correct and one per bug the receiver checks must catch.

Each keeps a record of what it *acted on* (``effects``), which is what the checks' ``processed``
callable reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from typing import Any

from flask import Flask, request

from lmif_mock import verify

SECRET = "lmif_whsec_receiver_under_test"


class Receiver:
    """A Flask app plus a ledger of the events it acted on."""

    def __init__(self, bug: str | None = None) -> None:
        self.bug = bug
        self.effects: Counter[str] = Counter()
        self.seen: set[str] = set()
        self.lock = threading.Lock()
        self.app = Flask(f"receiver_{bug or 'correct'}")
        self.app.add_url_rule("/webhooks/lmif", "hook", self.hook, methods=["POST"])

    def processed(self, event_id: str) -> int:
        return self.effects[event_id]

    def _signature_ok(self, raw: bytes, header: str | None) -> bool:
        if self.bug == "skips_verification":
            return True
        if self.bug == "reserialises_json":
            canonical = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False)
            return verify(canonical.encode(), header, SECRET)
        if self.bug == "copied_node_check":
            # The provider's documented manual check, translated: it raises on a length mismatch.
            expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            given = (header or "").encode()
            if len(given) != len(expected):
                raise ValueError("Input buffers must have the same byte length")
            return hmac.compare_digest(given, expected.encode())
        return verify(raw, header, SECRET)

    def hook(self) -> Any:
        raw = request.get_data()
        if not self._signature_ok(raw, request.headers.get("X-LMIF-Signature")):
            return "invalid signature", 401
        event = json.loads(raw)
        if self.bug == "rejects_unknown_types" and event["type"].split(".")[0] not in (
            "box", "violation", "grace_period", "license", "detection",
        ):  # fmt: skip
            return "unknown event type", 500
        if self.bug == "slow":
            time.sleep(0.6)
        event_id = event["id"]
        if self.bug == "no_dedup":
            self.effects[event_id] += 1
        elif self.bug == "racy_dedup":
            already = event_id in self.seen  # check...
            time.sleep(0.05)  # ...a database round trip later...
            if not already:
                self.seen.add(event_id)  # ...insert: two copies can both pass the check
                self.effects[event_id] += 1
        else:
            with self.lock:  # check and insert as one step
                if event_id in self.seen:
                    return "duplicate", 200
                self.seen.add(event_id)
                self.effects[event_id] += 1
        return "OK", 200
