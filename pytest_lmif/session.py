"""One check run's link to the receiver: the fake, the webhook, and how side effects are read.

Every event a check sends gets a fresh id (a receiver's database outlives one run, and a repeated
id would look like a duplicate to a correct receiver) and one attempt with the run's timeout.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmif_mock import Attempt, Delivery, FakeLMIF, RetryPolicy
from pytest_lmif.races import ASGIGate, RaceProbe, WSGIGate
from pytest_lmif.settling import Settled, Settler


class Witness:
    """An in-process webhook that records the exact bodies it is sent.

    A check sends a spoiled event to the receiver and to the witness at once, so it learns what
    the receiver was sent (e.g. the event id inside a tampered body) through public means only.
    """

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        with self._lock:
            self.bodies.append(body)
        start_response("204 No Content", [])
        return [b""]

    def last_event_id(self) -> str | None:
        """The ``id`` field of the last body received, if it had one."""
        with self._lock:
            if not self.bodies:
                return None
            body = self.bodies[-1]
        try:
            value = json.loads(body).get("id")
        except (ValueError, AttributeError):
            return None
        return value if isinstance(value, str) else None


@dataclass
class CheckSession:
    """What every check needs: where to send, how to send, how to read side effects."""

    fake: FakeLMIF
    webhook_id: str
    witness_id: str
    witness: Witness
    settler: Settler | None
    event_type: str
    event_types: Sequence[str]
    probe: RaceProbe
    timeout: float
    gate: WSGIGate | ASGIGate | None = None
    sent: list[str] = field(default_factory=list)

    def emit(
        self,
        event_type: str | None = None,
        *,
        event_id: str | None = None,
        witnessed: bool = False,
        **kwargs: Any,
    ) -> list[Delivery]:
        """Send one fresh event to the receiver (and the witness); its deliveries there."""
        chosen = event_id or new_event_id()
        targets = [self.webhook_id, self.witness_id] if witnessed else [self.webhook_id]
        if self.settler is not None:
            self.settler.sending(chosen)
        self.fake.emit(
            event_type or self.event_type,
            event_id=chosen,
            webhook_ids=targets,
            retry_policy=kwargs.pop("retry_policy", None) or RetryPolicy.no_retries(self.timeout),
            **kwargs,
        )
        self.sent.append(chosen)
        if self.settler is not None:
            self.settler.read([chosen])  # an effect already there: the latency is this short
        return self.fake.deliveries(event_id=chosen, webhook_id=self.webhook_id)

    def counts(self, event_ids: Iterable[str], *, expect: Iterable[str] = ()) -> Settled:
        """Settled side-effect counts (see :class:`Settler`); requires ``processed``."""
        assert self.settler is not None
        return self.settler.counts(event_ids, expect=expect)

    def data_of(self, event_id: str) -> Mapping[str, Any]:
        """The data of an event this session sent."""
        for event in self.fake.events():
            if event.id == event_id:
                return event.data
        raise KeyError(event_id)


def new_event_id() -> str:
    """A fresh event id no earlier run used."""
    return "evt_check" + secrets.token_hex(8)


def answer(attempt: Attempt) -> str:
    """What the receiver answered, in words: a status, or what went wrong."""
    if attempt.status_code is not None and attempt.error in (None, "http_error", "dropped"):
        return f"HTTP {attempt.status_code}"
    if attempt.error == "timeout":
        return f"no answer within the timeout ({attempt.message})"
    return f"{attempt.error} ({attempt.message})"


def ok(attempt: Attempt) -> bool:
    """Whether the provider would count this attempt as delivered (a 2xx in time)."""
    return attempt.error is None or attempt.error == "dropped"


def first_attempts(deliveries: Iterable[Delivery]) -> list[Attempt]:
    """The first attempt of each delivery (a check sends each copy once)."""
    return [d.attempts[0] for d in deliveries if d.attempts]


__all__ = [
    "CheckSession",
    "Witness",
    "answer",
    "first_attempts",
    "new_event_id",
    "ok",
]
