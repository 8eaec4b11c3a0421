"""``/v1/lmif/events`` and ``/v1/lmif/deliveries``: reading what was sent, resending, retrying."""

from __future__ import annotations

from werkzeug.wrappers import Request

from lmif_mock.fake import FakeLMIF
from lmif_mock.http.emitted import emitted_json, settle_first_attempts
from lmif_mock.http.errors import APIError, not_found
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.listing import page_by_id
from lmif_mock.http.representations import delivery_json, event_json
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.unretryable import why_not_retryable


class EventRoutes:
    """The event and delivery routes, over ``fake``'s store and dispatcher."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader) -> None:
        self.fake = fake
        self.read_body = read_body

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_events": self.list_events,
            "get_event": self.get_event,
            "resend_event": self.resend_event,
            "get_delivery": self.get_delivery,
            "retry_delivery": self.retry_delivery,
        }

    def list_events(self, request: Request, args: dict[str, str]) -> Result:
        # Paged over ids, and only the page's events read: decoding every event of a long
        # session for each page once took a third of a second at 20,000 events, and parallel
        # pages kept the server from answering anything else.
        store = self.fake.store
        ids = store.event_ids(request.args.get("type"))
        return 200, page_by_id(request, ids, store.get_event, event_json)

    def get_event(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": emitted_json(self.fake, args["id"])}

    def resend_event(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"webhookIds"})
        webhook_ids = fields.strings("webhookIds")
        fields.done()
        deliveries = self.fake.resend(args["id"], webhook_ids)
        settle_first_attempts(self.fake, args["id"])
        settled = [self.fake.delivery(delivery.id) for delivery in deliveries]
        return 201, {"data": [delivery_json(delivery) for delivery in settled]}

    def get_delivery(self, request: Request, args: dict[str, str]) -> Result:
        delivery = self.fake.store.get_delivery(args["id"])
        if delivery is None:
            raise not_found("delivery", args["id"])
        return 200, {"data": delivery_json(delivery, with_body=True)}

    def retry_delivery(self, request: Request, args: dict[str, str]) -> Result:
        found = self.fake.store.get_delivery(args["id"])
        if found is None:
            raise not_found("delivery", args["id"])
        why_not = why_not_retryable(found, self.fake.store)
        if why_not is not None:
            details = {"reason": "webhook_deleted", "webhookId": found.webhook_id}
            raise APIError("CONFLICT", f"Cannot retry {found.id}: {why_not}", details)
        delivery = self.fake.retry(args["id"])
        return 200, {"data": delivery_json(delivery)}
