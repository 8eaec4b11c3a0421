"""The provider's rate limits, counted on the fake's own clock.

The provider documents a per-minute and a per-day limit for each plan (Sandbox 60 and 1,000,
Basic 300 and 50,000, Standard 1,000 and 500,000, Enterprise custom), ``X-RateLimit-Limit``,
``-Remaining`` and ``-Reset`` headers on every response, and a ``429 RATE_LIMITED`` answer whose
details say when to come back. Counting on the fake's clock (not the wall clock) is what lets a test
walk a client through a window with ``clock.advance(minutes=1)`` instead of waiting a minute.

Windows are fixed: a minute window starts on the clock's whole minute, a day window at midnight UTC
(the provider does not say how its windows are aligned; this is the designed choice).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from lmif_mock.errors import LMIFMockError

MINUTE = 60
DAY = 86_400


class RateLimitError(LMIFMockError, ValueError):
    """Limits that make no sense (zero or negative)."""


@dataclass(frozen=True)
class RateLimits:
    """Requests allowed per minute and per day (``None``: no daily quota)."""

    per_minute: int
    per_day: int | None = None

    def __post_init__(self) -> None:
        if self.per_minute < 1 or (self.per_day is not None and self.per_day < 1):
            raise RateLimitError("rate limits must be at least 1 request")


#: The documented limits by plan. Enterprise's are "custom" in the docs: these defaults are
#: designed (ten times Standard) and replaced by whatever ``RateLimits`` the server is given.
PLAN_LIMITS: dict[str, RateLimits] = {
    "Sandbox": RateLimits(60, 1_000),
    "Basic": RateLimits(300, 50_000),
    "Standard": RateLimits(1_000, 500_000),
    "Enterprise": RateLimits(10_000, 5_000_000),
}


@dataclass(frozen=True)
class Verdict:
    """What one request was told: allowed or not, and the numbers behind the headers."""

    allowed: bool
    limit: int
    remaining: int
    reset: datetime
    #: When refused: the window that ran out ("minute" or "day"), its limit and reset.
    exhausted: str | None = None
    exhausted_limit: int | None = None
    exhausted_reset: datetime | None = None

    def headers(self) -> dict[str, str]:
        """The documented headers: the per-minute limit, what is left of it, its reset time."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(int(self.reset.timestamp())),
        }

    def retry_after(self, now: datetime) -> int:
        """Whole seconds until the exhausted window resets (at least 1)."""
        reset = self.exhausted_reset or self.reset
        return max(1, math.ceil((reset - now).total_seconds()))


def _window_start(now: datetime, seconds: int) -> datetime:
    epoch = math.floor(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=timezone.utc)


class RateLimiter:
    """Counts requests in fixed minute and day windows of ``now()``.

    ``enforced=False`` still counts (so the headers tell a client the truth about its usage) but
    never refuses: what ``LMIFServer`` and the pytest fixtures do unless asked, so that users'
    own tests are not throttled by accident.
    """

    def __init__(
        self, limits: RateLimits, now: Callable[[], datetime], *, enforced: bool = True
    ) -> None:
        self.limits = limits
        self.enforced = enforced
        self._now = now
        self._lock = threading.Lock()
        self.reset()

    def configure(self, limits: RateLimits, *, enforced: bool) -> None:
        """New limits (enforced or only counted), counting from zero."""
        with self._lock:
            self.limits = limits
            self.enforced = enforced
        self.reset()

    def reset(self) -> None:
        """Forget every request counted so far."""
        with self._lock:
            self._minute: datetime | None = None
            self._day: datetime | None = None
            self._minute_used = 0
            self._day_used = 0

    def _roll(self, now: datetime) -> tuple[datetime, datetime]:
        minute = _window_start(now, MINUTE)
        day = _window_start(now, DAY)
        if minute != self._minute:
            self._minute, self._minute_used = minute, 0
        if day != self._day:
            self._day, self._day_used = day, 0
        return minute + timedelta(seconds=MINUTE), day + timedelta(seconds=DAY)

    def take(self) -> Verdict:
        """Count one request and say whether it may be served."""
        with self._lock:
            return self._verdict(count=True)

    def peek(self) -> Verdict:
        """The current numbers without counting (for answers that are not counted, e.g. 401)."""
        with self._lock:
            return self._verdict(count=False)

    def _verdict(self, *, count: bool) -> Verdict:
        now = self._now()
        minute_reset, day_reset = self._roll(now)
        limits = self.limits
        exhausted: str | None = None
        if count:
            if self._minute_used >= limits.per_minute:
                exhausted = "minute"
            elif limits.per_day is not None and self._day_used >= limits.per_day:
                exhausted = "day"
            if exhausted is None or not self.enforced:
                self._minute_used += 1
                self._day_used += 1
        remaining = max(0, limits.per_minute - self._minute_used)
        reset = minute_reset
        if limits.per_day is not None:
            day_left = max(0, limits.per_day - self._day_used)
            if day_left == 0:  # the day's quota binds: nothing comes back at the next minute
                reset = day_reset
            remaining = min(remaining, day_left)
        if exhausted is None or not self.enforced:
            return Verdict(True, limits.per_minute, remaining, reset)
        day = exhausted == "day"
        return Verdict(
            False,
            limits.per_minute,
            0,
            reset,
            exhausted,
            limits.per_day if day and limits.per_day is not None else limits.per_minute,
            day_reset if day else minute_reset,
        )
