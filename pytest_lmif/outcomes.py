"""A tiny public hook: who wants to hear that receiver checks ran.

:func:`pytest_lmif.check_receiver` announces each finished run here, with the fake that ran it, so
that the session's coverage report (:mod:`pytest_lmif.coverage`) or a project's own tooling can
count what was checked without the checks knowing who listens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmif_mock import FakeLMIF
    from pytest_lmif.report import ReceiverReport

log = logging.getLogger("pytest_lmif.outcomes")

CheckListener = Callable[["ReceiverReport", "FakeLMIF"], None]
_listeners: list[CheckListener] = []


def on_receiver_checked(listener: CheckListener) -> Callable[[], None]:
    """Call ``listener(report, fake)`` after every ``check_receiver`` run; returns a function
    that stops it."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop


def receiver_checked(report: ReceiverReport, fake: FakeLMIF) -> None:
    """Tell every listener; a failing listener is logged, never breaks the checks."""
    for listener in list(_listeners):
        try:
            listener(report, fake)
        except Exception:
            log.exception("receiver check listener failed")
