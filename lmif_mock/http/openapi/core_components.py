"""The components of the webhook API's own objects (webhooks, events, deliveries, attempts,
errors) and of the control API's main ones (emit, clock, keys, faults, retry policy)."""

from __future__ import annotations

from lmif_mock.faults import COUNT_CAPS, LAYOUTS, MAX_DELAY, SIGNATURE_FAULTS
from lmif_mock.http.clock_routes import ADVANCE_LIMITS
from lmif_mock.http.errors import CODES
from lmif_mock.http.key_routes import key_pattern
from lmif_mock.http.openapi.schema import (
    EVENT_TYPE,
    MICROSECOND,
    NULLABLE_STRING,
    SECONDS,
    STRING,
    SUBSCRIPTION,
    Schema,
    obj,
    ref,
)
from lmif_mock.http.openapi.strictness import strict
from lmif_mock.http.routes import EMPTY
from lmif_mock.http.serving.server_refusals import REFUSALS
from lmif_mock.http.validation import MAX_STRING_LENGTH
from lmif_mock.retry import MAX_ATTEMPTS, MAX_RETRY_DELAY, MAX_TIMEOUT
from lmif_mock.schemas import TIMESTAMP, envelope_schema
from lmif_mock.scripts import MAX_SCRIPT_LENGTH, SCRIPT_SYNTAX
from lmif_mock.webhooks import MAX_SUBSCRIPTIONS

#: Every ``error.code`` an answer can carry: the API's, then the server's own refusals.
ERROR_CODES: list[str] = [*CODES, *(code for code in REFUSALS if code not in CODES)]

#: The event types a webhook listens to, as the server reads them.
SUBSCRIPTIONS: Schema = {
    "type": "array",
    "items": SUBSCRIPTION,
    "minItems": 1,
    "maxItems": MAX_SUBSCRIPTIONS,
}

#: Where a webhook delivers: an http(s) URL (its host must be loopback unless the server was
#: started with --allow-host naming it, which no schema can know).
WEBHOOK_URL: Schema = {
    "type": "string",
    "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]",
    "minLength": 1,
    "maxLength": MAX_STRING_LENGTH,
    "description": "http(s) URL; its host a loopback address or name unless the server "
    "allows it (--allow-host), IPv4 written as four decimal numbers",
}

