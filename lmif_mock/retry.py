"""When the provider tries a delivery again, and when it gives up.

The default is the provider's published schedule: attempt 1 at once, then 1 minute, 5 minutes,
30 minutes, 2 hours, 8 hours and 24 hours after the previous failed attempt; a delivery whose 7th
attempt fails is marked failed. A 2xx answer within 30 seconds is success; anything else fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from lmif_mock.durations import to_timedelta
from lmif_mock.errors import LMIFMockError

PROVIDER_DELAYS: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(hours=24),
)
PROVIDER_TIMEOUT = timedelta(seconds=30)
#: Caps on what a policy may ask for: every attempt is a scheduled timer and a recorded attempt,
#: and a due time must stay on the calendar, so one request cannot ask for unbounded work.
MAX_ATTEMPTS = 100
MAX_RETRY_DELAY = timedelta(days=366)
MAX_TIMEOUT = timedelta(hours=1)


class RetryPolicyError(LMIFMockError, ValueError):
    """A retry policy that cannot work (no attempts, negative delays, zero timeout)."""


@dataclass(frozen=True)
class RetryPolicy:
    """An immutable retry schedule.

    ``delays[i]`` is the wait before attempt ``i + 1``, counted from the previous attempt (so
    ``delays[0]`` is the wait before the first attempt, normally zero). Durations may be given as
    timedeltas or seconds.

    >>> RetryPolicy().max_attempts
    7
    >>> RetryPolicy(delays=[0, 10, 10], timeout=5).delay_before(2)
    datetime.timedelta(seconds=10)
    """

    delays: tuple[timedelta, ...] = field(default=PROVIDER_DELAYS)
    timeout: timedelta = field(default=PROVIDER_TIMEOUT)

    def __init__(
        self,
        delays: Iterable[timedelta | float] = PROVIDER_DELAYS,
        timeout: timedelta | float = PROVIDER_TIMEOUT,
    ) -> None:
        try:
            normal = tuple(to_timedelta(d) for d in delays)
            wait = to_timedelta(timeout)
        except (TypeError, ValueError, OverflowError) as exc:
            raise RetryPolicyError(f"not a usable duration: {exc}") from exc
        if not normal:
            raise RetryPolicyError("a retry policy needs at least one attempt")
        if len(normal) > MAX_ATTEMPTS:
            raise RetryPolicyError(
                f"a retry policy has at most {MAX_ATTEMPTS} attempts (the cap), not {len(normal)}"
            )
        if any(d < timedelta() for d in normal):
            raise RetryPolicyError("retry delays cannot be negative")
        if any(d > MAX_RETRY_DELAY for d in normal):
            cap = MAX_RETRY_DELAY.days
            raise RetryPolicyError(f"a retry delay is at most {cap} days (the cap)")
        if wait <= timedelta():
            raise RetryPolicyError("the response timeout must be positive")
        if wait > MAX_TIMEOUT:
            raise RetryPolicyError(
                f"the response timeout is at most {MAX_TIMEOUT.total_seconds():g} s (the cap)"
            )
        object.__setattr__(self, "delays", normal)
        object.__setattr__(self, "timeout", wait)

    @classmethod
    def no_retries(cls, timeout: timedelta | float = PROVIDER_TIMEOUT) -> RetryPolicy:
        """A single attempt: what a receiver check wants when it judges one answer."""
        return cls(delays=(0,), timeout=timeout)

    @property
    def max_attempts(self) -> int:
        """How many attempts a delivery gets before it is marked failed."""
        return len(self.delays)

    @property
    def total_delay(self) -> timedelta:
        """First to last attempt when every attempt fails (34 h 36 min by default)."""
        return sum(self.delays[1:], timedelta())

    def delay_before(self, attempt_number: int) -> timedelta | None:
        """The wait before attempt ``attempt_number`` (1-based), or ``None`` past the last one."""
        if 1 <= attempt_number <= len(self.delays):
            return self.delays[attempt_number - 1]
        return None

    def to_seconds(self) -> dict[str, object]:
        """A JSON-friendly form, the inverse of :meth:`from_seconds`."""
        return {
            "delays": [d.total_seconds() for d in self.delays],
            "timeout": self.timeout.total_seconds(),
        }

    @classmethod
    def from_seconds(cls, value: dict[str, object]) -> RetryPolicy:
        """Read the form :meth:`to_seconds` writes (also what the control API accepts)."""
        if not isinstance(value, dict):
            raise RetryPolicyError("a retry policy must be an object with delays and timeout")
        unknown = sorted(str(k) for k in value if k not in ("delays", "timeout"))
        if unknown:
            raise RetryPolicyError(f"unknown retry policy field(s) {unknown}; use delays, timeout")
        nulls = [name for name in ("delays", "timeout") if name in value and value[name] is None]
        if nulls:
            raise RetryPolicyError(
                f"{', '.join(nulls)} cannot be null; leave it out for the default"
            )
        delays = value.get("delays", [d.total_seconds() for d in PROVIDER_DELAYS])
        timeout = value.get("timeout", PROVIDER_TIMEOUT.total_seconds())
        if isinstance(delays, list) and len(delays) > MAX_ATTEMPTS:
            raise RetryPolicyError(
                f"a retry policy has at most {MAX_ATTEMPTS} attempts (the cap), not {len(delays)}"
            )
        if not isinstance(delays, list) or not all(
            isinstance(d, (int, float)) and not isinstance(d, bool) for d in delays
        ):
            raise RetryPolicyError("'delays' must be a list of numbers of seconds")
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise RetryPolicyError("'timeout' must be a number of seconds")
        return cls(delays=delays, timeout=timeout)
