"""The OpenAPI 3.1 document of every route, built from :mod:`lmif_mock.http.routes`.

Clients in any language can generate a client from it, and tools like schemathesis can check the
fake against it; because routes and document come from one table, a route cannot be left out.
"""

from __future__ import annotations

from typing import Any

from lmif_mock import __name__ as _package
from lmif_mock.events import EVENT_TYPES
from lmif_mock.faults import LAYOUTS, SIGNATURE_FAULTS
from lmif_mock.http.control_schemas import CONTROL_COMPONENTS, CONTROL_PARAMETERS
from lmif_mock.http.errors import CODES
from lmif_mock.http.routes import ROUTES, Route, openapi_path
from lmif_mock.payloads import (
    ACTIONS,
    APPEAL_REASONS,
    ENFORCEMENTS,
    ENTITY_TYPES,
    LICENSE_TIERS,
    POLICIES,
    RESOLUTIONS,
    REVENUE_TYPES,
)
from lmif_mock.schemas import DATA, TIMESTAMP, envelope_schema
from lmif_mock.world import VERIFICATION_TIERS

Schema = dict[str, Any]
VERSION = "0.1.0"


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: list[str] | None = None, **properties: Schema) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
SECONDS: Schema = {"type": "number", "minimum": 0}
EVENT_TYPE: Schema = {"enum": list(EVENT_TYPES)}
SUBSCRIPTION: Schema = {"enum": [*EVENT_TYPES, "*"]}
_REFERENCE_IMAGES: Schema = {
    "type": "array",
    "maxItems": 20,
    "items": _obj(["url"], url={"type": "string", "minLength": 1}, isPrimary={"type": "boolean"}),
}
#: The documented headers on every answer (counted or not).
RATE_LIMIT_HEADERS: Schema = {
    "X-RateLimit-Limit": {
        "description": "requests allowed per minute",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-RateLimit-Remaining": {
        "description": "requests left in the current window",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the window resets",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}

COMPONENTS: dict[str, Schema] = {
    "Error": _obj(
        error=_obj(
            ["code", "message"],
            code={"enum": list(CODES)},
            message=STRING,
            details={},
        ),
        meta=_obj(requestId=STRING),
    ),
    "ListMeta": _obj(
        total={"type": "integer", "minimum": 0},
        limit={"type": "integer", "minimum": 1, "maximum": 100},
        offset={"type": "integer", "minimum": 0},
    ),
    "Webhook": _obj(
        id=STRING,
        url=STRING,
        events={"type": "array", "items": SUBSCRIPTION},
        enabled={"type": "boolean"},
        createdAt=TIMESTAMP,
    ),
    "WebhookWithSecret": {"allOf": [_ref("Webhook"), _obj(secret=STRING)]},
    "WebhookCreate": _obj(
        ["url", "events"],
        url={"type": "string", "description": "http(s) URL; loopback unless --allow-host"},
        events={"type": "array", "items": SUBSCRIPTION, "minItems": 1},
        secret={"type": "string", "description": "generated when absent"},
        enabled={"type": "boolean"},
    ),
    "WebhookUpdate": _obj(
        [],
        url=STRING,
        events={"type": "array", "items": SUBSCRIPTION, "minItems": 1},
        enabled={"type": "boolean"},
    ),
    "WebhookTest": _obj(
        ["eventType"],
        eventType=EVENT_TYPE,
        endpoint={"type": "string", "description": "URL of a registered webhook"},
        webhookId=STRING,
    ),
    "Deleted": _obj(id=STRING, deleted={"const": True}),
    "Attempt": _obj(
        number={"type": "integer", "minimum": 1},
        at=TIMESTAMP,
        trigger={"enum": ["scheduled", "manual"]},
        statusCode={"type": ["integer", "null"]},
        error=NULLABLE_STRING,
        message=NULLABLE_STRING,
        durationMs={"type": "number", "minimum": 0},
        responseExcerpt=STRING,
        script={"type": ["string", "null"], "description": "delivery-script steps applied"},
        retryAfter={"type": ["number", "null"], "description": "seconds a 429/503 asked for"},
    ),
    "Delivery": _obj(
        [
            "id",
            "eventId",
            "eventType",
            "webhookId",
            "status",
            "createdAt",
            "nextAttemptAt",
            "duplicateOf",
            "faults",
            "attempts",
        ],
        id=STRING,
        eventId=STRING,
        eventType=STRING,
        webhookId=STRING,
        status={"enum": ["pending", "succeeded", "failed"]},
        createdAt=TIMESTAMP,
        nextAttemptAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
        duplicateOf=NULLABLE_STRING,
        faults={"anyOf": [_ref("Faults"), {"type": "null"}]},
        attempts={"type": "array", "items": _ref("Attempt")},
        payload={"type": "string", "description": "the exact body sent (single delivery only)"},
    ),
    "Event": {
        **envelope_schema(),
        "properties": {
            **envelope_schema()["properties"],
            "type": STRING,
            "meta": _obj(apiVersion=STRING, webhookId={"type": "null"}),
        },
    },
    "Emitted": _obj(
        event=_ref("Event"),
        copies={
            "type": "array",
            "description": "The event as each webhook received it (meta.webhookId set)",
            "items": _obj(
                webhookId=STRING,
                deliveryIds={"type": "array", "items": STRING},
                envelope={
                    **envelope_schema(),
                    "properties": {**envelope_schema()["properties"], "type": STRING},
                },
            ),
        },
        deliveries={"type": "array", "items": _ref("Delivery")},
    ),
    "Resend": _obj([], webhookIds={"type": "array", "items": STRING}),
    "Faults": _obj(
        [],
        duplicates={"type": "integer", "minimum": 0},
        concurrent_duplicates={"type": "integer", "minimum": 0},
        drop_after_response={"type": "integer", "minimum": 0},
        delay=SECONDS,
        signature={"anyOf": [{"enum": list(SIGNATURE_FAULTS)}, {"type": "null"}]},
        layout={"anyOf": [{"enum": list(LAYOUTS)}, {"type": "null"}]},
        script={
            "type": ["string", "null"],
            "maxLength": 500,
            "description": "per-attempt script, e.g. '1-2: drop; 3: ok' (see the README)",
        },
    ),
    "RetryPolicy": _obj(
        [],
        delays={"type": "array", "items": SECONDS, "minItems": 1, "maxItems": 100},
        timeout={"type": "number", "exclusiveMinimum": 0},
    ),
    "Emit": _obj(
        ["type"],
        type=STRING,
        data={"type": "object"},
        faults=_ref("Faults"),
        allowUnknown={"type": "boolean"},
        retryPolicy=_ref("RetryPolicy"),
        webhookIds={"type": "array", "items": STRING},
    ),
    "EmitBatch": _obj(
        ["events"],
        events={
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": _obj(["type"], type=EVENT_TYPE, data={"type": "object"}),
        },
        shuffle={"type": "boolean"},
        faults=_ref("Faults"),
    ),
    "Clock": _obj(
        now=TIMESTAMP,
        type={"enum": ["virtual", "real"]},
        scale={"type": ["number", "null"]},
        pendingCount={"type": "integer", "minimum": 0},
        nextDueAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
    ),
    "Advance": _obj([], seconds=SECONDS, minutes=SECONDS, hours=SECONDS, days=SECONDS),
    "Reset": _obj(reset={"const": True}),
    "KeyRotate": _obj([], apiKey=STRING),
    "KeyRotated": _obj(apiKey=STRING, previousKey=STRING, previousKeyValidUntil=TIMESTAMP),
    "KeyRevoke": _obj(["apiKey"], apiKey=STRING),
    "KeyRevoked": _obj(revoked={"const": True}),
    "Health": _obj(status={"const": "ok"}),
    "Claim": _obj(
        ["id", "name", "variations", "entityType", "status", "verificationTier", "hasBox"],
        id=STRING,
        name=STRING,
        variations={"type": "array", "items": STRING},
        entityType={"enum": list(ENTITY_TYPES)},
        status={"enum": ["pending", "verified", "rejected"]},
        verificationTier={"enum": [*VERIFICATION_TIERS, None]},
        createdAt=TIMESTAMP,
        verifiedAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
        hasBox={"type": "boolean"},
        boxId=NULLABLE_STRING,
        referenceImages={
            "type": "array",
            "items": _obj(id=STRING, url=STRING, isPrimary={"type": "boolean"}),
        },
    ),
    "ClaimCreate": _obj(
        ["name"],
        name={"type": "string", "minLength": 1, "maxLength": 200},
        variations={"type": "array", "items": {"type": "string", "minLength": 1}},
        entityType={"enum": list(ENTITY_TYPES)},
        referenceImages=_REFERENCE_IMAGES,
    ),
    "ClaimUpdate": _obj(
        [],
        name={"type": "string", "minLength": 1, "maxLength": 200},
        variations={"type": "array", "items": {"type": "string", "minLength": 1}},
        referenceImages=_REFERENCE_IMAGES,
    ),
    "ClaimVerify": _obj([], verificationTier={"enum": list(VERIFICATION_TIERS)}),
    "Box": _obj(
        ["id", "claimId", "identityName", "policy", "enforcement", "status", "createdAt", "stats"],
        id=STRING,
        claimId=STRING,
        identityName=STRING,
        policy={"enum": list(POLICIES)},
        enforcement={"enum": list(ENFORCEMENTS)},
        royaltyRate={"type": "number"},
        status={"enum": ["active", "deleted"]},
        createdAt=TIMESTAMP,
        updatedAt=TIMESTAMP,
        policyConfig={"type": "object"},
        stats={"type": "object"},
    ),
    "BoxCreate": _obj(
        ["claimId", "policy"],
        claimId={"type": "string", "description": "a verified claim without a box"},
        policy={"enum": list(POLICIES)},
        enforcement={"enum": list(ENFORCEMENTS)},
        policyConfig=_obj(
            [],
            royaltyRate={"type": "number", "minimum": 0, "maximum": 1},
            revenueTypes={"type": "array", "items": {"enum": list(REVENUE_TYPES)}},
            minimumPayout={"type": "integer", "minimum": 0},
            nsfw={"type": "boolean"},
        ),
    ),
    "WorldBoxCreate": _obj(
        ["identityName", "policy"],
        identityName=STRING,
        policy={"enum": list(POLICIES)},
        enforcement={"enum": list(ENFORCEMENTS)},
        entityType={"enum": list(ENTITY_TYPES)},
        policyConfig=_obj([], royaltyRate={"type": "number", "minimum": 0, "maximum": 1}),
    ),
    "BoxUpdate": _obj(
        [], policy={"enum": list(POLICIES)}, enforcement={"enum": list(ENFORCEMENTS)}
    ),
    "Violation": _obj(
        ["id", "boxId", "identityName", "status", "severity", "detectedAt", "avatar", "detection"],
        id=STRING,
        boxId=STRING,
        identityName=STRING,
        status={"enum": ["pending", "resolved", "enforced", "appealed", "dismissed"]},
        severity={"enum": ["low", "medium", "high", "critical"]},
        detectedAt=TIMESTAMP,
        avatar={"type": "object"},
        detection={"type": "object"},
        gracePeriod={"type": ["object", "null"]},
    ),
    "GracePeriod": _obj(
        [
            "id",
            "boxId",
            "violationId",
            "identityName",
            "status",
            "startedAt",
            "expiresAt",
            "daysRemaining",
            "affectedAvatars",
            "affectedUsers",
        ],
        id=STRING,
        boxId=STRING,
        violationId=STRING,
        identityName=STRING,
        status={"enum": ["active", "paused", "resolved", "expired"]},
        startedAt=TIMESTAMP,
        expiresAt=TIMESTAMP,
        daysRemaining={"type": "integer", "minimum": 0},
        affectedAvatars={"type": ["integer", "array"]},
        affectedUsers={"type": "integer"},
    ),
    "License": _obj(
        [
            "id",
            "boxId",
            "identityName",
            "tier",
            "status",
            "monthlyFee",
            "royaltyRate",
            "validFrom",
            "expiresAt",
            "autoRenew",
        ],
        id=STRING,
        boxId=STRING,
        identityName=STRING,
        tier={"enum": list(LICENSE_TIERS)},
        status={"enum": ["pending", "active", "expired", "revoked"]},
        monthlyFee={"type": "number"},
        royaltyRate={"type": "number"},
        validFrom=TIMESTAMP,
        expiresAt=TIMESTAMP,
        autoRenew={"type": "boolean"},
        cancelledAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
    ),
    "UsageReport": _obj(
        [],
        period={"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
        subscribers={"type": "integer", "minimum": 0},
        messages={"type": "integer", "minimum": 0},
        revenue={"type": "number", "minimum": 0},
    ),
    "UsageRecord": _obj(
        licenseId=STRING,
        period=STRING,
        subscribers={"type": "integer", "minimum": 0},
        messages={"type": "integer", "minimum": 0},
        revenue={"type": "number", "minimum": 0},
        royaltyDue={"type": "number", "minimum": 0},
        reportedAt=TIMESTAMP,
    ),
    "LicenseRequestCreate": _obj(
        ["boxId", "tier", "useCase", "acceptGuidelines"],
        boxId=STRING,
        tier={"enum": list(LICENSE_TIERS)},
        useCase=STRING,
        estimatedUsers={"type": "integer", "minimum": 0},
        acceptGuidelines={"const": True},
        message=STRING,
    ),
    "LicenseRequest": _obj(
        ["id", "boxId", "status", "tier", "submittedAt"],
        id=STRING,
        boxId=STRING,
        status={"enum": ["pending", "approved", "denied"]},
        tier={"enum": list(LICENSE_TIERS)},
        useCase=STRING,
        submittedAt=TIMESTAMP,
        estimatedReviewTime=NULLABLE_STRING,
        license=_ref("License"),
        reason=STRING,
    ),
    "Resolve": _obj([], resolution={"enum": [*RESOLUTIONS, "dismissed"]}),
    "Appeal": _obj([], reason={"enum": list(APPEAL_REASONS)}),
    "IdentityCheckRequest": _obj(
        ["name", "imageUrl"], name=STRING, imageUrl=STRING, description=STRING, context=STRING
    ),
    "IdentityCheck": _obj(
        ["isBoxed", "isClaimed", "confidence", "matchedIdentity", "policy", "action"],
        isBoxed={"type": "boolean"},
        isClaimed={"type": "boolean"},
        confidence={"type": "number", "minimum": 0, "maximum": 1},
        matchedIdentity={"type": ["object", "null"]},
        policy={"type": ["string", "null"]},
        policyDetails={"type": ["object", "null"]},
        detection={"type": "object"},
        action={"enum": list(ACTIONS)},
    ),
    "IdentityCheckBatch": {
        "type": "array",
        "minItems": 1,
        "maxItems": 100,
        "items": _obj(["id", "name", "imageUrl"], id=STRING, name=STRING, imageUrl=STRING),
    },
    "IdentityCheckResults": {
        "type": "array",
        "items": {"allOf": [_obj(id=STRING), _ref("IdentityCheck")]},
    },
    "AvatarCreate": _obj(["name"], name=STRING, userCount={"type": "integer"}, creatorId=STRING),
    "Avatar": _obj(
        ["id", "name", "creatorId"],
        id=STRING,
        name=STRING,
        creatorId=STRING,
        userCount={"type": "integer"},
        status=STRING,
    ),
    "ViolationCreate": _obj(
        ["boxId"],
        boxId=STRING,
        avatarId=STRING,
        confidence={"type": "number", "minimum": 0, "maximum": 1},
    ),
    "ScanCreate": _obj(["boxId"], boxId=STRING),
    "ScanResult": _obj(matches={"type": "array", "items": {"type": "object"}}),
    "Approve": _obj([], autoRenew={"type": "boolean"}),
    "Deny": _obj([], reason=STRING),
    "AppealDecision": _obj(["upheld"], upheld={"type": "boolean"}),
    "ScenarioResult": _obj(
        ["scenario", "events"],
        scenario=STRING,
        events={"type": "array", "items": {"type": "object"}},
    ),
    "OpenAPI": {"type": "object"},
}

_PARAMETERS: dict[str, Schema] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
    "offset": {"type": "integer", "minimum": 0, "default": 0},
    "status": {"enum": ["pending", "succeeded", "failed"]},
    "type": STRING,
    "eventId": STRING,
    "webhookId": STRING,
    "policy": {"enum": list(POLICIES)},
    "claimId": STRING,
    "boxId": STRING,
    "severity": {"enum": ["low", "medium", "high", "critical"]},
    "expiringWithin": {"type": "integer", "minimum": 0},
    "tier": {"enum": list(LICENSE_TIERS)},
    "entityType": {"enum": list(ENTITY_TYPES)},
}
COMPONENTS.update(CONTROL_COMPONENTS)
_PARAMETERS.update(CONTROL_PARAMETERS)

_ERROR_TEXT = {
    400: "Invalid request (VALIDATION_ERROR, details list each field)",
    401: "Missing, wrong, expired, revoked or wrong-environment API key",
    403: "The plan lacks the feature (INSUFFICIENT_TIER) or it is sandbox-only (FORBIDDEN)",
    404: "No such object",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Body is not JSON",
    429: "Rate limit exceeded",
}


def _operation(route: Route) -> Schema:
    if route.list_of is not None and route.query:
        body = _obj(data={"type": "array", "items": _ref(route.list_of)}, meta=_ref("ListMeta"))
    elif route.list_of is not None:
        body = _obj(data={"type": "array", "items": _ref(route.list_of)})
    elif route.endpoint in ("health", "openapi", "identity_check", "identity_check_batch"):
        body = _ref(route.response or "OpenAPI")
    else:
        body = _obj(data=_ref(route.response or "OpenAPI"))
    responses: Schema = {
        str(route.status): {
            "description": route.summary,
            "headers": RATE_LIMIT_HEADERS,
            "content": {"application/json": {"schema": body}},
        }
    }
    errors = {400, 405, *route.extra_statuses}
    if route.auth:
        errors.add(401)
    if route.path.startswith("/v1/"):  # only the provider's API is rate limited
        errors.add(429)
    if route.request is not None or route.method in ("POST", "PUT", "PATCH"):
        errors |= {413, 415}
    for status in sorted(errors):
        responses[str(status)] = {
            "description": _ERROR_TEXT[status],
            "headers": RATE_LIMIT_HEADERS,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    operation: Schema = {
        "operationId": route.endpoint,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in ("id", "name")
        if f"<{name}>" in route.path
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": _PARAMETERS[name]}
        for name in route.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.request is not None:
        operation["requestBody"] = {
            "required": route.request not in ("Resend",),
            "content": {"application/json": {"schema": _ref(route.request)}},
        }
    if not route.auth:
        operation["security"] = []
    return operation


def document(server_url: str = "http://127.0.0.1") -> Schema:
    """The whole OpenAPI 3.1 document, for a fake served at ``server_url``."""
    paths: dict[str, Schema] = {}
    for route in ROUTES:
        paths.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lmif-mock: a fake LMIF webhook provider",
            "version": VERSION,
            "description": (
                "The provider's webhook management API under /v1/lmif and the fake's control "
                f"API under /_mock. Served by the {_package} package."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "lmif_test_… key"}
            },
            "schemas": COMPONENTS,
        },
        "paths": paths,
        "webhooks": _webhooks(),
    }


def _webhooks() -> Schema:
    """What the fake sends to a receiver, one entry per event type, generated from the event
    shapes (:mod:`lmif_mock.event_shapes`) like the schema fixtures are."""
    return {
        event_type: {
            "post": {
                "summary": f"The {event_type} event, signed with X-LMIF-Signature",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": envelope_schema(DATA[event_type], event_type)
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; anything else is retried"}},
            }
        }
        for event_type in EVENT_TYPES
    }
