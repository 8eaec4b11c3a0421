"""An LMIF webhook receiver in Flask, written the way the provider's docs ask.

Verify the signature over the raw body (before parsing), answer 401 when it does not hold,
process each event id once (atomically, so simultaneous duplicates are safe), acknowledge event
types it does not handle, and answer quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import urllib3
from flask import Flask, request

from examples.ledger import Ledger


def signature_ok(raw: bytes, header: str | None, secret: str) -> bool:
    """``sha256=<hex HMAC-SHA256(secret, raw body)>``, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return hmac.compare_digest((header or "").encode("utf-8", "replace"), expected.encode())


def fetch_box(api: tuple[str, str], box_id: str) -> dict[str, Any] | None:
    """``GET /v1/lmif/boxes/{id}`` on the LMIF API (``api`` is base URL and key)."""
    base, key = api
    answer = urllib3.request(
        "GET",
        f"{base}/v1/lmif/boxes/{box_id}",
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    )
    if answer.status != 200:
        return None
    box: dict[str, Any] = json.loads(answer.data)["data"]
    return box


def create_app(secret: str, ledger: Ledger, lmif_api: tuple[str, str] | None = None) -> Flask:
    """The receiver, given its webhook secret, where it keeps state and (optionally) the LMIF
    API's base URL and key, to call back on ``box.created`` for the box's full policy."""
    app = Flask(__name__)
    app.config["boxes"] = {}

    @app.post("/webhooks/lmif")
    def lmif_webhook() -> tuple[str, int]:
        raw = request.get_data()  # the exact bytes that were signed
        if not signature_ok(raw, request.headers.get("X-LMIF-Signature"), secret):
            return "invalid signature", 401
        try:
            event = json.loads(raw)
        except ValueError:
            return "not JSON", 400
        first_time = ledger.record(event)  # once per event id; duplicates acknowledged, ignored
        if first_time and event["type"] == "box.created" and lmif_api is not None:
            box = fetch_box(lmif_api, event["data"]["boxId"])  # the minimum payout, guidelines...
            if box is not None:
                app.config["boxes"][box["id"]] = box
        return "OK", 200

    return app
