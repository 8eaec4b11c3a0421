"""The components of the control routes that watch the fake from outside: waits, the
transcript, delivery control and endpoint health (their query parameters are
:mod:`lmif_mock.http.query_parameters`')."""

from __future__ import annotations

from lmif_mock.http.openapi.schema import MICROSECOND, Schema, obj, ref

CONTROL_COMPONENTS: dict[str, Schema] = {
    "WaitResult": obj(
        met={"type": "boolean", "description": "false: the timeout passed first"},
        waitedFor={"type": "string"},
        seen={"type": "string", "description": "every matching delivery as last seen"},
        deliveries={"type": "array", "items": ref("Delivery"), "maxItems": 100},
    ),
    "IdleResult": obj(
        idle={"type": "boolean", "description": "false: the timeout passed first"},
        seen={"type": "string", "description": "what was still busy (empty when idle)"},
    ),
}

_NULLABLE_STRING: Schema = {"type": ["string", "null"]}
_RECORDED_REQUEST: Schema = {
    "type": ["object", "null"],
    "properties": {
        "method": {"const": "POST"},
        "url": _NULLABLE_STRING,
        "path": {"type": "string"},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "body": {"type": "string", "description": "the exact bytes sent, as UTF-8"},
        "bodyBase64": {"type": "string", "description": "instead of body when not UTF-8"},
    },
    "required": ["method", "path", "headers"],
}
CONTROL_COMPONENTS["Transcript"] = {
    "type": "object",
    "required": ["format", "version", "seed", "webhooks", "events", "deliveries"],
    "properties": {
        "format": {"const": "lmif-mock-transcript"},
        "version": {"const": 1},
        "seed": {"type": ["integer", "null"]},
        "webhooks": {"type": "array", "items": {"type": "object"}},
        "events": {"type": "array", "items": {"type": "object"}},
        "deliveries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "eventId", "webhookId", "status", "attempts"],
                "properties": {
                    "attempts": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["number", "at", "sent", "request", "response", "error"],
                            "properties": {
                                "number": {"type": "integer", "minimum": 1},
                                "at": {"type": "string"},
                                "sent": {"type": "boolean"},
                                "request": _RECORDED_REQUEST,
                                "response": {"type": ["object", "null"]},
                                "error": _NULLABLE_STRING,
                                "script": {"type": "string"},
                            },
                        },
                    }
                },
            },
        },
    },
}

_CONTROL_FIELDS: dict[str, Schema] = {
    "honorGone": {"type": "boolean", "description": "410 Gone disables the endpoint"},
    "honorRetryAfter": {"type": "boolean", "description": "429/503 Retry-After postpones"},
    "maxRetryAfter": {"type": ["number", "null"], "minimum": MICROSECOND, "maximum": 604800},
    "disableAfterFailures": {"type": ["integer", "null"], "minimum": 1, "maximum": 1000},
    "disableAfter": {"type": ["number", "null"], "minimum": MICROSECOND, "maximum": 31622400},
}
CONTROL_COMPONENTS["DeliveryControl"] = {
    "type": "object",
    "required": ["enabled", *_CONTROL_FIELDS],
    "properties": {"enabled": {"type": "boolean"}, **_CONTROL_FIELDS},
}
CONTROL_COMPONENTS["DeliveryControlUpdate"] = {
    "type": "object",
    "required": ["enabled"],
    "properties": {"enabled": {"type": "boolean"}, **_CONTROL_FIELDS},
}
_WHEN: Schema = {"type": ["string", "null"]}
CONTROL_COMPONENTS["EndpointHealth"] = obj(
    webhookId={"type": "string"},
    state={"enum": ["healthy", "failing", "disabled", "unknown"]},
    enabled={"type": "boolean"},
    consecutiveFailures={"type": "integer", "minimum": 0},
    failingSince=_WHEN,
    lastSuccessAt=_WHEN,
    lastAttemptAt=_WHEN,
    disabledAt=_WHEN,
    disabledReason=_WHEN,
)
