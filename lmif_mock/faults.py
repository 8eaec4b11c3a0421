"""What can go wrong on the way to a receiver, asked for on purpose and reproducible from a seed.

A :class:`Faults` value travels with each delivery. The dispatcher reads it to decide whether to
send extra copies (one after another, or all at the same instant to expose check-then-insert races),
to hold the first attempt back, to record a 2xx as lost so that the retry arrives as a duplicate,
or to spoil the signature in one of the ways an attacker or a misconfiguration would.

This module holds the settings only (what may be asked, checked, and read from JSON); what they
do to the bytes and headers of a request is :mod:`lmif_mock.wire`'s.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from lmif_mock.durations import to_timedelta
from lmif_mock.errors import LMIFMockError
from lmif_mock.json_integers import whole_number
from lmif_mock.scripts import ScriptError, parse

#: Every way :class:`Faults` can spoil a signature, with what the receiver sees.
SIGNATURE_FAULTS: Mapping[str, str] = {
    "missing": "no X-LMIF-Signature header at all",
    "wrong_secret": "a well-formed signature made with a secret the receiver does not know",
    "tampered_body": "signed correctly, then the body was changed before sending",
    "truncated": "the right signature with its last 8 hex digits cut off",
    "previous_secret": "signed with the webhook's secret from before its last rotation",
    "wrong_prefix": "the right digest behind 'sha1=' instead of 'sha256='",
}

#: Other JSON layouts of the same event, each signed correctly over its own bytes. A receiver that
#: verifies the raw body accepts them all; one that re-serialises parsed JSON before verifying
#: computes different bytes and rejects them.
LAYOUTS: Mapping[str, str] = {
    "pretty": "indented with two spaces, one field per line",
    "ascii": "non-ASCII characters escaped as \\uXXXX, spaces after ':' and ','",
}

T = TypeVar("T")

#: The most each count may ask for in one emit. Every copy is a stored delivery and a request to
#: the receiver, and every concurrent copy is a thread, so one request must not ask for millions.
COUNT_CAPS: Mapping[str, int] = {
    "duplicates": 100,
    "concurrent_duplicates": 32,
    "drop_after_response": 100,
}
#: The faults whose JSON may not be null (a count or the delay; null means "none" only for the
#: signature, layout and script).
NOT_NULLABLE_FAULTS: tuple[str, ...] = (*COUNT_CAPS, "delay")
#: The longest a first attempt can be held back (a year and a day on the fake's clock).
MAX_DELAY = timedelta(days=366)


class FaultError(LMIFMockError, ValueError):
    """A fault that cannot be applied as asked (unknown name, negative count...)."""


@dataclass(frozen=True)
class Faults:
    """Faults for the deliveries of one emitted event.

    ``duplicates``: extra copies delivered one after another after the original's first attempt.
    ``concurrent_duplicates``: extra copies whose first attempts are released at the same moment
    as the original's (threads behind a barrier).
    ``drop_after_response``: the first N attempts that get a 2xx are recorded as failed ("the
    provider never saw the answer"), so the scheduled retry delivers the same event again.
    ``delay``: hold the first attempt back this long on the server's clock.
    ``signature``: one of :data:`SIGNATURE_FAULTS`, applied to every attempt.
    ``layout``: one of :data:`LAYOUTS`: the same event in another JSON layout, correctly signed.
    ``script``: what happens to each attempt, in one line (see :mod:`lmif_mock.scripts`).
    """

    duplicates: int = 0
    concurrent_duplicates: int = 0
    drop_after_response: int = 0
    delay: timedelta = field(default=timedelta())
    signature: str | None = None
    layout: str | None = None
    script: str | None = None

    def __post_init__(self) -> None:
        for name, cap in COUNT_CAPS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise FaultError(f"{name} must be a whole number >= 0, not {value!r}")
            if value > cap:
                raise FaultError(f"{name} must be at most {cap} (the cap), not {value}")
        try:
            delay = to_timedelta(self.delay)
        except (TypeError, ValueError, OverflowError) as exc:
            raise FaultError(f"delay is not a usable duration: {exc}") from exc
        if delay < timedelta():
            raise FaultError("delay cannot be negative")
        if delay > MAX_DELAY:
            raise FaultError(f"delay must be at most {MAX_DELAY.days} days (the cap)")
        object.__setattr__(self, "delay", delay)
        if self.signature is not None and (
            not isinstance(self.signature, str) or self.signature not in SIGNATURE_FAULTS
        ):
            known = ", ".join(SIGNATURE_FAULTS)
            raise FaultError(f"unknown signature fault {self.signature!r}; known: {known}")
        if self.layout is not None and (
            not isinstance(self.layout, str) or self.layout not in LAYOUTS
        ):
            raise FaultError(f"unknown layout {self.layout!r}; known: {', '.join(LAYOUTS)}")
        if self.script is not None:
            if not isinstance(self.script, str):
                given = self.script
                raise FaultError(f"script must be a string such as '1-2: drop', not {given!r}")
            try:
                parse(self.script)
            except ScriptError as exc:
                raise FaultError(f"script: {exc}") from None

    @property
    def any(self) -> bool:
        """Whether anything at all is asked for."""
        return self != NO_FAULTS

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (delay in seconds); the inverse of :meth:`from_dict`."""
        value = asdict(self)
        value["delay"] = self.delay.total_seconds()
        return value

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Faults:
        """Read faults from JSON (the control API's ``faults`` object); unknown keys are errors."""
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise FaultError("faults must be an object")
        known = {
            "duplicates",
            "concurrent_duplicates",
            "drop_after_response",
            "delay",
            "signature",
            "layout",
            "script",
        }
        unknown = sorted(set(value) - known)
        if unknown:
            raise FaultError(f"unknown fault(s) {unknown}; known: {sorted(known)}")
        nulls = sorted(
            name for name in NOT_NULLABLE_FAULTS if name in value and value[name] is None
        )
        if nulls:
            raise FaultError(f"{', '.join(nulls)} cannot be null; leave it out for no such fault")
        read = dict(value)
        for name in COUNT_CAPS:  # JSON's 2.0 is the count 2 (JSON Schema's integer)
            whole = whole_number(read.get(name))
            if whole is not None:
                read[name] = whole
        return cls(**read)


NO_FAULTS = Faults()


def shuffled(items: Sequence[T], rng: random.Random) -> list[T]:
    """``items`` in a random order drawn from ``rng`` (a batch delivered out of order)."""
    order = list(items)
    rng.shuffle(order)
    return order
