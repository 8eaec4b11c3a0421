"""The world's tables, its lock and its outbox: what every transition stands on.

A transition changes state and records ``(type, data)`` in the outbox while holding the lock;
the outbox is handed to ``publish`` only after the lock is released, so a receiver that calls
the API back during a delivery never waits for the world.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from lmif_mock.clock import Clock
from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.world.resources import (
    Avatar,
    Box,
    Claim,
    GracePeriod,
    License,
    LicenseRequest,
    Violation,
)

Publish = Callable[[str, dict[str, Any]], object]


class WorldCore:
    """State and publishing; the resource transitions are built on it (see :class:`World`)."""

    def __init__(
        self,
        clock: Clock,
        new_id: Callable[[str], str],
        rng: random.Random,
        publish: Publish,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.rng = rng
        self._publish = publish
        self._lock = threading.RLock()
        self._outbox: deque[tuple[str, dict[str, Any]]] = deque()
        self._publishing = threading.Lock()
        self._depth = 0
        self.reset()

    def reset(self) -> None:
        """Forget every resource (timers go with the clock's reset)."""
        with self._lock:
            self._outbox.clear()
            self.claims: dict[str, Claim] = {}
            self.boxes: dict[str, Box] = {}
            self.avatars: dict[str, Avatar] = {}
            self.violations: dict[str, Violation] = {}
            self.grace_periods: dict[str, GracePeriod] = {}
            self.licenses: dict[str, License] = {}
            self.requests: dict[str, LicenseRequest] = {}

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def _id(self, kind: str) -> str:
        return self.new_id(kind)

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event for the outbox; only legal while the world's lock is held."""
        self._outbox.append((event_type, data))

    @contextmanager
    def _transition(self) -> Iterator[None]:
        """Hold the lock while state changes; publish what was recorded once it is released."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                outermost = self._depth == 0
        if outermost:
            self.flush()

    def flush(self) -> None:
        """Publish the outbox, oldest first, unless another thread is already doing so.

        That thread drains what is queued after its current event, so events leave in the
        order the transitions happened and a call made from inside a delivery never waits on it.
        """
        failure: Exception | None = None
        while self._outbox:
            if not self._publishing.acquire(blocking=False):
                break
            try:
                while True:
                    with self._lock:
                        if not self._outbox:
                            break
                        event_type, data = self._outbox.popleft()
                    try:
                        self._publish(event_type, data)
                    except Exception as exc:  # the rest still go out; the caller hears of it
                        failure = failure or exc
            finally:
                self._publishing.release()
        if failure is not None:
            raise failure

    def _find(self, table: dict[str, Any], ident: str, kind: str) -> Any:
        found = table.get(ident) if isinstance(ident, str) else None
        if found is None:
            raise NotFoundError(f"no {kind} {ident!r}")
        return found

    def box(self, box_id: str) -> Box:
        """The box with ``box_id`` (deleted boxes stay readable)."""
        return self._find(self.boxes, box_id, "box")  # type: ignore[no-any-return]

    def box_named(self, name: str) -> Box:
        """The active box protecting ``name`` (case-insensitive, variations included)."""
        wanted = name.strip().casefold()
        for box in self.boxes.values():
            names = [box.claim.name, *box.claim.variations]
            if box.status == "active" and any(n.casefold() == wanted for n in names):
                return box
        raise NotFoundError(f"no box protects {name!r}")

    def _active_box(self, box_id: str) -> Box:
        box = self.box(box_id)
        if box.status != "active":
            raise ConflictError(f"box {box_id} was deleted")
        return box
