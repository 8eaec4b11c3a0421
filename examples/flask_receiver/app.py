"""An LMIF webhook receiver in Flask, written the way the provider's docs ask.

Verify the signature over the raw body (before parsing), answer 401 when it does not hold,
process each event id once (atomically, so simultaneous duplicates are safe), acknowledge event
types it does not handle, and answer quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from flask import Flask, request

from examples.ledger import Ledger


def signature_ok(raw: bytes, header: str | None, secret: str) -> bool:
    """``sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest((header or "").encode("utf-8", "replace"), expected.encode())


def create_app(secret: str, ledger: Ledger) -> Flask:
    """The receiver, given its webhook secret and where it keeps state."""
    app = Flask(__name__)

    @app.post("/webhooks/lmif")
    def lmif_webhook() -> tuple[str, int]:
        raw = request.get_data()  # the exact bytes that were signed
        if not signature_ok(raw, request.headers.get("X-LMIF-Signature"), secret):
            return "invalid signature", 401
        try:
            event = json.loads(raw)
        except ValueError:
            return "not JSON", 400
        ledger.record(event)  # once per event id; duplicates are acknowledged and ignored
        return "OK", 200

    return app
