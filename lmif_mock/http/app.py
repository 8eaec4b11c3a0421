"""The fake's HTTP API as a werkzeug WSGI app.

``/v1/lmif/...`` is the provider's webhook management API (what an LMIF client talks to);
``/_mock/...`` is the control API a test in any language drives the fake with (emit, advance the
clock, reset, faults, retry policy). Both answer JSON only: every error, including a bug in this
code, is the provider's error shape, never an HTML page or a traceback.
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from lmif_mock.clock import ClockError, RealClock, VirtualClock, to_timedelta
from lmif_mock.errors import (
    ConflictError,
    EncodingError,
    LMIFMockError,
    NotFoundError,
    UnknownEventType,
)
from lmif_mock.events import EVENT_TYPES, MAX_DATA_DEPTH, check_json_value
from lmif_mock.fake import FakeLMIF
from lmif_mock.faults import FaultError, Faults
from lmif_mock.http.api_keys import ROTATION_GRACE, KeyRing
from lmif_mock.http.dashboard import PREFIX as DASHBOARD_PREFIX
from lmif_mock.http.dashboard import Dashboard
from lmif_mock.http.errors import APIError, not_found, validation_error
from lmif_mock.http.json_body import MalformedJSON, read_json
from lmif_mock.http.ratelimit import PLAN_LIMITS, RateLimiter, RateLimits
from lmif_mock.http.representations import delivery_json, event_json, webhook_json
from lmif_mock.http.request_body import whole_body
from lmif_mock.http.routes import route_for, url_map
from lmif_mock.http.validation import Fields
from lmif_mock.http.wait_routes import ControlRoutes
from lmif_mock.http.world_routes import WorldRoutes
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.records import Delivery
from lmif_mock.retry import RetryPolicy, RetryPolicyError
from lmif_mock.timestamps import format_timestamp
from lmif_mock.webhooks import SandboxOnlyError, WebhookError

log = logging.getLogger("lmif_mock.http.app")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 1000
ENVIRONMENTS = {"sandbox": "lmif_test_", "live": "lmif_live_"}
#: How the docs name each environment in WRONG_ENVIRONMENT details.
_ENVIRONMENT_WORDS = {"sandbox": "sandbox", "live": "production"}
#: The provider's plans, in order; batch identity checks need Standard or above.
PLANS = tuple(PLAN_LIMITS)
_STATUSES = ("pending", "succeeded", "failed")

Handler = Callable[[Request, dict[str, str]], tuple[int, Any]]
#: Body nesting allowed: event data's cap plus the request's own envelope around it.
MAX_BODY_DEPTH = MAX_DATA_DEPTH + 2
#: The one table from the library's typed errors to API error codes, most specific first. A
#: handler that lets one escape still answers a 4xx in the provider's shape, never a 500.
DOMAIN_ERRORS: tuple[tuple[type[Exception], str], ...] = (
    (NotFoundError, "NOT_FOUND"),
    (ConflictError, "CONFLICT"),
    (LMIFMockError, "VALIDATION_ERROR"),
)


class API(WorldRoutes, ControlRoutes):
    """The WSGI app; ``fake`` is the engine it exposes."""

    def __init__(
        self,
        fake: FakeLMIF,
        api_key: str,
        *,
        environment: str = "sandbox",
        rate_limits: RateLimits | bool = False,
        max_body_bytes: int = MAX_BODY_BYTES,
        on_clock_change: Callable[[], None] | None = None,
        plan: str | None = None,
    ) -> None:
        if environment not in ENVIRONMENTS:
            raise LMIFMockError(f"environment must be one of {sorted(ENVIRONMENTS)}")
        self.fake = fake
        self.keys = KeyRing(api_key)
        self.environment = environment
        plan = plan or default_plan(environment)
        if plan not in PLANS:
            raise LMIFMockError(f"plan must be one of {list(PLANS)}")
        self.plan = plan
        limits = rate_limits if isinstance(rate_limits, RateLimits) else PLAN_LIMITS[plan]
        #: Counts every authenticated /v1 request on the fake's clock; refuses only if enforced.
        self.limiter = RateLimiter(limits, fake.clock.now, enforced=rate_limits is not False)
        self.max_body_bytes = max_body_bytes
        self._on_clock_change = on_clock_change
        self._map = url_map()
        self.dashboard = Dashboard(fake, self.keys)
        self._request_ids = random.Random()

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        if request.path == DASHBOARD_PREFIX or request.path.startswith(DASHBOARD_PREFIX + "/"):
            return self.dashboard.handle(request)(environ, start_response)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one request; never raises."""
        request_id = new_id(PREFIXES["request"], self._request_ids)
        # Every answer carries the rate-limit headers (the docs: "every response"); answers that
        # are not counted (401s, /_mock, /openapi.json) show the window without using it.
        headers: dict[str, str] = self.limiter.peek().headers()
        try:
            adapter = self._map.bind_to_environ(request.environ)
            not_allowed: MethodNotAllowed | None = None
            try:
                endpoint, args = adapter.match()
            except NotFound:
                endpoint, args = None, {}
            except MethodNotAllowed as exc:  # answered after the key is checked and counted
                endpoint, args, not_allowed = None, {}, exc
            route = route_for(str(endpoint)) if endpoint is not None else None
            if route is None or route.auth:
                self._authenticate(request)
                if request.path.startswith("/v1/"):
                    headers.update(self._rate_limit())
            if not_allowed is not None:
                raise not_allowed
            if endpoint is None:
                raise APIError("NOT_FOUND", f"No route for {request.method} {request.path}")
            handler: Handler = getattr(self, f"_{endpoint}")
            status, body = handler(request, dict(args))
            return self._json(status, body, request_id, headers)
        except Exception as exc:  # every failure becomes the provider's JSON error shape
            problem = self._as_api_error(exc, request)
            return self._json(
                problem.status, problem.body(request_id), request_id, {**headers, **problem.headers}
            )

    def _as_api_error(self, exc: Exception, request: Request) -> APIError:
        if isinstance(exc, APIError):
            return exc
        if isinstance(exc, MethodNotAllowed):
            allowed = sorted(exc.valid_methods or [])
            return APIError(
                "METHOD_NOT_ALLOWED",
                f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                {"allowed": allowed},
                {"Allow": ", ".join(allowed)},
            )
        if isinstance(exc, RequestEntityTooLarge):
            return APIError(
                "PAYLOAD_TOO_LARGE",
                f"Request body exceeds {self.max_body_bytes} bytes",
                {"limit": self.max_body_bytes},
            )
        if isinstance(exc, HTTPException):
            return APIError("VALIDATION_ERROR", exc.description or "Bad request")
        for kind, code in DOMAIN_ERRORS:
            if isinstance(exc, kind):
                details = [{"field": "body", "message": str(exc)}]
                return APIError(code, str(exc), details if code == "VALIDATION_ERROR" else None)
        log.exception("internal error answering %s %s", request.method, request.path)
        return APIError("INTERNAL_ERROR", "lmif-mock failed to answer; see its log")

    def _json(self, status: int, body: Any, request_id: str, headers: dict[str, str]) -> Response:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        response = Response(text, status=status, mimetype="application/json")
        response.headers["X-Request-Id"] = request_id
        response.headers["Cache-Control"] = "no-store"
        for name, value in headers.items():
            response.headers[name] = value
        return response

    # -- cross-cutting --------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise APIError(
                "UNAUTHORIZED", details="Send 'Authorization: Bearer <api key>' with every request"
            )
        key = key.strip()
        status, since = self.keys.status(key, self.fake.clock.now())
        if status == "valid":
            return
        if status == "expired":
            raise APIError(
                "KEY_EXPIRED", details="This key expired after rotation. Use the new key."
            )
        if status == "revoked" and since is not None:
            raise APIError(
                "KEY_REVOKED", details=f"This key was revoked on {format_timestamp(since)}"
            )
        expected_prefix = ENVIRONMENTS[self.environment]
        for environment, prefix in ENVIRONMENTS.items():
            if key.startswith(prefix) and prefix != expected_prefix:
                raise APIError(
                    "WRONG_ENVIRONMENT",
                    details=f"Using {_ENVIRONMENT_WORDS[environment]} key ({prefix}*) with "
                    f"{_ENVIRONMENT_WORDS[self.environment]} endpoint",
                )
        raise APIError(
            "UNAUTHORIZED", details="The provided API key is invalid or has been revoked"
        )

    def _rate_limit(self) -> dict[str, str]:
        verdict = self.limiter.take()
        headers = verdict.headers()
        if not verdict.allowed:
            retry_after = verdict.retry_after(self.fake.clock.now())
            raise APIError(
                "RATE_LIMITED",
                details={
                    "limit": verdict.exhausted_limit,
                    "remaining": 0,
                    "resetAt": format_timestamp(verdict.exhausted_reset or verdict.reset),
                    "retryAfter": retry_after,
                },
                headers={**headers, "Retry-After": str(retry_after)},
            )
        return headers

    def _body(self, request: Request, *, optional: bool = False) -> Any:
        raw = whole_body(request, self.max_body_bytes)
        if not raw.strip():
            if optional:
                return {}
            raise APIError(
                "VALIDATION_ERROR",
                "Request body is required",
                [{"field": "body", "message": "is required"}],
            )
        if request.mimetype != "application/json":
            sent = request.mimetype or "no Content-Type"
            raise APIError(
                "UNSUPPORTED_MEDIA_TYPE",
                f"Send JSON with 'Content-Type: application/json', not {sent!r}",
            )
        try:
            body = read_json(raw, MAX_BODY_DEPTH)
        except MalformedJSON as exc:
            raise APIError(
                "VALIDATION_ERROR",
                f"Malformed JSON: {exc}",
                [{"field": "body", "message": f"malformed JSON: {exc}"}],
            ) from None
        try:
            # Numbers that overflow to infinity, lone surrogates, absurd nesting: refused here,
            # before any handler can store them (every body, every route).
            check_json_value(body, "body", MAX_BODY_DEPTH)
        except EncodingError as exc:
            problem = [{"field": "body", "message": str(exc)}]
            raise APIError("VALIDATION_ERROR", f"Unusable JSON: {exc}", problem) from None
        return body

    def _page(
        self, request: Request, items: list[Any], render: Callable[[Any], Any]
    ) -> dict[str, Any]:
        problems = []
        values = {}
        for name, default, low, high in (
            ("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
            ("offset", 0, 0, 10**9),
        ):
            text = request.args.get(name)
            try:
                value = default if text is None else int(text)
            except ValueError:
                problems.append({"field": name, "message": "must be a whole number"})
                continue
            if not low <= value <= high:
                problems.append({"field": name, "message": f"must be between {low} and {high}"})
            values[name] = value
        if problems:
            raise validation_error(problems)
        limit, offset = values["limit"], values["offset"]
        return {
            "data": [render(item) for item in items[offset : offset + limit]],
            "meta": {"total": len(items), "limit": limit, "offset": offset},
        }

    def _status_filter(self, request: Request) -> Any:
        status = request.args.get("status")
        if status is not None and status not in _STATUSES:
            raise validation_error(
                [{"field": "status", "message": f"must be one of {list(_STATUSES)}"}]
            )
        return status

    def _webhook(self, ident: str) -> Any:
        try:
            return self.fake.webhooks.get(ident)
        except NotFoundError:
            raise not_found("webhook", ident) from None

    def _settle_first_attempts(self, event_id: str) -> None:
        """On a real clock, answer only once first attempts are made, as on a virtual one."""
        if self.fake.dispatcher.synchronous:
            return
        due_now = [
            d
            for d in self.fake.deliveries(event_id=event_id)
            if not d.faults.delay and not d.attempts
        ]
        if due_now:
            limit = max(d.policy.timeout.total_seconds() for d in due_now) + 5
            self.fake.dispatcher.wait_for_attempts([d.id for d in due_now], limit)

    def _emitted(self, event_id: str) -> dict[str, Any]:
        event = self.fake.store.get_event(event_id)
        if event is None:
            raise not_found("event", event_id)
        deliveries = self.fake.deliveries(event_id=event_id)
        return {
            "event": event_json(event),
            "copies": _copies(deliveries),
            "deliveries": [delivery_json(d) for d in deliveries],
        }

    # -- /v1/lmif/webhooks --------------------------------------------------------------------

    def _list_webhooks(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, self._page(request, self.fake.webhooks.list(), webhook_json)

    def _create_webhook(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request), allowed={"url", "events", "secret", "enabled"})
        url = fields.string("url", required=True)
        events = fields.strings("events", required=True, max_items=len(EVENT_TYPES) + 1)
        secret = fields.string("secret", max_length=512)
        enabled = fields.boolean("enabled")
        fields.done()
        try:
            webhook = self.fake.webhooks.create(
                url, events or [], secret, enabled=True if enabled is None else enabled
            )
        except WebhookError as exc:
            raise _field_error(exc) from None
        return 201, {"data": webhook_json(webhook, with_secret=True)}

    def _get_webhook(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, {"data": webhook_json(self._webhook(args["id"]))}

    def _update_webhook(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        webhook = self._webhook(args["id"])
        fields = Fields(self._body(request), allowed={"url", "events", "enabled"})
        url = fields.string("url")
        events = fields.strings("events", max_items=len(EVENT_TYPES) + 1)
        enabled = fields.boolean("enabled")
        fields.done()
        if callable(webhook.target) and url is None:
            url_arg: Any = None
        else:
            url_arg = url
        try:
            updated = self.fake.webhooks.update(
                webhook.id, url=url_arg, events=events, enabled=enabled
            )
        except WebhookError as exc:
            raise _field_error(exc) from None
        return 200, {"data": webhook_json(updated)}

    def _delete_webhook(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        webhook = self._webhook(args["id"])
        self.fake.webhooks.delete(webhook.id)
        return 200, {"data": {"id": webhook.id, "deleted": True}}

    def _rotate_secret(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        webhook = self._webhook(args["id"])
        fields = Fields(self._body(request, optional=True), allowed={"secret"})
        secret = fields.string("secret", max_length=512)
        fields.done()
        rotated = self.fake.webhooks.rotate_secret(webhook.id, secret)
        return 200, {"data": webhook_json(rotated, with_secret=True)}

    def _webhook_deliveries(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        webhook = self._webhook(args["id"])
        found = self.fake.deliveries(webhook_id=webhook.id, status=self._status_filter(request))
        return 200, self._page(request, found, delivery_json)

    def _test_webhook(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request), allowed={"eventType", "endpoint", "webhookId"})
        event_type = fields.string("eventType", required=True)
        endpoint = fields.string("endpoint")
        webhook_id = fields.string("webhookId")
        if event_type is not None and event_type not in EVENT_TYPES:
            fields.fail("eventType", "unknown event type; see the event catalogue")
        if endpoint is None and webhook_id is None:
            fields.fail("endpoint", "give endpoint (a registered URL) or webhookId")
        fields.done()
        if webhook_id is not None:
            self._webhook(webhook_id)
        try:
            event = self.fake.webhooks.test(str(event_type), endpoint, webhook_id=webhook_id)
        except SandboxOnlyError:
            raise APIError(
                "FORBIDDEN",
                details="Test events are a sandbox feature: send them with a sandbox key "
                "(lmif_test_*) to the sandbox endpoint",
            ) from None
        except NotFoundError:
            raise APIError(
                "NOT_FOUND",
                f"No webhook is registered for {endpoint!r}; create one first",
                {"resource": "webhook", "endpoint": endpoint},
            ) from None
        self._settle_first_attempts(event.id)
        return 201, {"data": self._emitted(event.id)}

    # -- /v1/lmif/events and deliveries ---------------------------------------------------------

    def _list_events(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, self._page(request, self.fake.events(request.args.get("type")), event_json)

    def _get_event(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, {"data": self._emitted(args["id"])}

    def _resend_event(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request, optional=True), allowed={"webhookIds"})
        webhook_ids = fields.strings("webhookIds")
        fields.done()
        try:
            deliveries = self.fake.resend(args["id"], webhook_ids)
        except NotFoundError as exc:
            raise APIError("NOT_FOUND", str(exc)) from None
        self._settle_first_attempts(args["id"])
        deliveries = [self.fake.delivery(d.id) for d in deliveries]
        return 201, {"data": [delivery_json(d) for d in deliveries]}

    def _get_delivery(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        delivery = self.fake.store.get_delivery(args["id"])
        if delivery is None:
            raise not_found("delivery", args["id"])
        return 200, {"data": delivery_json(delivery, with_body=True)}

    def _retry_delivery(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        try:
            delivery = self.fake.retry(args["id"])
        except NotFoundError:
            raise not_found("delivery", args["id"]) from None
        except ConflictError as exc:
            raise APIError("CONFLICT", str(exc)) from None
        return 200, {"data": delivery_json(delivery)}

    # -- /_mock control API ---------------------------------------------------------------------

    def _parse_faults(self, fields: Fields, name: str = "faults") -> Faults | None:
        raw = fields.obj(name)
        if raw is None:
            return None
        try:
            return Faults.from_dict(raw)
        except (FaultError, TypeError) as exc:
            fields.fail(name, str(exc))
            return None

    def _mock_emit(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(
            self._body(request),
            allowed={"type", "data", "faults", "allowUnknown", "retryPolicy", "webhookIds"},
        )
        event_type = fields.string("type", required=True, max_length=200)
        data = fields.obj("data")
        faults = self._parse_faults(fields)
        allow_unknown = bool(fields.boolean("allowUnknown"))
        webhook_ids = fields.strings("webhookIds")
        policy = None
        raw_policy = fields.obj("retryPolicy")
        if raw_policy is not None:
            try:
                policy = RetryPolicy.from_seconds(raw_policy)
            except RetryPolicyError as exc:
                fields.fail("retryPolicy", str(exc))
        if event_type is not None and not allow_unknown and event_type not in EVENT_TYPES:
            fields.fail("type", "unknown event type (set allowUnknown to send it anyway)")
        fields.done()
        if webhook_ids is not None:
            for webhook_id in webhook_ids:
                self._webhook(webhook_id)
        try:
            event = self.fake.emit(
                str(event_type),
                data,
                faults=faults,
                retry_policy=policy,
                allow_unknown=allow_unknown,
                webhook_ids=webhook_ids,
            )
        except (FaultError, UnknownEventType, LMIFMockError) as exc:
            raise APIError(
                "VALIDATION_ERROR", str(exc), [{"field": "body", "message": str(exc)}]
            ) from None
        self._settle_first_attempts(event.id)
        return 201, {"data": self._emitted(event.id)}

    def _mock_emit_batch(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request), allowed={"events", "shuffle", "faults"})
        raw = fields.body.get("events")
        specs: list[Any] = []
        if not isinstance(raw, list) or not raw:
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
        faults = self._parse_faults(fields)
        fields.done()
        try:
            events = self.fake.emit_many(specs, shuffle=shuffle, faults=faults)
        except LMIFMockError as exc:
            raise APIError(
                "VALIDATION_ERROR", str(exc), [{"field": "body", "message": str(exc)}]
            ) from None
        for event in events:
            self._settle_first_attempts(event.id)
        return 201, {"data": [self._emitted(e.id) for e in events]}

    def _mock_deliveries(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        found = self.fake.deliveries(
            event_id=request.args.get("eventId"),
            webhook_id=request.args.get("webhookId"),
            status=self._status_filter(request),
        )
        return 200, self._page(request, found, delivery_json)

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

    def _mock_clock(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, self._clock_json()

    def _mock_advance(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request), allowed={"seconds", "minutes", "hours", "days"})
        parts = {
            name: fields.number(name, maximum=limit) or 0.0
            for name, limit in (("seconds", 1e9), ("minutes", 1e7), ("hours", 1e6), ("days", 36600))
        }
        fields.done()
        step = to_timedelta(**parts)
        if step.days > 36600:
            raise APIError("VALIDATION_ERROR", "Advance at most 100 years at a time")
        try:
            self.fake.clock.advance(step)
        except ClockError as exc:
            raise APIError(
                "VALIDATION_ERROR", str(exc), [{"field": "body", "message": str(exc)}]
            ) from None
        if self._on_clock_change is not None:
            self._on_clock_change()
        return 200, self._clock_json()

    @property
    def api_key(self) -> str:
        """The key currently issued (an old one may still work for a while after rotation)."""
        return self.keys.current

    def _mock_rotate_key(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request, optional=True), allowed={"apiKey"})
        chosen = fields.string("apiKey", max_length=200)
        prefix = ENVIRONMENTS[self.environment]
        if chosen is not None and not chosen.startswith(prefix):
            fields.fail("apiKey", f"keys of this server start with {prefix}")
        fields.done()
        now = self.fake.clock.now()
        new_key = chosen or prefix + secrets.token_urlsafe(24)
        previous = self.keys.rotate(new_key, now)
        return 201, {
            "data": {
                "apiKey": new_key,
                "previousKey": previous,
                "previousKeyValidUntil": format_timestamp(now + ROTATION_GRACE),
            }
        }

    def _mock_revoke_key(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        fields = Fields(self._body(request), allowed={"apiKey"})
        key = fields.string("apiKey", required=True, max_length=200)
        fields.done()
        try:
            self.keys.revoke(str(key), self.fake.clock.now())
        except ConflictError as exc:
            raise APIError("CONFLICT", str(exc)) from None
        except NotFoundError:
            raise APIError(
                "NOT_FOUND", "No such API key (only replaced keys can be revoked)"
            ) from None
        return 200, {"data": {"revoked": True}}

    def _mock_reset(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        self.fake.reset()
        return 200, {"data": {"reset": True}}

    def _mock_get_policy(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, {"data": self.fake.retry_policy.to_seconds()}

    def _mock_put_policy(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        body = self._body(request)
        fields = Fields(body, allowed={"delays", "timeout"})
        fields.done()
        try:
            policy = RetryPolicy.from_seconds(body)
        except RetryPolicyError as exc:
            raise APIError(
                "VALIDATION_ERROR", str(exc), [{"field": "retryPolicy", "message": str(exc)}]
            ) from None
        self.fake.retry_policy = policy
        return 200, {"data": policy.to_seconds()}

    def _mock_get_faults(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, {"data": self.fake.default_faults.to_dict()}

    def _mock_put_faults(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        body = self._body(request)
        try:
            faults = Faults.from_dict(body)
        except (FaultError, TypeError) as exc:
            raise APIError(
                "VALIDATION_ERROR", str(exc), [{"field": "faults", "message": str(exc)}]
            ) from None
        self.fake.default_faults = faults
        return 200, {"data": faults.to_dict()}

    def _health(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        return 200, {"status": "ok"}

    def _openapi(self, request: Request, args: dict[str, str]) -> tuple[int, Any]:
        from lmif_mock.http.openapi import document

        return 200, document(request.host_url.rstrip("/"))


def _copies(deliveries: list[Delivery]) -> list[dict[str, Any]]:
    """The event as each webhook received it: ``meta.webhookId`` differs per webhook, so the
    bare ``event`` says null and each copy names its webhook and the deliveries that carried it."""
    by_webhook: dict[str, dict[str, Any]] = {}
    for delivery in deliveries:
        copy = by_webhook.get(delivery.webhook_id)
        if copy is None:
            by_webhook[delivery.webhook_id] = {
                "webhookId": delivery.webhook_id,
                "deliveryIds": [delivery.id],
                "envelope": json.loads(delivery.body),
            }
        else:
            copy["deliveryIds"].append(delivery.id)
    return list(by_webhook.values())


def _field_error(exc: WebhookError) -> APIError:
    message = str(exc)
    field = "events" if "event" in message else "secret" if "secret" in message else "url"
    return validation_error([{"field": field, "message": message}])


def default_plan(environment: str) -> str:
    """The plan a server has unless told: Sandbox in the sandbox, Standard in live."""
    return "Sandbox" if environment == "sandbox" else "Standard"
