"""The fake's HTTP API as a werkzeug WSGI app: authentication, rate limits, routing and answers.

``/v1/lmif/...`` is the provider's webhook management API (what an LMIF client talks to);
``/_mock/...`` is the control API a test in any language drives the fake with (emit, advance the
clock, reset, faults, retry policy). Both answer JSON only: every error, including a bug in this
code, is the provider's error shape, never an HTML page or a traceback. The handlers live in one
route module per resource; this module only decides who may call which of them and how the
answer is sent.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from lmif_mock.errors import LMIFMockError
from lmif_mock.fake import FakeLMIF
from lmif_mock.http.api_keys import KeyRing
from lmif_mock.http.box_routes import BoxRoutes
from lmif_mock.http.claim_routes import ClaimRoutes
from lmif_mock.http.clock_routes import ClockRoutes
from lmif_mock.http.control_routes import ControlRoutes
from lmif_mock.http.dashboard import PREFIX as DASHBOARD_PREFIX
from lmif_mock.http.dashboard import Dashboard
from lmif_mock.http.detection_routes import DetectionRoutes
from lmif_mock.http.errors import APIError, as_api_error
from lmif_mock.http.event_routes import EventRoutes
from lmif_mock.http.health_routes import HealthRoutes
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.key_routes import KeyRoutes
from lmif_mock.http.license_routes import LicenseRoutes
from lmif_mock.http.query_parameters import check_choices
from lmif_mock.http.ratelimit import PLAN_LIMITS, RateLimiter, RateLimits
from lmif_mock.http.receiver_share import ReceiverShare, may_deliver
from lmif_mock.http.request_body import whole_body
from lmif_mock.http.routes import (
    EMPTY,
    ROUTE_KEY,
    ROUTES,
    Handler,
    Result,
    Route,
    route_for,
    url_map,
)
from lmif_mock.http.scenario_routes import ScenarioRoutes
from lmif_mock.http.validation import Fields
from lmif_mock.http.violation_routes import ViolationRoutes
from lmif_mock.http.wait_routes import WaitRoutes
from lmif_mock.http.webhook_routes import WebhookRoutes
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.timestamps import format_timestamp

MAX_BODY_BYTES = 1024 * 1024
ENVIRONMENTS = {"sandbox": "lmif_test_", "live": "lmif_live_"}
#: How the docs name each environment in WRONG_ENVIRONMENT details.
_ENVIRONMENT_WORDS = {"sandbox": "sandbox", "live": "production"}
#: The provider's plans, in order; batch identity checks need Standard or above.
PLANS = tuple(PLAN_LIMITS)


def default_plan(environment: str) -> str:
    """The plan a server has unless told: Sandbox in the sandbox, Standard in live."""
    return "Sandbox" if environment == "sandbox" else "Standard"


class API:
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
        self._map = url_map()
        #: The workers requests that may wait on a receiver can hold; the dashboard shares it.
        self.receiver_share = ReceiverShare()
        self.dashboard = Dashboard(fake, self.keys, self.receiver_share)
        self._request_ids = random.Random()
        self._read_body = read_body = BodyReader(max_body_bytes)
        self._waits = WaitRoutes(fake)
        self._handlers = _every_handler(
            WebhookRoutes(fake, read_body).handlers(),
            EventRoutes(fake, read_body).handlers(),
            ControlRoutes(fake, read_body).handlers(),
            ClockRoutes(fake, read_body, on_clock_change).handlers(),
            KeyRoutes(self.keys, ENVIRONMENTS[environment], fake.clock, read_body).handlers(),
            self._waits.handlers(),
            HealthRoutes(fake, read_body).handlers(),
            ClaimRoutes(fake, read_body).handlers(),
            BoxRoutes(fake, read_body).handlers(),
            ViolationRoutes(fake, read_body).handlers(),
            LicenseRoutes(fake, read_body).handlers(),
            DetectionRoutes(fake, read_body, plan).handlers(),
            ScenarioRoutes(fake, read_body).handlers(),
            {"openapi": self._openapi},
        )

    @property
    def api_key(self) -> str:
        """The key currently issued (an old one may still work for a while after rotation)."""
        return self.keys.current

    @property
    def max_body_bytes(self) -> int:
        """The largest request body read; one byte more answers 413 (every route's reader)."""
        return self._read_body.max_bytes

    @max_body_bytes.setter
    def max_body_bytes(self, limit: int) -> None:
        self._read_body.max_bytes = limit

    @property
    def max_long_poll(self) -> float:
        """The longest any ``/_mock/wait`` holds a connection, whatever the client asks."""
        return self._waits.max_long_poll

    @max_long_poll.setter
    def max_long_poll(self, seconds: float) -> None:
        self._waits.max_long_poll = seconds

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = self.max_body_bytes
        if request.path == DASHBOARD_PREFIX or request.path.startswith(DASHBOARD_PREFIX + "/"):
            return self.dashboard.handle(request)(environ, start_response)
        if request.path == "/favicon.ico" and request.method in ("GET", "HEAD"):
            # Browsers ask for it on their own (the dashboard names its icon, other pages do
            # not): nothing to show, no key to ask for, no error in the browser's console.
            return Response(status=204, headers={"Cache-Control": "max-age=86400"})(
                environ, start_response
            )
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
            counted = route is None or route.auth
            if counted:
                self._authenticate(request)
            # A slot before the request is counted: the 503 past the cap changes nothing, the
            # rate limit included (a client following Retry-After must not run into a 429).
            holding = route is not None and not_allowed is None and may_deliver(route)
            if holding and not self.receiver_share.try_take():
                raise self.receiver_share.refusal()
            try:
                if counted and request.path.startswith("/v1/"):
                    headers.update(self._rate_limit())
                if not_allowed is not None:
                    raise not_allowed
                if route is None:
                    raise APIError(
                        "NOT_FOUND",
                        f"No route for {request.method} {request.path}",
                        {"method": request.method, "path": request.path},
                    )
                request.environ[ROUTE_KEY] = route
                check_choices(route, request)
                self._check_body_taken(request, route)
                status, body = self._handlers[route.endpoint](request, dict(args))
            finally:
                if holding:
                    self.receiver_share.give_back()
            return self._json(status, body, request_id, headers)
        except Exception as exc:  # every failure becomes the provider's JSON error shape
            problem = as_api_error(exc, request, self.max_body_bytes)
            return self._json(
                problem.status, problem.body(request_id), request_id, {**headers, **problem.headers}
            )

    def _check_body_taken(self, request: Request, route: Route) -> None:
        """Refuse a body the route does not read, before its handler runs: a route without a
        request body takes none, and an :data:`EMPTY` one takes nothing but ``{}``, so no field
        a client sends is silently ignored."""
        if route.request == EMPTY:
            Fields(self._read_body(request), allowed=set()).done()
        elif route.request is None and whole_body(request, self.max_body_bytes).strip():
            said = f"{route.method} {route.path} takes no request body; send none"
            raise APIError("VALIDATION_ERROR", said, [{"field": "body", "message": said}])

    def _json(self, status: int, body: Any, request_id: str, headers: dict[str, str]) -> Response:
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        response = Response(text, status=status, mimetype="application/json")
        response.headers["X-Request-Id"] = request_id
        response.headers["Cache-Control"] = "no-store"
        for name, value in headers.items():
            response.headers[name] = value
        return response

    def _openapi(self, request: Request, args: dict[str, str]) -> Result:
        from lmif_mock.http.openapi import document  # built on first ask: most runs never do

        prefix = ENVIRONMENTS[self.environment]
        return 200, document(request.host_url.rstrip("/"), prefix)

    # -- who may call, and how often ------------------------------------------------------------

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


def _every_handler(*groups: dict[str, Handler]) -> dict[str, Handler]:
    """The route groups' handlers as one table, which must answer every route exactly once."""
    handlers: dict[str, Handler] = {}
    for group in groups:
        twice = handlers.keys() & group.keys()
        if twice:
            raise LMIFMockError(f"routes answered by two handlers: {sorted(twice)}")
        handlers.update(group)
    declared = {route.endpoint for route in ROUTES}
    if handlers.keys() != declared:
        raise LMIFMockError(
            f"routes without a handler: {sorted(declared - handlers.keys())}; "
            f"handlers without a route: {sorted(handlers.keys() - declared)}"
        )
    return handlers
