"""The share of the server's workers that requests waiting on a receiver may hold at once.

A request that emits, resends, retries, plays a scenario or advances the clock can make delivery
attempts before it answers (on a virtual clock every attempt runs inside the request; on a real
one an emit answers once the first attempts are made), and an attempt may wait on its receiver
for the retry policy's whole timeout, up to an hour. A receiver that accepts and never answers is
exactly what this tool exists to test, so without a cap 32 such requests would hold all 32 of the
server's workers and the fake would stop answering anything, health checks included. Past the
cap such a request is refused at once (503 ``RECEIVERS_BUSY`` with ``Retry-After``) before it
changes anything, so reads, control (reset, keys, policy) and the dashboard keep their workers.

Refusing rather than queueing: a request queued for a slot would hold a worker while it waits,
which is the very thing being bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from lmif_mock.http.errors import APIError
from lmif_mock.http.routes import Route
from lmif_mock.http.serving.server_limits import WORKERS

#: Requests that may wait on receivers at once: half the workers. With the 8 long polls of
#: ``/_mock/wait`` that leaves a quarter of them for everything else, whatever receivers do.
MAX_CONCURRENT_DELIVERING = WORKERS // 2
#: Seconds a refused request is told to wait before asking again.
DELIVERING_RETRY_AFTER = 1

#: The routes that change state but never make or wait for an attempt: they need no slot, so
#: they keep working while receivers hang. Every other POST, PUT, PATCH and DELETE may deliver:
#: an advance runs what falls due, and every change to the world (a claim or an avatar too,
#: though they emit nothing themselves) may publish what other changes left in its outbox.
NEVER_DELIVER = frozenset(
    {
        "create_webhook",
        "update_webhook",
        "delete_webhook",
        "rotate_secret",
        "identity_check",
        "identity_check_batch",
        "mock_rotate_key",
        "mock_revoke_key",
        "mock_reset",
        "mock_put_policy",
        "mock_put_faults",
        "mock_put_control",
    }
)


def may_deliver(route: Route) -> bool:
    """Whether answering ``route`` may wait on a receiver (and so needs a slot)."""
    return route.method != "GET" and route.endpoint not in NEVER_DELIVER


class ReceiverShare:
    """At most ``size`` requests waiting on receivers at once; the rest are refused at once."""

    def __init__(self, size: int = MAX_CONCURRENT_DELIVERING) -> None:
        self.size = size
        self._slots = threading.BoundedSemaphore(size)

    def refusal(self) -> APIError:
        """The answer to a request past the cap: 503, ask again after ``Retry-After``."""
        return APIError(
            "RECEIVERS_BUSY",
            f"{self.size} requests are already waiting on webhook receivers; ask again shortly",
            {"maxConcurrent": self.size, "retryAfter": DELIVERING_RETRY_AFTER},
            headers={"Retry-After": str(DELIVERING_RETRY_AFTER)},
        )

    def try_take(self) -> bool:
        """Take a slot if one is free (then :meth:`give_back` it); never waits."""
        return self._slots.acquire(blocking=False)

    def give_back(self) -> None:
        self._slots.release()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the block, or raise the 503 :class:`APIError` at once."""
        if not self.try_take():
            raise self.refusal()
        try:
            yield
        finally:
            self.give_back()
