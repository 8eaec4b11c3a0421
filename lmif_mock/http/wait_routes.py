"""``/_mock/wait`` and ``/_mock/transcript``: what a Python test gets from ``server.wait_for``,
``wait_idle`` and ``transcript()``, for a Node or shell test over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.fake import FakeLMIF
from lmif_mock.http.errors import APIError, reported_as, validation_error
from lmif_mock.http.listing import window
from lmif_mock.http.representations import delivery_json
from lmif_mock.http.routes import Handler, Result
from lmif_mock.json_integers import whole_number_text
from lmif_mock.transcript import record_page
from lmif_mock.waiting import UNTIL, Expectation, WaitTimeout, resolve_timeout, seen

#: The longest a ``GET /_mock/wait`` holds the connection (a bounded long poll).
MAX_LONG_POLL = 60.0
#: Long polls held at once. Each holds one of the server's 32 workers for up to a minute, so
#: without a cap 32 waiting clients would stall every other request, a receiver calling the API
#: back during its delivery included; past the cap a wait is refused at once with a 503.
MAX_CONCURRENT_WAITS = 8
#: Seconds a refused waiter is told to wait before asking again.
WAIT_RETRY_AFTER = 1


def _problem(field: str, message: str) -> APIError:
    return validation_error([{"field": field, "message": message}])


def _whole(request: Request, name: str, low: int, high: int) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    value = whole_number_text(text)
    if value is None:
        raise _problem(name, "must be a whole number")
    if not low <= value <= high:
        raise _problem(name, f"must be between {low} and {high}")
    return value


class WaitRoutes:
    """The bounded long polls and the transcript, over ``fake``."""

    def __init__(self, fake: FakeLMIF) -> None:
        self.fake = fake
        #: Waits are cut to this many seconds whatever the client asks (lower it where no client
        #: should ever be held, e.g. when fuzzing the API).
        self.max_long_poll = MAX_LONG_POLL
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_WAITS)

    @contextmanager
    def _slot(self, seconds: float) -> Iterator[None]:
        """One of the few long-poll slots for a wait of ``seconds``, or a 503 at once; a check
        that does not wait (0 s) holds no worker, so it needs no slot."""
        if seconds <= 0:
            yield
            return
        if not self._slots.acquire(blocking=False):
            raise APIError(
                "TOO_MANY_WAITS",
                f"{MAX_CONCURRENT_WAITS} long polls are already waiting; ask again shortly",
                {"maxConcurrentWaits": MAX_CONCURRENT_WAITS, "retryAfter": WAIT_RETRY_AFTER},
                headers={"Retry-After": str(WAIT_RETRY_AFTER)},
            )
        try:
            yield
        finally:
            self._slots.release()

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "mock_wait": self.wait,
            "mock_wait_idle": self.wait_idle,
            "mock_transcript": self.transcript,
        }

    def _long_poll_timeout(self, request: Request) -> float:
        """The ``timeout`` query value, or the Python default: 10 s on a real clock, 0 (check
        once) on a virtual one, where nothing happens while a request waits unasked."""
        timeout_text = request.args.get("timeout")
        if timeout_text is None:
            return resolve_timeout(self.fake.clock, None)
        try:
            timeout = float(timeout_text)
        except ValueError:
            raise _problem("timeout", "must be a number of seconds") from None
        if not 0 <= timeout <= MAX_LONG_POLL:
            raise _problem("timeout", f"must be between 0 and {MAX_LONG_POLL:g} seconds")
        return timeout

    def wait(self, request: Request, args: dict[str, str]) -> Result:
        until = request.args.get("until")
        if until is not None and until not in UNTIL:
            raise _problem("until", f"must be one of {list(UNTIL)}")
        attempts = _whole(request, "attempts", 1, 1000)
        count_text = request.args.get("count")
        count: Any = "all" if count_text == "all" else _whole(request, "count", 1, 10_000) or 1
        timeout = self._long_poll_timeout(request)
        with reported_as("query"):
            wanted = Expectation(
                event_id=request.args.get("eventId"),
                event_type=request.args.get("eventType"),
                webhook_id=request.args.get("webhookId"),
                until=until,
                attempts=attempts,
                count=count,
            )
        matching: list[Any] = []
        met: list[Any] | None = None

        def check() -> bool:
            nonlocal matching, met
            matching = [d for d in self.fake.store.list_deliveries() if wanted.concerns(d)]
            met = wanted.met(matching)
            return met is not None

        seconds = min(timeout, self.max_long_poll)
        with self._slot(seconds):
            self.fake.waiter().until(check, seconds)
        shown = met if met is not None else matching
        return 200, {
            "data": {
                "met": met is not None,
                "waitedFor": wanted.describe(),
                "seen": seen(matching),
                "deliveries": [delivery_json(d) for d in shown[:100]],
            }
        }

    def wait_idle(self, request: Request, args: dict[str, str]) -> Result:
        retries_text = request.args.get("retries", "true")
        if retries_text not in ("true", "false"):
            raise _problem("retries", "must be true or false")
        timeout = self._long_poll_timeout(request)
        seconds = min(timeout, self.max_long_poll)
        try:
            with self._slot(seconds):
                self.fake.wait_idle(timeout=seconds, retries=retries_text == "true")
        except WaitTimeout as exc:  # not an error here: the answer says what is still moving
            return 200, {"data": {"idle": False, "seen": str(exc)}}
        return 200, {"data": {"idle": True, "seen": ""}}

    def transcript(self, request: Request, args: dict[str, str]) -> Result:
        """One page of the transcript: a long session's whole run in one answer once took 50 MB
        and held a worker (and the server's memory) for as long as it took to build."""
        limit, offset = window(request)
        transcript, total = record_page(self.fake.store, self.fake.seed, offset, limit)
        return 200, {"data": transcript, "meta": {"total": total, "limit": limit, "offset": offset}}
