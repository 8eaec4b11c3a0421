"""The provider's one timestamp format: UTC, ISO 8601, whole seconds, ``Z`` suffix.

Every datetime the fake puts on the wire goes through :func:`format_timestamp`, so a receiver that
parses the documented form (``2024-01-15T10:00:00Z``) never meets an offset like ``+00:00``.
"""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: Recently rendered moments. A virtual clock stands still between advances, so most events of a
#: test share a handful of moments, and ``strftime`` is the costliest step of building one.
_RENDERED: dict[datetime, str] = {}
_RENDERED_MAX = 512


def format_timestamp(moment: datetime) -> str:
    """Render ``moment`` the way the provider does; naive datetimes are taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    text = _RENDERED.get(moment)
    if text is None:
        text = moment.astimezone(timezone.utc).strftime(_FORMAT)
        if len(_RENDERED) >= _RENDERED_MAX:
            _RENDERED.clear()
        _RENDERED[moment] = text
    return text


def parse_timestamp(text: str) -> datetime:
    """Read a provider timestamp into an aware UTC datetime (``ValueError`` if malformed)."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)


def utc(moment: datetime, *, whole_seconds: bool = True) -> datetime:
    """The library's one datetime normaliser: ``moment`` as an aware UTC datetime.

    Naive datetimes are taken to be UTC already. Whole seconds by default, because that is all the
    wire format keeps and an event's ``createdAt`` must equal what its body says; the clock keeps
    microseconds (``whole_seconds=False``) so that ordering within a second survives.
    """
    if moment.tzinfo is timezone.utc and (moment.microsecond == 0 or not whole_seconds):
        return moment  # already normal: the common case (every event's time), made cheap
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=0) if whole_seconds else moment
