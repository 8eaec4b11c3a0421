"""When the events of an outage reach a receiver once it is back: the provider's retry schedule.

Every event produced during the outage was attempted at once and failed; it comes back on its
next scheduled retry (1 min, 5 min, 30 min, 2 h, 8 h, 24 h after the previous failure) that
falls after the receiver recovered, or never, if its last attempt fell inside the outage. New
events keep arriving at the usual rate on top. The receiver therefore sees overlapping waves, not
one spike, and this module computes exactly those arrival times so a load run can replay them.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterator
from datetime import timedelta

from lmif_mock.retry import RetryPolicy


def backlog_arrivals(
    outage_hours: float, events_per_hour: float, policy: RetryPolicy | None = None
) -> list[float]:
    """Seconds after recovery at which each outage event is delivered, sorted.

    Events are produced evenly during the outage (the first at its start). An event whose every
    attempt fell inside the outage is not in the list: the provider marked it failed.
    """
    schedule = policy or RetryPolicy()
    offsets = list(itertools.accumulate(d.total_seconds() for d in schedule.delays))
    outage = timedelta(hours=outage_hours).total_seconds()
    spacing = 3600.0 / events_per_hour
    count = int(outage / spacing)
    arrivals: list[float] = []
    for index in range(count):
        created = index * spacing
        due = created + offsets[0]
        if due >= outage:
            arrivals.append(due - outage)  # first attempt after recovery: no failure yet
            continue
        later = bisect.bisect_left(offsets, outage - created)
        if later < len(offsets):
            arrivals.append(created + offsets[later] - outage)
    arrivals.sort()
    return arrivals


def catch_up_arrivals(
    outage_hours: float, events_per_hour: float, policy: RetryPolicy | None = None
) -> Iterator[float]:
    """The backlog's arrivals merged with new events at the usual rate, without end, sorted.

    Times are in the provider's seconds after recovery; divide by a time scale to compress them.
    """
    backlog = backlog_arrivals(outage_hours, events_per_hour, policy)
    spacing = 3600.0 / events_per_hour
    live = (index * spacing for index in itertools.count())
    return heapq.merge(backlog, live)
