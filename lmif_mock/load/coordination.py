"""The load run's own messages between the Locust master and its workers.

Locust's statistics reach the master every few seconds and its final report is waited for only
briefly, so exact counts need a handshake of their own. At the start the master gives each
worker its place (index and count, for sharing a catch-up schedule) and, from the ``load``
command, the plan. At the end, before Locust's own shutdown, the master asks every worker to stop
its users gracefully and send its tally, and waits for all of them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment
from locust.rpc.protocol import Message
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from lmif_mock.load.plan import LoadPlan
from lmif_mock.load.process import PROCESS
from lmif_mock.load.tally import Tally

log = logging.getLogger("lmif_mock.load")

START = "lmif-load-start"
STOP = "lmif-load-stop"
TALLY = "lmif-load-tally"
#: How long the master waits for tallies beyond the users' own stop timeout.
REPORT_GRACE_SECONDS = 30.0

_installed = False
_expected: list[str] = []
_received: dict[str, Tally] = {}


def install() -> None:
    """Register the listeners on Locust's event hooks (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    events.init.add_listener(_on_init)
    events.test_start.add_listener(_on_test_start)
    events.test_stopping.add_listener(_on_test_stopping)
    events.test_stop.add_listener(_on_test_stop)


def _on_init(environment: Environment, **_: Any) -> None:
    # gevent's loop caches "now" and has not run since the locustfile began importing; Locust
    # schedules --run-time from that stale time, which cut a 1 s run to ~30 ms (measured) after
    # an import of about a second. Refresh it before the run is scheduled.
    gevent.get_hub().loop.update_now()
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message(START, _on_start_message)
        runner.register_message(STOP, _on_stop_message, concurrent=True)
    elif isinstance(runner, MasterRunner):
        runner.register_message(TALLY, _on_tally_message)


def _on_test_start(environment: Environment, **_: Any) -> None:
    PROCESS.begin()
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        connected = runner.clients.ready + runner.clients.spawning + runner.clients.running
        _expected[:] = sorted(client.id for client in connected)
        _received.clear()
        plan = PROCESS.shared_plan.to_dict() if PROCESS.shared_plan is not None else None
        for index, client_id in enumerate(_expected):
            data = {"index": index, "count": len(_expected), "plan": plan}
            runner.send_message(START, data, client_id=client_id)
    elif isinstance(runner, LocalRunner):
        PROCESS.index, PROCESS.count = 0, 1


def _on_start_message(environment: Environment, msg: Message, **_: Any) -> None:
    PROCESS.index = int(msg.data["index"])
    PROCESS.count = int(msg.data["count"])
    if msg.data["plan"] is not None:
        PROCESS.shared_plan = LoadPlan.from_dict(msg.data["plan"])


def _on_stop_message(environment: Environment, msg: Message, **_: Any) -> None:
    runner = environment.runner
    assert runner is not None
    runner.stop()  # graceful: every request in flight is answered (or times out) first
    runner.send_message(TALLY, PROCESS.finish().to_message())


def _on_tally_message(environment: Environment, msg: Message, **_: Any) -> None:
    _received[msg.node_id] = Tally.from_message(msg.data)


def _on_test_stopping(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    for client_id in _expected:
        runner.send_message(STOP, None, client_id=client_id)
    deadline = time.monotonic() + environment.stop_timeout + REPORT_GRACE_SECONDS
    while time.monotonic() < deadline and not set(_expected) <= set(_received):
        gevent.sleep(0.05)
    final = Tally()
    for tally in _received.values():
        final.merge(tally)
    PROCESS.final = final
    PROCESS.missing_workers = len(set(_expected) - set(_received))
    if PROCESS.missing_workers:
        log.error("%d worker(s) never reported their counts", PROCESS.missing_workers)


def _on_test_stop(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, LocalRunner):
        final = Tally()
        final.merge(PROCESS.finish())
        PROCESS.final = final