CORE_COMPONENTS: dict[str, Schema] = {
    "Error": obj(
        error=obj(
            ["code", "message", "details"],
            code={"enum": ERROR_CODES},
            message=STRING,
            details={
                "description": "a list of {field, message} for VALIDATION_ERROR, the documented "
                "string for the key errors, an object where there is more to say, else null"
            },
        ),
        meta=obj(requestId=STRING),
    ),
    "ListMeta": obj(
        total={"type": "integer", "minimum": 0},
        limit={"type": "integer", "minimum": 1, "maximum": 100},
        offset={"type": "integer", "minimum": 0},
    ),
    "Webhook": obj(
        id=STRING,
        url=STRING,
        events={"type": "array", "items": SUBSCRIPTION},
        enabled={"type": "boolean"},
        createdAt=TIMESTAMP,
    ),
    "WebhookWithSecret": {"allOf": [ref("Webhook"), obj(secret=STRING)]},
    "WebhookCreate": obj(
        ["url", "events"],
        url=WEBHOOK_URL,
        events={
            "type": "array",
            "items": SUBSCRIPTION,
            "minItems": 1,
            "maxItems": MAX_SUBSCRIPTIONS,
        },
        secret={"type": "string", "maxLength": 512, "description": "generated when absent"},
        enabled={"type": "boolean"},
    ),
    "WebhookUpdate": obj(
        [],
        url=WEBHOOK_URL,
        events={
            "type": "array",
            "items": SUBSCRIPTION,
            "minItems": 1,
            "maxItems": MAX_SUBSCRIPTIONS,
        },
        enabled={"type": "boolean"},
    ),
    "WebhookTest": {
        **obj(
            ["eventType"],
            eventType=EVENT_TYPE,
            endpoint={"type": "string", "description": "URL of a registered webhook"},
            webhookId=STRING,
        ),
        "anyOf": [{"required": ["endpoint"]}, {"required": ["webhookId"]}],
    },
    "Deleted": obj(id=STRING, deleted={"const": True}),
    "SecretRotate": obj(
        [], secret={"type": "string", "maxLength": 512, "description": "generated when absent"}
    ),
    "Attempt": obj(
        [
            "number",
            "at",
            "trigger",
            "statusCode",
            "error",
            "message",
            "durationMs",
            "responseExcerpt",
            "script",
            "retryAfter",
        ],
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
        request={
            "anyOf": [ref("SentRequest"), {"type": "null"}],
            "description": "the request exactly as sent, after faults (single delivery only); "
            "null when nothing was sent",
        },
    ),
    "SentRequest": {
        **obj(
            ["headers"],
            headers={
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "every header the provider set (the transport adds Host)",
            },
            body={"type": "string", "description": "the exact bytes sent, as UTF-8 text"},
            bodyBase64={
                "type": "string",
                "contentEncoding": "base64",
                "description": "the exact bytes sent, in base64: instead of body when not UTF-8",
            },
        ),
        "oneOf": [{"required": ["body"]}, {"required": ["bodyBase64"]}],
        "additionalProperties": False,
    },
    "Delivery": obj(
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
        faults={"anyOf": [ref("Faults"), {"type": "null"}]},
        attempts={"type": "array", "items": ref("Attempt")},
        payload={"type": "string", "description": "the exact body sent (single delivery only)"},
    ),
    "Event": {
        **envelope_schema(),
        "properties": {
            **envelope_schema()["properties"],
            "type": STRING,
            "meta": obj(apiVersion=STRING, webhookId={"type": "null"}),
        },
    },
    "Emitted": obj(
        event=ref("Event"),
        copies={
            "type": "array",
            "description": "The event as each webhook received it (meta.webhookId set)",
            "items": obj(
                webhookId=STRING,
                deliveryIds={"type": "array", "items": STRING},
                envelope={
                    **envelope_schema(),
                    "properties": {**envelope_schema()["properties"], "type": STRING},
                },
            ),
        },
        deliveries={"type": "array", "items": ref("Delivery")},
    ),
    "Resend": obj([], webhookIds={"type": "array", "items": STRING}),
    "Faults": obj(
        [],
        **{
            name: {"type": "integer", "minimum": 0, "maximum": cap}
            for name, cap in COUNT_CAPS.items()
        },
        delay={"type": "number", "minimum": 0, "maximum": MAX_DELAY.total_seconds()},
        signature={"anyOf": [{"enum": list(SIGNATURE_FAULTS)}, {"type": "null"}]},
        layout={"anyOf": [{"enum": list(LAYOUTS)}, {"type": "null"}]},
        script={
            "type": ["string", "null"],
            "maxLength": MAX_SCRIPT_LENGTH,
            "pattern": SCRIPT_SYNTAX,
            "description": "per-attempt script, e.g. '1-2: drop; 3: ok' (see the README); "
            "beyond its syntax: first <= last in N-M, a chance above 0%, a delay of at most 366 "
            "days, 'arrive with N' naming a later attempt",
        },
    ),
    "RetryPolicy": obj(
        [],
        delays={
            "type": "array",
            "items": {**SECONDS, "maximum": MAX_RETRY_DELAY.total_seconds()},
            "minItems": 1,
            "maxItems": MAX_ATTEMPTS,
            "description": "seconds before each attempt, counted from the previous one",
        },
        timeout={
            "type": "number",
            "minimum": MICROSECOND,
            "maximum": MAX_TIMEOUT.total_seconds(),
            "description": "seconds an attempt may take",
        },
    ),
    "Emit": {
        **obj(
            ["type"],
            type={
                "type": "string",
                "maxLength": 200,
                "description": "one of the event types, or any text with allowUnknown: true",
            },
            data={"type": "object"},
            faults=ref("Faults"),
            allowUnknown={"type": "boolean"},
            retryPolicy=ref("RetryPolicy"),
            webhookIds={"type": "array", "items": STRING},
        ),
        "anyOf": [
            {"properties": {"type": EVENT_TYPE}},
            {"properties": {"allowUnknown": {"const": True}}, "required": ["allowUnknown"]},
        ],
    },
    "EmitBatch": obj(
        ["events"],
        events={
            "type": "array",
            "minItems": 1,
            "maxItems": 1000,
            "items": obj(["type"], type=EVENT_TYPE, data={"type": "object"}),
        },
        shuffle={"type": "boolean"},
        faults=ref("Faults"),
    ),
    "Clock": obj(
        now=TIMESTAMP,
        type={"enum": ["virtual", "real"]},
        scale={"type": ["number", "null"]},
        pendingCount={"type": "integer", "minimum": 0},
        nextDueAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
    ),
    "Advance": obj(
        [], **{name: {**SECONDS, "maximum": limit} for name, limit in ADVANCE_LIMITS.items()}
    ),
    "Reset": obj(reset={"const": True}),
    EMPTY: {
        "type": "object",
        "properties": {},
        "description": "no fields: leave the body out, or send {}",
    },
    "KeyRotate": obj([], apiKey={"type": "string", "maxLength": 200}),  # see key_rotate_schema
    "KeyRotated": obj(apiKey=STRING, previousKey=STRING, previousKeyValidUntil=TIMESTAMP),
    "KeyRevoke": obj(["apiKey"], apiKey={"type": "string", "maxLength": 200}),
    "KeyRevoked": obj(revoked={"const": True}),
    "Health": obj(status={"const": "ok"}),
}


def key_rotate_schema(prefix: str) -> Schema:
    """What ``POST /_mock/keys/rotate`` takes on a server whose keys start with ``prefix``."""
    api_key = {
        "type": "string",
        "maxLength": 200,
        "pattern": key_pattern(prefix),
        "description": "generated when absent",
    }
    return strict(obj([], apiKey=api_key))
