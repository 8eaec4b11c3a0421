"""``/_mock/clock``: reading the fake's clock and moving it on, running what falls due."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.clock import RealClock, VirtualClock
from lmif_mock.durations import to_timedelta
from lmif_mock.fake import FakeLMIF
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.timestamps import format_timestamp

#: The most ``days`` one advance may say (100 years).
MAX_ADVANCE_DAYS = 36600
#: The most each unit of one advance may say, and the only bound on one advance: the OpenAPI
#: document states each, and a bound on their sum is not something it can state (one advance may
#: move about 265 years; past the calendar's end, year 9999, a clock refuses to go).
ADVANCE_LIMITS: dict[str, float] = {
    "seconds": 1e9,
    "minutes": 1e7,
    "hours": 1e6,
    "days": MAX_ADVANCE_DAYS,
}


class ClockRoutes:
    """The clock routes; ``on_clock_change`` runs after every advance (a server saves its state)."""

    def __init__(
        self,
        fake: FakeLMIF,
        read_body: BodyReader,
        on_clock_change: Callable[[], None] | None = None,
    ) -> None:
        self.fake = fake
        self.read_body = read_body
        self.on_clock_change = on_clock_change

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {"mock_clock": self.clock, "mock_advance": self.advance}

    def clock(self, request: Request, args: dict[str, str]) -> Result:
        return 200, self._clock_json()

    def advance(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"seconds", "minutes", "hours", "days"})
        parts = {
            name: fields.number(name, maximum=limit) or 0.0
            for name, limit in ADVANCE_LIMITS.items()
        }
        fields.done()
        self.fake.clock.advance(to_timedelta(**parts))
        if self.on_clock_change is not None:
            self.on_clock_change()
        return 200, self._clock_json()

    def _clock_json(self) -> dict[str, Any]:
        clock = self.fake.clock
        pending = clock.pending()
        return {
            "data": {
                "now": format_timestamp(clock.now()),
                "type": "virtual" if isinstance(clock, VirtualClock) else "real",
                "scale": clock.scale if isinstance(clock, RealClock) else None,
                "pendingCount": len(pending),
                "nextDueAt": format_timestamp(pending[0]) if pending else None,
            }
        }
