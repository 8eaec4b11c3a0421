"""``/_mock/health``, endpoint health and the opt-in delivery control (410 disables,
Retry-After, auto-disable) that decides it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.fake import FakeLMIF
from lmif_mock.health import MAX_RETRY_AFTER_CAP, DeliveryControl
from lmif_mock.http.errors import reported_as
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.listing import page
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.http.webhook_routes import find_webhook


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


class HealthRoutes:
    """Liveness, each endpoint's health, and the delivery control, over ``fake``."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader) -> None:
        self.fake = fake
        self.read_body = read_body

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "health": self.liveness,
            "mock_get_control": self.get_control,
            "mock_put_control": self.put_control,
            "mock_endpoints_health": self.endpoints_health,
            "mock_webhook_health": self.webhook_health,
        }

    def liveness(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"status": "ok"}

    def get_control(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": _control_json(self.fake.delivery_control)}

    def put_control(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request),
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
        cap = fields.number(
            "maxRetryAfter", maximum=MAX_RETRY_AFTER_CAP.total_seconds(), nullable=True
        )
        failures = fields.integer("disableAfterFailures", minimum=1, maximum=1000, nullable=True)
        window = fields.number("disableAfter", maximum=366 * 86400, nullable=True)
        fields.done()
        # Checked whether or not it is turned on: what is refused must not depend on `enabled`
        # (``disableAfter: 0`` is as wrong beside ``enabled: false`` as beside ``true``).
        with reported_as("body"):
            control = DeliveryControl(
                honor_gone=True if gone is None else gone,
                honor_retry_after=True if retry_after is None else retry_after,
                max_retry_after=timedelta(seconds=3600 if cap is None else cap),
                disable_after_failures=failures,
                disable_after=None if window is None else timedelta(seconds=window),
            )
        kept = control if enabled else None
        self.fake.delivery_control = kept
        return 200, {"data": _control_json(kept)}

    def endpoints_health(self, request: Request, args: dict[str, str]) -> Result:
        found = self.fake.endpoint_health()
        return 200, page(request, found, lambda h: h.to_dict())

    def webhook_health(self, request: Request, args: dict[str, str]) -> Result:
        webhook = find_webhook(self.fake, args["id"])
        return 200, {"data": self.fake.endpoint_health(webhook.id).to_dict()}
