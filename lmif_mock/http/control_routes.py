"""``/_mock``: what a test in any language drives the fake with (emit, reset, retry policy and
default faults); the clock, keys, waits and endpoint health have their own route modules."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.events import EVENT_TYPES
from lmif_mock.fake import FakeLMIF
from lmif_mock.faults import NOT_NULLABLE_FAULTS, Faults
from lmif_mock.http.emitted import emitted_json, settle_first_attempts
from lmif_mock.http.errors import reported_as
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.listing import delivery_status, page_by_id
from lmif_mock.http.representations import delivery_json
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.http.webhook_routes import find_webhook
from lmif_mock.retry import RetryPolicy

#: The most events one ``POST /_mock/events/batch`` may emit.
MAX_BATCH = 1000


class ControlRoutes:
    """The control routes that change what the fake sends and how."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader) -> None:
        self.fake = fake
        self.read_body = read_body

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "mock_emit": self.emit,
            "mock_emit_batch": self.emit_batch,
            "mock_deliveries": self.deliveries,
            "mock_reset": self.reset,
            "mock_get_policy": self.get_policy,
            "mock_put_policy": self.put_policy,
            "mock_get_faults": self.get_faults,
            "mock_put_faults": self.put_faults,
        }

    def emit(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request),
            allowed={"type", "data", "faults", "allowUnknown", "retryPolicy", "webhookIds"},
        )
        event_type = fields.string("type", required=True, max_length=200)
        data = fields.obj("data")
        faults = fields.parsed("faults", Faults.from_dict, TypeError)
        allow_unknown = bool(fields.boolean("allowUnknown"))
        webhook_ids = fields.strings("webhookIds")
        policy = fields.parsed("retryPolicy", RetryPolicy.from_seconds)
        if event_type is not None and not allow_unknown and event_type not in EVENT_TYPES:
            fields.fail("type", "unknown event type (set allowUnknown to send it anyway)")
        fields.done()
        for webhook_id in webhook_ids or ():
            find_webhook(self.fake, webhook_id)
        event = self.fake.emit(
            str(event_type),
            data,
            faults=faults,
            retry_policy=policy,
            allow_unknown=allow_unknown,
            webhook_ids=webhook_ids,
        )
        settle_first_attempts(self.fake, event.id)
        return 201, {"data": emitted_json(self.fake, event.id)}

    def emit_batch(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"events", "shuffle", "faults"})
        raw = fields.given("events", required=True)
        specs: list[Any] = []
        if raw is None:
            pass  # absent or null: already said
        elif not isinstance(raw, list) or not raw:
            fields.fail("events", "must be a non-empty list of {type, data?}")
        elif len(raw) > MAX_BATCH:
            fields.fail("events", f"must have at most {MAX_BATCH} items (the cap)")
        else:
            for index, item in enumerate(raw):
                one = Fields(item, prefix=f"events[{index}].", allowed={"type", "data"})
                event_type = one.string("type", required=True, max_length=200)
                data = one.obj("data")
                if event_type is not None and event_type not in EVENT_TYPES:
                    one.fail("type", "unknown event type")
                fields.problems.extend(one.problems)
                specs.append((event_type, data or {}))
        shuffle = bool(fields.boolean("shuffle"))
        faults = fields.parsed("faults", Faults.from_dict, TypeError)
        fields.done()
        events = self.fake.emit_many(specs, shuffle=shuffle, faults=faults)
        for event in events:
            settle_first_attempts(self.fake, event.id)
        return 201, {"data": [emitted_json(self.fake, event.id) for event in events]}

    def deliveries(self, request: Request, args: dict[str, str]) -> Result:
        store = self.fake.store
        ids = store.delivery_ids(
            event_id=request.args.get("eventId"),
            webhook_id=request.args.get("webhookId"),
            status=delivery_status(request),
        )
        return 200, page_by_id(request, ids, store.get_delivery, delivery_json)

    def reset(self, request: Request, args: dict[str, str]) -> Result:
        self.fake.reset()
        return 200, {"data": {"reset": True}}

    def get_policy(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": self.fake.retry_policy.to_seconds()}

    def put_policy(self, request: Request, args: dict[str, str]) -> Result:
        body = self.read_body(request)
        fields = Fields(body, allowed={"delays", "timeout"})
        fields.not_null("delays", "timeout")
        fields.done()
        with reported_as("retryPolicy"):
            policy = RetryPolicy.from_seconds(body)
        self.fake.retry_policy = policy
        return 200, {"data": policy.to_seconds()}

    def get_faults(self, request: Request, args: dict[str, str]) -> Result:
        return 200, {"data": self.fake.default_faults.to_dict()}

    def put_faults(self, request: Request, args: dict[str, str]) -> Result:
        body = self.read_body(request)
        fields = Fields(body)
        fields.not_null(*NOT_NULLABLE_FAULTS)
        fields.done()
        with reported_as("faults", TypeError):
            faults = Faults.from_dict(body)
        self.fake.default_faults = faults
        return 200, {"data": faults.to_dict()}
