"""Control routes for tests in other languages: waiting, transcripts, endpoint health.

A mixin of :class:`lmif_mock.http.app.API`, so that a Node or shell test can do over HTTP what a
Python test does with ``server.wait_for``, ``server.transcript()`` and endpoint health.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from lmif_mock.errors import NotFoundError
from lmif_mock.health import MAX_RETRY_AFTER_CAP, DeliveryControl, DeliveryControlError
from lmif_mock.http.errors import not_found, validation_error
from lmif_mock.http.representations import delivery_json
from lmif_mock.http.validation import Fields
from lmif_mock.waiting import (
    UNTIL,
    Expectation,
    WaitError,
    WaitTimeout,
    resolve_timeout,
    seen,
)

if TYPE_CHECKING:
    from lmif_mock.fake import FakeLMIF

Result = tuple[int, Any]
#: The longest a ``GET /_mock/wait`` holds the connection (a bounded long poll).
MAX_LONG_POLL = 60.0


def _problem(field: str, message: str) -> Any:
    return validation_error([{"field": field, "message": message}])


def _whole(request: Request, name: str, low: int, high: int) -> int | None:
    text = request.args.get(name)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        raise _problem(name, "must be a whole number") from None
    if not low <= value <= high:
        raise _problem(name, f"must be between {low} and {high}")
    return value


class ControlRoutes:
    """Handlers for ``/_mock/wait`` and friends (mixed into the API class)."""

    fake: FakeLMIF
    _body: Callable[..., Any]
    _page: Callable[..., dict[str, Any]]
    #: Waits are cut to this many seconds whatever the client asks (lower it where no client
    #: should ever be held, e.g. when fuzzing the API).
    max_long_poll: float = MAX_LONG_POLL

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

    def _mock_wait(self, request: Request, args: dict[str, str]) -> Result:
        until = request.args.get("until")
        if until is not None and until not in UNTIL:
            raise _problem("until", f"must be one of {list(UNTIL)}")
        attempts = _whole(request, "attempts", 1, 1000)
        count_text = request.args.get("count")
        count: Any = "all" if count_text == "all" else _whole(request, "count", 1, 10_000) or 1
        timeout = self._long_poll_timeout(request)
        try:
            wanted = Expectation(
                event_id=request.args.get("eventId"),
                event_type=request.args.get("eventType"),
                webhook_id=request.args.get("webhookId"),
                until=until,
                attempts=attempts,
                count=count,
            )
        except WaitError as exc:
            raise _problem("query", str(exc)) from None
        matching: list[Any] = []
        met: list[Any] | None = None

        def check() -> bool:
            nonlocal matching, met
            matching = [d for d in self.fake.store.list_deliveries() if wanted.concerns(d)]
            met = wanted.met(matching)
            return met is not None

        self.fake.waiter().until(check, min(timeout, self.max_long_poll))
        shown = met if met is not None else matching
        return 200, {
            "data": {
                "met": met is not None,
                "waitedFor": wanted.describe(),
                "seen": seen(matching),
                "deliveries": [delivery_json(d) for d in shown[:100]],
            }
        }

    def _mock_wait_idle(self, request: Request, args: dict[str, str]) -> Result:
        retries_text = request.args.get("retries", "true")
        if retries_text not in ("true", "false"):
            raise _problem("retries", "must be true or false")
        timeout = self._long_poll_timeout(request)
        try:
            self.fake.wait_idle(
                timeout=min(timeout, self.max_long_poll), retries=retries_text == "true"
            )
        except WaitTimeout as exc:
            return 200, {"data": {"idle": False, "seen": str(exc)}}
        return 200, {"data": {"idle": True, "seen": ""}}

    def _mock_transcript(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": self.fake.transcript()}

    def _mock_get_control(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": _control_json(self.fake.delivery_control)}

    def _mock_put_control(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self._body(request),
            allowed={
                "enabled",
                "honorGone",
                "honorRetryAfter",
                "maxRetryAfter",
                "disableAfterFailures",
                "disableAfter",
            },
        )
        enabled = fields.boolean("enabled", required=True)
        gone = fields.boolean("honorGone")
        retry_after = fields.boolean("honorRetryAfter")
        cap = fields.number("maxRetryAfter", maximum=MAX_RETRY_AFTER_CAP.total_seconds())
        failures = fields.integer("disableAfterFailures", minimum=1, maximum=1000)
        window = fields.number("disableAfter", maximum=366 * 86400)
        fields.done()
        control = None
        if enabled:
            try:
                control = DeliveryControl(
                    honor_gone=True if gone is None else gone,
                    honor_retry_after=True if retry_after is None else retry_after,
                    max_retry_after=timedelta(seconds=3600 if cap is None else cap),
                    disable_after_failures=failures,
                    disable_after=None if window is None else timedelta(seconds=window),
                )
            except DeliveryControlError as exc:
                raise _problem("body", str(exc)) from None
        self.fake.delivery_control = control
        return 200, {"data": _control_json(control)}

    def _mock_endpoints_health(self, request: Request, args: dict[str, str]) -> Result:
        found = self.fake.endpoint_health()
        return 200, self._page(request, found, lambda h: h.to_dict())

    def _mock_webhook_health(self, request: Request, args: dict[str, str]) -> Result:
        try:
            health = self.fake.endpoint_health(args["id"])
        except NotFoundError:
            raise not_found("webhook", args["id"]) from None
        return 200, {"data": health.to_dict()}


def _control_json(control: DeliveryControl | None) -> dict[str, Any]:
    if control is None:
        return {
            "enabled": False,
            "honorGone": False,
            "honorRetryAfter": False,
            "maxRetryAfter": None,
            "disableAfterFailures": None,
            "disableAfter": None,
        }
    return control.to_dict()
