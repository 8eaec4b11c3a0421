"""``/v1/lmif/webhooks``: registering, changing, deleting and testing webhook endpoints."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.events import EVENT_TYPES
from lmif_mock.fake import FakeLMIF
from lmif_mock.http.emitted import emitted_json, settle_first_attempts
from lmif_mock.http.errors import APIError, not_found
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.listing import delivery_status, page, page_by_id
from lmif_mock.http.representations import delivery_json, webhook_json
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.records import Webhook
from lmif_mock.webhooks import MAX_SUBSCRIPTIONS


def find_webhook(fake: FakeLMIF, ident: str) -> Webhook:
    """The webhook ``ident`` names, or NOT_FOUND naming it."""
    webhook = fake.store.get_webhook(ident)
    if webhook is None:
        raise not_found("webhook", ident)
    return webhook


class WebhookRoutes:
    """The webhook management routes, over ``fake``'s registry."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader) -> None:
        self.fake = fake
        self.read_body = read_body

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_webhooks": self.list_webhooks,
            "create_webhook": self.create_webhook,
            "get_webhook": self.get_webhook,
            "update_webhook": self.update_webhook,
            "delete_webhook": self.delete_webhook,
            "rotate_secret": self.rotate_secret,
            "webhook_deliveries": self.webhook_deliveries,
            "test_webhook": self.test_webhook,
        }

    def list_webhooks(self, request: Request, args: dict[str, str]) -> Result:
        return 200, page(request, self.fake.webhooks.list(), webhook_json)

    def create_webhook(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"url", "events", "secret", "enabled"})
        url = fields.string("url", required=True)
        events = fields.strings("events", required=True, max_items=MAX_SUBSCRIPTIONS)
        secret = fields.string("secret", max_length=512)
        enabled = fields.boolean("enabled")
        fields.done()
        webhook = self.fake.webhooks.create(
            url, events or [], secret, enabled=True if enabled is None else enabled
        )
        return 201, {"data": webhook_json(webhook, with_secret=True)}

    def get_webhook(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": webhook_json(find_webhook(self.fake, args["id"]))}

    def update_webhook(self, request: Request, args: dict[str, str]) -> Result:
        webhook = find_webhook(self.fake, args["id"])
        fields = Fields(self.read_body(request), allowed={"url", "events", "enabled"})
        url = fields.string("url")
        events = fields.strings("events", max_items=MAX_SUBSCRIPTIONS)
        enabled = fields.boolean("enabled")
        fields.done()
        # A webhook that calls a Python function has no URL to keep unless one is given.
        url_arg: Any = None if callable(webhook.target) and url is None else url
        updated = self.fake.webhooks.update(webhook.id, url=url_arg, events=events, enabled=enabled)
        return 200, {"data": webhook_json(updated)}

    def delete_webhook(self, request: Request, args: dict[str, str]) -> Result:
        webhook = find_webhook(self.fake, args["id"])
        self.fake.webhooks.delete(webhook.id)
        return 200, {"data": {"id": webhook.id, "deleted": True}}

    def rotate_secret(self, request: Request, args: dict[str, str]) -> Result:
        webhook = find_webhook(self.fake, args["id"])
        fields = Fields(self.read_body(request), allowed={"secret"})
        secret = fields.string("secret", max_length=512)
        fields.done()
        rotated = self.fake.webhooks.rotate_secret(webhook.id, secret)
        return 200, {"data": webhook_json(rotated, with_secret=True)}

    def webhook_deliveries(self, request: Request, args: dict[str, str]) -> Result:
        webhook = find_webhook(self.fake, args["id"])
        store = self.fake.store
        ids = store.delivery_ids(webhook_id=webhook.id, status=delivery_status(request))
        return 200, page_by_id(request, ids, store.get_delivery, delivery_json)

    def test_webhook(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"eventType", "endpoint", "webhookId"})
        event_type = fields.string("eventType", required=True)
        endpoint = fields.string("endpoint")
        webhook_id = fields.string("webhookId")
        if event_type is not None and event_type not in EVENT_TYPES:
            fields.fail("eventType", "unknown event type; see the event catalogue")
        if endpoint is None and webhook_id is None:
            fields.fail("endpoint", "give endpoint (a registered URL) or webhookId")
        fields.done()
        registry = self.fake.webhooks
        if webhook_id is not None:
            find_webhook(self.fake, webhook_id)
        elif registry.sandbox and all(w.url != endpoint for w in registry.list()):
            # The registry would say so too, but without naming the endpoint for the client.
            raise APIError(
                "NOT_FOUND",
                f"No webhook is registered for {endpoint!r}; create one first",
                {"resource": "webhook", "endpoint": endpoint},
            )
        event = registry.test(str(event_type), endpoint, webhook_id=webhook_id)
        settle_first_attempts(self.fake, event.id)
        return 201, {"data": emitted_json(self.fake, event.id)}
