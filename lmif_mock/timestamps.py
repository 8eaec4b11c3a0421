"""The provider's one timestamp format: UTC, ISO 8601, whole seconds, ``Z`` suffix.

Every datetime the fake puts on the wire goes through :func:`format_timestamp`, so a receiver that
parses the documented form (``2024-01-15T10:00:00Z``) never meets an offset like ``+00:00``.
"""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` the way the provider does; naive datetimes are taken to be UTC already."""
    return utc(moment).strftime(_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read a provider timestamp into an aware UTC datetime (``ValueError`` if malformed)."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def utc(moment: datetime, *, whole_seconds: bool = True) -> datetime:
    """The library's one datetime normaliser: ``moment`` as an aware UTC datetime.

    Naive datetimes are taken to be UTC already. Whole seconds by default, because that is all the
    wire format keeps and an event's ``createdAt`` must equal what its body says; the clock keeps
    microseconds (``whole_seconds=False``) so that ordering within a second survives.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=0) if whole_seconds else moment
