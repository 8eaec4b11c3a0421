"""The records the fake keeps: webhooks, deliveries and the attempts that make them up.

They are immutable values: the dispatcher makes a new record for every change and puts it in the
store, so a record a test holds never changes under it, and the memory and SQLite stores behave
the same.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from lmif_mock.faults import NO_FAULTS, Faults
from lmif_mock.retry import RetryPolicy
from lmif_mock.timestamps import format_timestamp
from lmif_mock.wire import SentRequest

DeliveryStatus = Literal["pending", "succeeded", "failed"]
Trigger = Literal["scheduled", "manual"]
#: Subscribe to every event type, including ones the provider may add later.
ALL_EVENTS = "*"


@dataclass(frozen=True)
class Webhook:
    """A subscribed endpoint: where events go, which ones, and the secret that signs them.

    ``target`` is what the dispatcher delivers to: the URL string, or a WSGI/ASGI application
    delivered in-process (then ``url`` names it, e.g. ``wsgi://app/webhooks/lmif``).
    """

    id: str
    url: str
    events: tuple[str, ...]
    secret: str = field(repr=False)  # never in logs or tracebacks
    created_at: datetime
    enabled: bool = True
    previous_secret: str | None = field(default=None, repr=False)
    path: str = "/"
    target: Any = field(default=None, compare=False, repr=False)

    def subscribes_to(self, event_type: str) -> bool:
        """Whether events of ``event_type`` are sent to this webhook."""
        return ALL_EVENTS in self.events or event_type in self.events

    def to_public(self, *, with_secret: bool = False) -> dict[str, Any]:
        """The webhook as the API shows it; the secret only where the provider shows it."""
        shown: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "events": list(self.events),
            "enabled": self.enabled,
            "createdAt": format_timestamp(self.created_at),
        }
        if with_secret:
            shown["secret"] = self.secret
        return shown


@dataclass(frozen=True, slots=True)  # slots: one is kept per attempt, for the session
class Attempt:
    """One try at delivering: when, how long, and what came back (or what went wrong).

    ``error`` is ``None`` on success, else a short kind: ``timeout``, ``connection_refused``,
    ``connection_reset``, ``connection_error``, ``redirect``, ``http_error``,
    ``invalid_response``, ``response_too_large``, ``dropped`` (a 2xx the provider 'lost' on
    purpose), ``blocked_host``, ``webhook_disabled``, ``webhook_deleted``, ``internal_error``.
    ``message`` says it in words; ``script`` the delivery-script steps applied to this attempt
    (``lost`` and ``delayed`` errors come only from scripts); ``retry_after`` the seconds a
    429/503 answer's ``Retry-After`` asked for.

    ``signature`` and ``sent_body`` are the request as it went on the wire, after every fault
    (see :attr:`request`); ``sent_body`` is ``None`` only when nothing was built to send (the
    webhook was disabled or deleted). It is the delivery's own bytes object whenever no fault
    changed the body, so recording it costs one reference per attempt.
    """

    number: int
    at: datetime
    status_code: int | None
    error: str | None
    duration: float
    message: str | None = None
    response_excerpt: str = ""
    trigger: Trigger = "scheduled"
    signature: str | None = field(default=None, repr=False)
    script: str | None = None
    retry_after: float | None = None
    sent_body: bytes | None = field(default=None, repr=False)

    @property
    def request(self) -> SentRequest | None:
        """The exact request this attempt sent (body and headers), or ``None`` if none was."""
        if self.sent_body is None:
            return None
        return SentRequest(self.sent_body, self.signature)

    @property
    def succeeded(self) -> bool:
        """Whether this attempt counted as delivered."""
        return self.error is None


@dataclass(frozen=True, slots=True)  # slots: one is kept per delivery, for the session
class Delivery:
    """One event on its way to one webhook, with every attempt made so far."""

    id: str
    event_id: str
    event_type: str
    webhook_id: str
    created_at: datetime
    status: DeliveryStatus = "pending"
    attempts: tuple[Attempt, ...] = ()
    next_attempt_at: datetime | None = None
    body: bytes = field(default=b"", repr=False)
    faults: Faults = field(default=NO_FAULTS, repr=False)
    policy: RetryPolicy = field(default_factory=RetryPolicy, repr=False)
    duplicate_of: str | None = None

    @property
    def attempt_count(self) -> int:
        """How many attempts have been made."""
        return len(self.attempts)

    @property
    def scheduled_attempts(self) -> int:
        """Attempts the retry schedule made (manual retries do not use up the budget)."""
        return sum(1 for a in self.attempts if a.trigger == "scheduled")

    def with_attempt(
        self, attempt: Attempt, status: DeliveryStatus, next_attempt_at: datetime | None
    ) -> Delivery:
        """A copy with ``attempt`` appended and the new state.

        Every field read at once by one C-level getter rather than ``dataclasses.replace``
        (which looks the fields up again on every call): this runs once per attempt."""
        values: tuple[Any, ...] = _delivery_fields(self)
        make: Callable[..., Delivery] = Delivery
        return make(
            *values[:_STATUS], status, (*self.attempts, attempt), next_attempt_at,
            *values[_STATUS + 3 :],
        )  # fmt: skip


_DELIVERY_FIELDS = tuple(f.name for f in fields(Delivery))
_delivery_fields = operator.attrgetter(*_DELIVERY_FIELDS)
_STATUS = _DELIVERY_FIELDS.index("status")
assert _DELIVERY_FIELDS[_STATUS : _STATUS + 3] == ("status", "attempts", "next_attempt_at")
