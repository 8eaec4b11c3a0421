"""The workers that make attempts on a real clock, shared fairly between webhooks.

Each webhook is a lane that may hold at most ``per_webhook_workers`` of the pool's workers at
once; more work for a busy lane waits behind it. So one webhook whose receivers hang can never
take every worker and stall the deliveries to all the others.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("lmif_mock.dispatcher")

Work = Callable[[], None]


class SendLanes:
    """A bounded thread pool whose work is queued per lane (one lane per webhook)."""

    def __init__(self, max_workers: int = 8) -> None:
        self.max_workers = max_workers
        #: A webhook may hold at most this many workers, so that slow receivers behind one
        #: webhook leave the rest of the pool to the others.
        self.per_webhook_workers = max(1, max_workers // 4)
        self._pool: ThreadPoolExecutor | None = None
        self._busy: dict[str, int] = {}
        self._waiting: dict[str, collections.deque[Work]] = {}
        self._lock = threading.Lock()

    def submit(self, work: Work, lane: str) -> None:
        """Hand ``work`` to the pool, or queue it behind its lane if that lane already holds
        ``per_webhook_workers`` workers (the pool starts on first use)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_workers, thread_name_prefix="lmif-send")
                self._busy.clear()  # a closed pool ran (or cancelled) all it had
                self._waiting.clear()
            busy = self._busy.get(lane, 0)
            if busy >= self.per_webhook_workers:
                self._waiting.setdefault(lane, collections.deque()).append(work)
                return
            self._busy[lane] = busy + 1
            pool = self._pool
        with contextlib.suppress(RuntimeError):  # shut down: pending work stays pending
            pool.submit(self._run_in_lane, work, lane)

    def close(self) -> None:
        """Finish what is running, drop what waits (it stays pending in the store)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def _run_in_lane(self, work: Work, lane: str) -> None:
        """Run ``work``, then send the lane's next waiting work to the back of the pool's queue,
        so lanes with a backlog take turns with every other lane."""
        try:
            work()
        except Exception:  # pragma: no cover - attempts record their own errors
            log.exception("delivery work failed")
        with self._lock:
            waiting = self._waiting.get(lane)
            pool = self._pool
            if not waiting or pool is None:
                busy = self._busy.get(lane, 1) - 1
                if busy > 0:
                    self._busy[lane] = busy
                else:
                    self._busy.pop(lane, None)
                return
            following = waiting.popleft()
            if not waiting:
                del self._waiting[lane]
        with contextlib.suppress(RuntimeError):
            pool.submit(self._run_in_lane, following, lane)
