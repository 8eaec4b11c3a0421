"""An LMIF webhook receiver in Django: a single-module project (settings, URLs, view, WSGI app).

Same rules as every receiver here: verify the raw ``request.body`` before parsing, 401 on a bad
signature, record each event id once in a transaction, acknowledge types it does not handle.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from typing import Any

from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="lmif-mock-example-not-secret",
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        DATABASES={},
        USE_TZ=True,
    )

from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from examples.ledger import Ledger

#: Configured by the project (environment variables here; tests set them via ``configure``).
CONFIG: dict[str, Any] = {
    "secret": os.environ.get("LMIF_WEBHOOK_SECRET", ""),
    "ledger": None,
}


def configure(secret: str, ledger: Ledger) -> None:
    """Point the receiver at its secret and storage."""
    CONFIG.update(secret=secret, ledger=ledger)


@csrf_exempt
@require_POST
def lmif_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    expected = "sha256=" + hmac.new(CONFIG["secret"].encode(), raw, hashlib.sha256).hexdigest()
    given = request.headers.get("X-LMIF-Signature", "")
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode()):
        return HttpResponse("invalid signature", status=401)
    try:
        event = json.loads(raw)
    except ValueError:
        return HttpResponse("not JSON", status=400)
    CONFIG["ledger"].record(event)
    return HttpResponse("OK")


urlpatterns = [path("webhooks/lmif", lmif_webhook)]
application = get_wsgi_application()
