"""The provider's one timestamp format: UTC, ISO 8601, whole seconds, ``Z`` suffix.

Every datetime the fake puts on the wire goes through :func:`format_timestamp`, so a receiver that
parses the documented form (``2024-01-15T10:00:00Z``) never meets an offset like ``+00:00``.
"""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` the way the provider does; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Read a provider timestamp into an aware UTC datetime (``ValueError`` if malformed)."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def utc(moment: datetime) -> datetime:
    """Normalise any datetime to aware UTC with whole seconds, as the wire format keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)
