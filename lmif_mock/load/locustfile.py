"""The locustfile ``python -m lmif_mock load`` runs, and the one to give workers on other machines.

The master reads the plan from the environment the command set and hands it to every worker, so
a worker needs nothing but this file and the master's address:
``locust -f <this file> --worker --master-host HOST --master-port PORT``. The master (or the
single process, without workers) prints a progress line every few seconds and, at the end,
writes the run's exact tally where the command asked.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

from lmif_mock.load.plan import LoadPlan
from lmif_mock.load.process import PROCESS
from lmif_mock.load.results import PLAN_ENV, RESULT_ENV, write_result
from lmif_mock.load.user import LMIFUser

#: Seconds between progress lines.
PROGRESS_EVERY = 2.0

if os.environ.get(PLAN_ENV):
    PROCESS.shared_plan = LoadPlan.from_dict(json.loads(os.environ[PLAN_ENV]))


class LoadUser(LMIFUser):
    """Follows the plan the master handed out (its attributes are never used)."""


_progress: list[gevent.Greenlet[Any, None]] = []


def _print_progress(environment: Environment) -> None:
    started = time.monotonic()
    before = 0
    while True:
        gevent.sleep(PROGRESS_EVERY)
        total = environment.stats.total
        rate = (total.num_requests - before) / PROGRESS_EVERY
        before = total.num_requests
        print(
            f"progress: {time.monotonic() - started:4.0f}s  {total.num_requests:>9,} requests  "
            f"{rate:8.1f}/s  {total.num_failures:,} failed",
            flush=True,
        )


@events.test_start.add_listener
def _start_progress(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        _progress.append(gevent.spawn(_print_progress, environment))


@events.test_stopping.add_listener
def _stop_progress(environment: Environment, **_: Any) -> None:
    while _progress:
        _progress.pop().kill(block=False)


@events.quitting.add_listener
def _write_result(environment: Environment, **_: Any) -> None:
    path = os.environ.get(RESULT_ENV)
    if path and PROCESS.final is not None and not isinstance(environment.runner, WorkerRunner):
        write_result(path, PROCESS.final, PROCESS.missing_workers)
