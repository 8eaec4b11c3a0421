"""Every HTTP route the fake answers, declared once: the router and the OpenAPI document are both
built from this table, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.wrappers import Request

#: The body of a POST that takes no fields: left out, or ``{}`` (what many clients send).
EMPTY = "Empty"
#: Where the app keeps the matched :class:`Route` in the WSGI environ, for the body reader.
ROUTE_KEY = "lmif_mock.route"

#: What a handler answers: the status and the JSON body.
Result = tuple[int, Any]
#: A route's handler: the request and the path's arguments (e.g. ``id``) to a :data:`Result`.
Handler = Callable[[Request, dict[str, str]], Result]


@dataclass(frozen=True)
class Route:
    """One method on one path, with what it takes and gives (schemas name OpenAPI components)."""

    method: str
    path: str
    endpoint: str
    summary: str
    tag: str
    status: int = 200
    #: The request body's component; None: the route takes no body (a non-empty one is refused).
    request: str | None = None
    #: Whether the body may be left out (the handler then reads ``{}``).
    request_optional: bool = False
    response: str | None = None
    list_of: str | None = None
    query: tuple[str, ...] = ()
    auth: bool = True
    extra_statuses: tuple[int, ...] = field(default=())


WEBHOOKS = "/v1/lmif/webhooks"
ROUTES: tuple[Route, ...] = (
    Route("GET", WEBHOOKS, "list_webhooks", "List webhook endpoints", "webhooks",
          list_of="Webhook", query=("limit", "offset")),
    Route("POST", WEBHOOKS, "create_webhook",
          "Register a webhook endpoint (secret generated if absent)", "webhooks", status=201,
          request="WebhookCreate", response="WebhookWithSecret"),
    Route("POST", WEBHOOKS + "/test", "test_webhook",
          "Send a test event to an endpoint (sandbox only)", "webhooks", status=201,
          request="WebhookTest", response="Emitted",
          extra_statuses=(403, 404)),
    Route("GET", WEBHOOKS + "/<id>", "get_webhook", "Get a webhook endpoint", "webhooks",
          response="Webhook", extra_statuses=(404,)),
    Route("PATCH", WEBHOOKS + "/<id>", "update_webhook", "Change url, events or enabled",
          "webhooks", request="WebhookUpdate", response="Webhook", extra_statuses=(404,)),
    Route("DELETE", WEBHOOKS + "/<id>", "delete_webhook", "Delete a webhook endpoint", "webhooks",
          response="Deleted", extra_statuses=(404,)),
    Route("POST", WEBHOOKS + "/<id>/rotate-secret", "rotate_secret", "Rotate a webhook's secret",
          "webhooks", request="SecretRotate", request_optional=True,
          response="WebhookWithSecret", extra_statuses=(404,)),
    Route("GET", WEBHOOKS + "/<id>/deliveries", "webhook_deliveries", "An endpoint's deliveries",
          "webhooks", list_of="Delivery", query=("status", "limit", "offset"),
          extra_statuses=(404,)),
    Route("GET", "/v1/lmif/events", "list_events", "List emitted events", "events",
          list_of="Event", query=("type", "limit", "offset")),
    Route("GET", "/v1/lmif/events/<id>", "get_event", "Get an event and its deliveries", "events",
          response="Emitted", extra_statuses=(404,)),
    Route("POST", "/v1/lmif/events/<id>/resend", "resend_event",
          "Deliver an event again (same id and bytes)", "events", status=201,
          request="Resend", request_optional=True, list_of="Delivery", extra_statuses=(404,)),
    Route("GET", "/v1/lmif/deliveries/<id>", "get_delivery", "Get a delivery with its payload",
          "deliveries", response="Delivery", extra_statuses=(404,)),
    Route("POST", "/v1/lmif/deliveries/<id>/retry", "retry_delivery",
          "Retry a delivery now", "deliveries", request=EMPTY, request_optional=True,
          response="Delivery", extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/claims", "list_claims", "List claims", "claims",
          list_of="Claim", query=("status", "entityType", "limit", "offset")),
    Route("POST", "/v1/lmif/claims", "create_claim", "Create a claim (pending until verified)",
          "claims", status=201, request="ClaimCreate", response="Claim"),
    Route("GET", "/v1/lmif/claims/<id>", "get_claim", "Claim details", "claims",
          response="Claim", extra_statuses=(404,)),
    Route("PATCH", "/v1/lmif/claims/<id>", "update_claim",
          "Update a claim (the name only while pending)", "claims", request="ClaimUpdate",
          response="Claim", extra_statuses=(404, 409)),
    Route("DELETE", "/v1/lmif/claims/<id>", "delete_claim",
          "Delete a claim (not while it has a box)", "claims", response="Deleted",
          extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/boxes", "list_boxes", "List boxes", "boxes",
          list_of="Box", query=("policy", "claimId", "limit", "offset")),
    Route("POST", "/v1/lmif/boxes", "create_box", "Box a verified claim (emits box.created)",
          "boxes", status=201, request="BoxCreate", response="Box", extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/boxes/<id>", "get_box", "Box details", "boxes",
          response="Box", extra_statuses=(404,)),
    Route("PATCH", "/v1/lmif/boxes/<id>", "update_box", "Change policy or enforcement "
          "(emits box.updated)", "boxes", request="BoxUpdate", response="Box",
          extra_statuses=(404, 409)),
    Route("DELETE", "/v1/lmif/boxes/<id>", "delete_box", "Remove a box (emits box.deleted)",
          "boxes", response="Deleted", extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/violations", "list_violations", "List violations", "violations",
          list_of="Violation", query=("status", "boxId", "severity", "limit", "offset")),
    Route("GET", "/v1/lmif/violations/<id>", "get_violation", "Violation details", "violations",
          response="Violation", extra_statuses=(404,)),
    Route("POST", "/v1/lmif/violations/<id>/resolve", "resolve_violation",
          "Resolve a violation (emits violation.resolved, grace_period.resolved)", "violations",
          request="Resolve", request_optional=True, response="Violation",
          extra_statuses=(404, 409)),
    Route("POST", "/v1/lmif/violations/<id>/appeal", "appeal_violation",
          "Appeal a violation (emits violation.appealed; pauses the grace period)", "violations",
          request="Appeal", request_optional=True, response="Violation",
          extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/grace-periods", "list_grace_periods", "List grace periods",
          "grace periods", list_of="GracePeriod",
          query=("status", "boxId", "expiringWithin", "limit", "offset")),
    Route("GET", "/v1/lmif/grace-periods/<id>", "get_grace_period", "Grace period details",
          "grace periods", response="GracePeriod", extra_statuses=(404,)),
    Route("POST", "/v1/lmif/grace-periods/<id>/resolve", "resolve_grace_period",
          "Resolve a grace period", "grace periods", request="Resolve", request_optional=True,
          response="GracePeriod",
          extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/licenses", "list_licenses", "List licenses", "licenses",
          list_of="License", query=("status", "boxId", "tier", "limit", "offset")),
    Route("POST", "/v1/lmif/licenses/request", "request_license",
          "Request a license (emits license.requested, and approved/denied by policy)",
          "licenses", status=201, request="LicenseRequestCreate", response="LicenseRequest",
          extra_statuses=(404, 409)),
    Route("GET", "/v1/lmif/licenses/request/<id>", "get_license_request",
          "License request status", "licenses", response="LicenseRequest",
          extra_statuses=(404,)),
    Route("GET", "/v1/lmif/licenses/<id>", "get_license", "License details", "licenses",
          response="License", extra_statuses=(404,)),
    Route("DELETE", "/v1/lmif/licenses/<id>", "cancel_license",
          "Cancel a license (no renewal; it ends at expiresAt with license.expired)", "licenses",
          response="License", extra_statuses=(404, 409)),
    Route("POST", "/v1/lmif/licenses/<id>/renew", "renew_license",
          "Renew a license for another calendar year", "licenses", response="License",
          extra_statuses=(404, 409), request=EMPTY, request_optional=True),
    Route("POST", "/v1/lmif/licenses/<id>/usage", "report_usage",
          "Report a month's usage (royaltyDue follows from the rate)", "licenses", status=201,
          request="UsageReport", response="UsageRecord", extra_statuses=(404, 409)),
    Route("POST", "/v1/lmif/identity/check", "identity_check", "Check one identity",
          "identity", request="IdentityCheckRequest", response="IdentityCheck"),
    Route("POST", "/v1/lmif/identity/check/batch", "identity_check_batch",
          "Check up to 100 identities (Standard plan and above)", "identity",
          request="IdentityCheckBatch", response="IdentityCheckResults", extra_statuses=(403,)),
    Route("POST", "/_mock/world/boxes", "world_box",
          "Claim and box an identity in one step (control API)", "world", status=201,
          request="WorldBoxCreate", response="Box", extra_statuses=(409,)),
    Route("POST", "/_mock/world/claims/<id>/verify", "world_verify_claim",
          "Verify a pending claim", "world", request="ClaimVerify", request_optional=True,
          response="Claim",
          extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/claims/<id>/reject", "world_reject_claim",
          "Reject a pending claim", "world", request=EMPTY, request_optional=True,
          response="Claim", extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/avatars", "world_avatar", "Add a platform avatar", "world",
          status=201, request="AvatarCreate", response="Avatar"),
    Route("POST", "/_mock/world/violations", "world_violation",
          "Detect a violation (emits violation.detected, grace_period.started)", "world",
          status=201, request="ViolationCreate", response="Violation",
          extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/scans", "world_scan",
          "Scan avatars for a box (emits detection.*)", "world", status=201,
          request="ScanCreate", response="ScanResult", extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/license-requests/<id>/approve", "world_approve",
          "Approve a license request", "world", request="Approve", request_optional=True,
          response="LicenseRequest",
          extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/license-requests/<id>/deny", "world_deny",
          "Deny a license request", "world", request="Deny", request_optional=True,
          response="LicenseRequest",
          extra_statuses=(404, 409)),
    Route("POST", "/_mock/world/violations/<id>/decide-appeal", "world_decide_appeal",
          "Uphold or reject an appeal", "world", request="AppealDecision",
          response="Violation", extra_statuses=(404, 409)),
    Route("POST", "/_mock/scenarios/<name>", "run_scenario", "Play a named scenario", "world",
          status=201, request=EMPTY, request_optional=True, response="ScenarioResult",
          extra_statuses=(404,)),
    Route("POST", "/_mock/events", "mock_emit", "Emit an event (control API)", "control",
          status=201, request="Emit", response="Emitted", extra_statuses=(404,)),
    Route("POST", "/_mock/events/batch", "mock_emit_batch",
          "Emit several events, optionally delivered shuffled", "control", status=201,
          request="EmitBatch", list_of="Emitted"),
    Route("GET", "/_mock/deliveries", "mock_deliveries", "List deliveries", "control",
          list_of="Delivery", query=("eventId", "webhookId", "status", "limit", "offset")),
    Route("GET", "/_mock/clock", "mock_clock", "Read the clock", "control", response="Clock"),
    Route("POST", "/_mock/clock/advance", "mock_advance",
          "Advance the clock, running what falls due", "control", request="Advance",
          response="Clock"),
    Route("POST", "/_mock/keys/rotate", "mock_rotate_key",
          "Issue a new API key; the old one works 24 h more (then KEY_EXPIRED)", "control",
          status=201, request="KeyRotate", request_optional=True, response="KeyRotated"),
    Route("POST", "/_mock/keys/revoke", "mock_revoke_key",
          "Revoke a replaced API key at once (then KEY_REVOKED)", "control",
          request="KeyRevoke", response="KeyRevoked", extra_statuses=(404, 409)),
    Route("POST", "/_mock/reset", "mock_reset", "Forget everything", "control",
          response="Reset", request=EMPTY, request_optional=True),
    Route("GET", "/_mock/retry-policy", "mock_get_policy", "Read the retry policy", "control",
          response="RetryPolicy"),
    Route("PUT", "/_mock/retry-policy", "mock_put_policy", "Replace the retry policy",
          "control", request="RetryPolicy", response="RetryPolicy"),
    Route("GET", "/_mock/faults", "mock_get_faults", "Read the default faults", "control",
          response="Faults"),
    Route("PUT", "/_mock/faults", "mock_put_faults",
          "Replace the faults applied to every emit without its own", "control",
          request="Faults", response="Faults"),
    Route("GET", "/_mock/wait", "mock_wait",
          "Wait (bounded long poll) until deliveries reach a state", "control",
          response="WaitResult", query=("eventId", "eventType", "webhookId", "until", "attempts",
                                        "count", "timeout"), extra_statuses=(503,)),
    Route("GET", "/_mock/wait/idle", "mock_wait_idle",
          "Wait (bounded long poll) until nothing is in flight or pending", "control",
          response="IdleResult", query=("retries", "timeout"), extra_statuses=(503,)),
    Route("GET", "/_mock/transcript", "mock_transcript",
          "The run as a transcript (exact requests and answers), one page of it",
          "control", response="Transcript", query=("limit", "offset")),
    Route("GET", "/_mock/delivery-control", "mock_get_control",
          "Read the opt-in delivery control (off by default)", "control",
          response="DeliveryControl"),
    Route("PUT", "/_mock/delivery-control", "mock_put_control",
          "Turn delivery control on or off (410 disables, Retry-After, auto-disable)",
          "control", request="DeliveryControlUpdate", response="DeliveryControl"),
    Route("GET", "/_mock/endpoints/health", "mock_endpoints_health",
          "Every endpoint's health (failing since, consecutive failures)", "control",
          list_of="EndpointHealth", query=("limit", "offset")),
    Route("GET", "/_mock/webhooks/<id>/health", "mock_webhook_health",
          "One endpoint's health", "control", response="EndpointHealth",
          extra_statuses=(404,)),
    Route("GET", "/_mock/health", "health", "Liveness (no API key needed)", "control",
          response="Health", auth=False),
    Route("GET", "/openapi.json", "openapi", "This document", "control", response="OpenAPI"),
)  # fmt: skip

_BY_ENDPOINT = {route.endpoint: route for route in ROUTES}


def route_for(endpoint: str) -> Route:
    """The route declared for ``endpoint``."""
    return _BY_ENDPOINT[endpoint]


class SegmentConverter(BaseConverter):
    """One path segment, except the fixed names a sibling route uses at the same place.

    Without the exception ``DELETE /webhooks/test`` would be taken as deleting a webhook whose
    id is ``test`` (a 404), where the path is the test route's and only the method is wrong
    (a 405 naming the methods it has).
    """

    def __init__(self, url_map: Map, *reserved: str) -> None:
        super().__init__(url_map)
        taken = "|".join(re.escape(name) for name in reserved)
        self.regex = f"(?!(?:{taken})(?:/|$))[^/]+" if reserved else "[^/]+"


_PARAMETER = re.compile(r"<(\w+)>")


def fixed_names_beside(path: str, position: int) -> list[str]:
    """The fixed segments other routes have at segment ``position`` after the same prefix as
    ``path``: the words an id there must not be."""
    segments = path.split("/")
    prefix = segments[:position]
    names = set()
    for route in ROUTES:
        other = route.path.split("/")
        fixed = len(other) > position and not _PARAMETER.fullmatch(other[position])
        if fixed and other[:position] == prefix:
            names.add(other[position])
    return sorted(names)


def rule_path(path: str) -> str:
    """``path`` in werkzeug syntax whose parameters never match a sibling route's fixed name."""
    segments = path.split("/")
    for position, segment in enumerate(segments):
        parameter = _PARAMETER.fullmatch(segment)
        if parameter is not None:
            reserved = ", ".join(repr(name) for name in fixed_names_beside(path, position))
            segments[position] = f"<segment({reserved}):{parameter.group(1)}>"
    return "/".join(segments)


def url_map() -> Map:
    """A werkzeug router for :data:`ROUTES` (ids match one path segment that is not a fixed name
    of a sibling route)."""
    return Map(
        [Rule(rule_path(r.path), endpoint=r.endpoint, methods=[r.method]) for r in ROUTES],
        strict_slashes=False,
        merge_slashes=False,
        converters={"segment": SegmentConverter},
    )


def openapi_path(path: str) -> str:
    """``/webhooks/<id>`` in werkzeug syntax as ``/webhooks/{id}`` in OpenAPI syntax."""
    return path.replace("<", "{").replace(">", "}")
