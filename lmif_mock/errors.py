"""One root for every error the library raises, so callers can catch them all at once."""

from __future__ import annotations


class LMIFMockError(Exception):
    """Base class of every error raised on purpose by lmif_mock."""


class UnknownEventType(LMIFMockError, ValueError):
    """A type outside the provider's catalogue, where only known ones make sense."""

    def __init__(self, event_type: object) -> None:
        super().__init__(
            f"unknown LMIF event type {event_type!r}; "
            "see lmif_mock.EVENT_TYPES for the 19 known ones"
        )
        self.event_type = event_type


class EncodingError(LMIFMockError, ValueError):
    """Event data that cannot become the JSON the provider would send (NaN, sets, objects...)."""


class NotFoundError(LMIFMockError, LookupError):
    """No webhook, event or delivery has the id asked for."""


class ConflictError(LMIFMockError):
    """The request clashes with the current state (e.g. an attempt is already in flight)."""
