"""What a receiver's ``Retry-After`` asks for, read from its answer and kept on the attempt.

Apart from :mod:`lmif_mock.health` because the attempt sender records it on every 429/503 whether
or not delivery control is on, while health steers the dispatcher: one module each keeps the
imports pointing one way.
"""

from __future__ import annotations

import email.utils
from dataclasses import replace
from datetime import UTC, datetime

from lmif_mock.exchanges import Response
from lmif_mock.records import Attempt

#: The answers whose ``Retry-After`` is recorded (and honoured, when delivery control asks).
RETRY_AFTER_STATUSES = frozenset({429, 503})


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delta seconds or an HTTP date), or None."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(min(int(text), 10**9))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    wall = now or datetime.now(UTC)
    return max(0.0, (when - wall).total_seconds())


def with_retry_after(attempt: Attempt, response: Response | None) -> Attempt:
    """``attempt`` with the ``Retry-After`` a 429/503 answer asked for, recorded."""
    if response is None or response.status not in RETRY_AFTER_STATUSES:
        return attempt
    asked = parse_retry_after(response.headers.get("retry-after"))
    return attempt if asked is None else replace(attempt, retry_after=asked)
