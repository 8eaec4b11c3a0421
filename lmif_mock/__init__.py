"""A fake LMIF webhook provider: correctly signed events, duplicates, failures and retry timing.

The library never imports pytest; the pytest layer lives in ``pytest_lmif``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lmif_mock.clock import Clock, ClockError, RealClock, VirtualClock
from lmif_mock.errors import (
    ConflictError,
    EncodingError,
    LMIFMockError,
    NotFoundError,
    UnknownEventType,
)
from lmif_mock.events import API_VERSION, CATEGORIES, EVENT_TYPES, Event, encode
from lmif_mock.exchanges import TransportError
from lmif_mock.fake import FakeLMIF
from lmif_mock.faults import LAYOUTS, SIGNATURE_FAULTS, FaultError, Faults
from lmif_mock.health import DeliveryControl, DeliveryControlError, EndpointHealth
from lmif_mock.hosts import BlockedHostError
from lmif_mock.http.errors import APIError
from lmif_mock.http.ratelimit import PLAN_LIMITS, RateLimitError, RateLimits
from lmif_mock.load.plan import LoadPlanError
from lmif_mock.payloads import REMOVE, EventFactory
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.retry import RetryPolicy, RetryPolicyError
from lmif_mock.scripts import ScriptError
from lmif_mock.server import LMIFServer, ServerError
from lmif_mock.signing import SIGNATURE_HEADER, generate_secret, sign, verify
from lmif_mock.sqlite_store import DatabaseFileError
from lmif_mock.transcript import TranscriptError, replay
from lmif_mock.waiting import WaitError, WaitTimeout
from lmif_mock.webhook_url import InvalidWebhookURL
from lmif_mock.webhooks import SandboxOnlyError, WebhookError
from lmif_mock.wire import SentRequest, SignedBody, lay_out, sign_body
from lmif_mock.world import WorldError

if TYPE_CHECKING:
    from lmif_mock.provider import LMIFProvider


def __getattr__(name: str) -> Any:
    """Import the Faker provider only when asked for: importing Faker itself takes ~0.5 s."""
    if name == "LMIFProvider":
        from lmif_mock.provider import LMIFProvider

        return LMIFProvider
    raise AttributeError(f"module 'lmif_mock' has no attribute {name!r}")


__all__ = [
    "API_VERSION",
    "CATEGORIES",
    "EVENT_TYPES",
    "LAYOUTS",
    "PLAN_LIMITS",
    "REMOVE",
    "SIGNATURE_FAULTS",
    "SIGNATURE_HEADER",
    "APIError",
    "Attempt",
    "BlockedHostError",
    "Clock",
    "ClockError",
    "ConflictError",
    "DatabaseFileError",
    "Delivery",
    "DeliveryControl",
    "DeliveryControlError",
    "EncodingError",
    "EndpointHealth",
    "Event",
    "EventFactory",
    "FakeLMIF",
    "FaultError",
    "Faults",
    "InvalidWebhookURL",
    "LMIFMockError",
    "LMIFProvider",
    "LMIFServer",
    "LoadPlanError",
    "NotFoundError",
    "RateLimitError",
    "RateLimits",
    "RealClock",
    "RetryPolicy",
    "RetryPolicyError",
    "SandboxOnlyError",
    "ScriptError",
    "SentRequest",
    "ServerError",
    "SignedBody",
    "TranscriptError",
    "TransportError",
    "UnknownEventType",
    "VirtualClock",
    "WaitError",
    "WaitTimeout",
    "Webhook",
    "WebhookError",
    "WorldError",
    "encode",
    "generate_secret",
    "lay_out",
    "replay",
    "sign",
    "sign_body",
    "verify",
]
