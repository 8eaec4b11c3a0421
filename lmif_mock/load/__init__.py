"""Load-testing a receiver with Locust: the provider's deliveries, and its bursts, at volume.

``from lmif_mock.load import LMIFUser`` gives the Locust user class for a locustfile of your own;
that import (and only that one) imports Locust, which patches the process for gevent, so it
belongs in a locustfile run by ``locust``, never in a test process. Everything else here (the
plan, the catch-up schedule, the tally) is plain Python. ``python -m lmif_mock load`` runs it all
headless, with a Locust master and workers, and writes exact counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lmif_mock.load.catch_up import backlog_arrivals, catch_up_arrivals
from lmif_mock.load.plan import LoadPlan, LoadPlanError, parse_mix
from lmif_mock.load.tally import Tally

#: The locustfile the ``load`` command runs: give it to ``locust -f`` on workers elsewhere.
LOCUSTFILE = str(Path(__file__).resolve().with_name("locustfile.py"))

if TYPE_CHECKING:
    from lmif_mock.load.user import LMIFUser

__all__ = [
    "LOCUSTFILE",
    "LMIFUser",
    "LoadPlan",
    "LoadPlanError",
    "Tally",
    "backlog_arrivals",
    "catch_up_arrivals",
    "parse_mix",
]


def __getattr__(name: str) -> Any:
    """Import Locust only when the user class itself is asked for."""
    if name == "LMIFUser":
        from lmif_mock.load.user import LMIFUser

        return LMIFUser
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
