"""The provider's documented retry schedule, written out independently of ``lmif_mock.retry``, so
tests hold the code to the documentation rather than to itself: attempts 0, 1, 5 and 30 minutes
and 2, 8 and 24 hours apart, seven in all over 34 h 36 min."""

from __future__ import annotations

from datetime import timedelta

#: When each attempt is made, counted from the first.
PROVIDER_OFFSETS = [
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=6),
    timedelta(minutes=36),
    timedelta(hours=2, minutes=36),
    timedelta(hours=10, minutes=36),
    timedelta(hours=34, minutes=36),
]
