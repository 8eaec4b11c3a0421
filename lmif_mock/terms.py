"""License terms run in calendar years, as the provider's examples do.

The Licensing page's approved license runs from ``2024-01-17T00:00:00Z`` to
``2025-01-17T00:00:00Z`` and the API reference's from ``2024-01-01`` to ``2025-01-01``: the same
date a year later, not 365 days (which would end a day early after a 29 February). A term that
starts on 29 February ends on 28 February (designed: the docs show no leap-day example).
"""

from __future__ import annotations

from datetime import datetime


def years_after(moment: datetime, years: int = 1) -> datetime:
    """The same month, day and time ``years`` later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year + years, day=28)
