"""Signed events without any delivery, for unit tests of a handler function."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmif_mock import SIGNATURE_HEADER, Event, EventFactory, sign, sign_body

DEFAULT_SECRET = "lmif_whsec_pytest"


@dataclass(frozen=True)
class SignedEvent:
    """An event with the exact body and headers the provider would send for it."""

    event: Event
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        """The body parsed, for handlers that take the decoded envelope."""
        return json.loads(self.body)

    @property
    def signature(self) -> str | None:
        """The ``X-LMIF-Signature`` value (``None`` if a fault removed it)."""
        return self.headers.get(SIGNATURE_HEADER)


class EventBuilder:
    """Build signed events from the test's seed (the ``lmif_events`` fixture).

    >>> signed = EventBuilder(seed=1).build("box.created", {"identityName": "Ada"})
    >>> signed.json["data"]["identityName"]
    'Ada'
    """

    def __init__(self, seed: int | None = 0, secret: str = DEFAULT_SECRET) -> None:
        self.factory = EventFactory(seed)
        self.secret = secret
        self.webhook_id = self.factory.new_id("webhook")

    def build(
        self,
        event_type: str,
        data: dict[str, Any] | None = None,
        *,
        secret: str | None = None,
        signature_fault: str | None = None,
        layout: str | None = None,
        created_at: datetime | None = None,
        allow_unknown: bool = False,
    ) -> SignedEvent:
        """A signed event; ``signature_fault`` / ``layout`` as in :class:`lmif_mock.Faults`."""
        options: dict[str, Any] = {"webhook_id": self.webhook_id, "allow_unknown": allow_unknown}
        if created_at is not None:  # otherwise the factory's default moment
            options["created_at"] = created_at
        event = self.factory.build(event_type, data=data, **options)
        request = sign_body(
            event.body,
            secret or self.secret,
            signature_fault,
            previous_secret=self.secret + "-previous",
            rng=self.factory.random,
            layout=layout,
        )
        headers = {"Content-Type": "application/json"}
        if request.signature is not None:
            headers[SIGNATURE_HEADER] = request.signature
        return SignedEvent(event, request.body, headers)

    def headers(self, body: bytes | str, secret: str | None = None) -> dict[str, str]:
        """Request headers for ``body`` as the provider would sign it."""
        return {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, secret or self.secret),
        }
