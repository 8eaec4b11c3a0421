"""The state one Locust process shares between its users: its tally, its share of the schedule.

Users of one process run as gevent greenlets, so plain attributes need no lock: nothing here
yields. Free of Locust itself, so it can be unit-tested in any process.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from lmif_mock.load.catch_up import catch_up_arrivals
from lmif_mock.load.plan import LoadPlan
from lmif_mock.load.tally import Tally


@dataclass
class ProcessState:
    """One per process. ``index``/``count`` say which share of a catch-up schedule is ours.

    ``shared_plan`` is set when the master handed out the plan (the ``load`` command does this,
    so workers on other machines need no configuration); a user's own locustfile leaves it unset
    and configures its user class instead. ``final`` is the whole run's tally, known on the
    process that coordinates the run once every user has stopped (``missing_workers`` counts
    the workers that never sent theirs).
    """

    tally: Tally = field(default_factory=Tally)
    index: int = 0
    count: int = 1
    shared_plan: LoadPlan | None = None
    started: float = field(default_factory=time.monotonic)
    final: Tally | None = None
    missing_workers: int = 0
    _arrivals: Iterator[float] | None = None

    def begin(self) -> None:
        """A run starts: fresh counts, the clock at zero, the schedule from its beginning."""
        self.tally = Tally()
        self.started = time.monotonic()
        self.final = None
        self.missing_workers = 0
        self._arrivals = None

    def finish(self) -> Tally:
        """This process's users have stopped: stamp how long it sent for and return its tally."""
        self.tally.elapsed = time.monotonic() - self.started
        return self.tally

    def next_arrival(self, plan: LoadPlan) -> float:
        """Claim the next catch-up arrival of this process's share: seconds after the run began.

        Arrival ``k`` of the whole schedule belongs to process ``k % count``, so the processes
        of a distributed run replay the schedule between them without overlap.
        """
        if self._arrivals is None:
            every = catch_up_arrivals(plan.outage_hours, plan.events_per_hour)
            self._arrivals = itertools.islice(every, self.index, None, self.count)
        return next(self._arrivals) / plan.time_scale


#: This process's state (each Locust master or worker process is one Python process).
PROCESS = ProcessState()
