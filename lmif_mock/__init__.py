"""A fake LMIF webhook provider: correctly signed events, duplicates, failures and retry timing.

The library never imports pytest; the pytest layer lives in ``pytest_lmif``.
"""

from __future__ import annotations

from lmif_mock.errors import EncodingError, LMIFMockError, UnknownEventType
from lmif_mock.events import API_VERSION, CATEGORIES, EVENT_TYPES, Event, encode
from lmif_mock.payloads import REMOVE, EventFactory
from lmif_mock.provider import LMIFProvider
from lmif_mock.signing import SIGNATURE_HEADER, generate_secret, sign, verify

__all__ = [
    "API_VERSION",
    "CATEGORIES",
    "EVENT_TYPES",
    "REMOVE",
    "SIGNATURE_HEADER",
    "EncodingError",
    "Event",
    "EventFactory",
    "LMIFMockError",
    "LMIFProvider",
    "UnknownEventType",
    "encode",
    "generate_secret",
    "sign",
    "verify",
]
