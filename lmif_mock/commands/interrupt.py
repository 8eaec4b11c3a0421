"""Waiting for Ctrl+C or SIGTERM, for the commands that run until stopped."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def wait_until_interrupted() -> None:
    """Block until SIGINT or SIGTERM arrives; the previous handlers are restored afterwards.

    Both signals end the wait the same way, so ``kill`` (as a process manager sends it) shuts the
    server down as cleanly as Ctrl+C does.
    """
    stop = threading.Event()

    def interrupted(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
