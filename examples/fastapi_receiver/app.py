"""An LMIF webhook receiver in FastAPI (ASGI): the raw body comes from ``await request.body()``."""

from __future__ import annotations

import hashlib
import hmac
import json

from fastapi import FastAPI, Request, Response

from examples.ledger import Ledger


def create_app(secret: str, ledger: Ledger) -> FastAPI:
    """The receiver, given its webhook secret and where it keeps state."""
    app = FastAPI()

    @app.post("/webhooks/lmif")
    async def lmif_webhook(request: Request) -> Response:
        raw = await request.body()
        expected = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        given = request.headers.get("x-lmif-signature", "")
        if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
            return Response("invalid signature", status_code=401)
        try:
            event = json.loads(raw)
        except ValueError:
            return Response("not JSON", status_code=400)
        ledger.record(event)
        return Response("OK")

    return app
