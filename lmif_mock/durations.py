"""Durations in every form a test gives them: a ``timedelta``, a number of seconds, or parts.

The clock, the retry policy and the API all take durations from users; one conversion means one
set of refusals, with messages an API client can act on (Python's own speak of C ints).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any


def to_timedelta(
    value: timedelta | float | None = None,
    *,
    seconds: float = 0,
    minutes: float = 0,
    hours: float = 0,
    days: float = 0,
) -> timedelta:
    """Every way a duration is given (a timedelta, seconds, or keyword parts) as one timedelta.

    Too large or non-finite numbers raise ``OverflowError``/``ValueError`` with a message fit
    for an API client (Python's own speaks of C ints and NaN-to-integer conversions).
    """
    if isinstance(value, timedelta):
        base = value
    elif value is None:
        base = timedelta()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        base = _checked(timedelta, seconds=value)
    else:
        raise TypeError(f"a duration must be a timedelta or a number of seconds, not {value!r}")
    step = _checked(timedelta, seconds=seconds, minutes=minutes, hours=hours, days=days)
    return _checked(base.__add__, step)


def _checked(make: Callable[..., timedelta], *args: Any, **parts: Any) -> timedelta:
    try:
        made = make(*args, **parts)
    except OverflowError:
        raise OverflowError(f"too long (a duration is at most {timedelta.max.days} days)") from None
    except ValueError:
        raise ValueError("not a finite number") from None
    return made
