"""JSON Schemas (draft 2020-12) for the envelope and the ``data`` of every event type.

The schemas describe what the fake sends and what a receiver may rely on. They list every field
as required but allow extra ones (``additionalProperties`` is left open), because a receiver that
validates real traffic must not break when the provider adds a field; the project's own tests
check separately that generated data has exactly the listed fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lmif_mock import payloads as p
from lmif_mock.events import API_VERSION, EVENT_TYPES
from lmif_mock.ids import PREFIXES

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TIMESTAMP: Schema = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    "description": "UTC, ISO 8601, whole seconds, Z suffix",
}
NAME: Schema = {"type": "string", "minLength": 1}
UNIT: Schema = {"type": "number", "minimum": 0, "maximum": 1}
COUNT: Schema = {"type": "integer", "minimum": 0}
MONEY: Schema = {"type": "number", "minimum": 0}


def ident(kind: str) -> Schema:
    """A string id with the prefix of ``kind``."""
    return {"type": "string", "pattern": f"^{PREFIXES[kind]}[A-Za-z0-9_]+$"}


def enum(values: tuple[Any, ...]) -> Schema:
    """One of ``values``."""
    return {"enum": list(values)}


def obj(**properties: Schema) -> Schema:
    """An object whose listed properties are all required."""
    return {"type": "object", "properties": properties, "required": list(properties)}


def array(items: Schema, min_items: int = 0) -> Schema:
    """A list of ``items``."""
    return {"type": "array", "items": items, "minItems": min_items}


AVATAR = obj(id=ident("avatar"), name=NAME, creatorId=ident("creator"))
POLICY = enum(p.POLICIES)
ENFORCEMENT = enum(p.ENFORCEMENTS)
TIER = enum(p.LICENSE_TIERS)


def _change(values: tuple[str, ...]) -> Schema:
    return obj(**{"from": enum(values), "to": enum(values)})


DATA: Mapping[str, Schema] = {
    "box.created": obj(
        boxId=ident("box"),
        claimId=ident("claim"),
        identityName=NAME,
        entityType=enum(p.ENTITY_TYPES),
        policy=POLICY,
        enforcement=ENFORCEMENT,
        policyConfig=obj(
            royaltyRate=UNIT,
            revenueTypes=array(enum(p.REVENUE_TYPES)),
        ),
    ),
    "box.updated": obj(
        boxId=ident("box"),
        changes={
            "type": "object",
            "description": "changed field name -> {from, to}; only changed fields appear",
            "properties": {"policy": _change(p.POLICIES), "enforcement": _change(p.ENFORCEMENTS)},
            "additionalProperties": obj(**{"from": {}, "to": {}}),
            "minProperties": 1,
        },
    ),
    "box.deleted": obj(boxId=ident("box"), claimId=ident("claim"), identityName=NAME),
    "violation.detected": obj(
        violationId=ident("violation"),
        boxId=ident("box"),
        identityName=NAME,
        policy=POLICY,
        avatar=AVATAR,
        detection=obj(confidence=UNIT, classification=enum(p.CLASSIFICATIONS)),
        gracePeriod=obj(id=ident("grace_period"), expiresAt=TIMESTAMP),
    ),
    "violation.resolved": obj(
        violationId=ident("violation"),
        resolution=enum(p.VIOLATION_RESOLUTIONS),
        boxId=ident("box"),
        identityName=NAME,
        resolvedAt=TIMESTAMP,
    ),
    "violation.appealed": obj(
        violationId=ident("violation"),
        boxId=ident("box"),
        identityName=NAME,
        avatar=AVATAR,
        appeal=obj(reason=enum(p.APPEAL_REASONS), submittedAt=TIMESTAMP),
        gracePeriod=obj(id=ident("grace_period"), status=enum(("paused",))),
    ),
    "grace_period.started": obj(
        gracePeriodId=ident("grace_period"),
        boxId=ident("box"),
        violationId=ident("violation"),
        identityName=NAME,
        policy=POLICY,
        startedAt=TIMESTAMP,
        expiresAt=TIMESTAMP,
        affectedAvatars=array(AVATAR),
    ),
    "grace_period.reminder": obj(
        gracePeriodId=ident("grace_period"),
        boxId=ident("box"),
        identityName=NAME,
        day=enum(p.REMINDER_DAYS),
        daysRemaining=COUNT,
        startedAt=TIMESTAMP,
        expiresAt=TIMESTAMP,
    ),
    "grace_period.ending": obj(
        gracePeriodId=ident("grace_period"),
        boxId=ident("box"),
        identityName=NAME,
        daysRemaining=COUNT,
        startedAt=TIMESTAMP,
        expiresAt=TIMESTAMP,
    ),
    "grace_period.expired": obj(
        gracePeriodId=ident("grace_period"),
        boxId=ident("box"),
        violationId=ident("violation"),
        identityName=NAME,
        startedAt=TIMESTAMP,
        expiredAt=TIMESTAMP,
        affectedAvatars=array(AVATAR),
    ),
    "grace_period.resolved": obj(
        gracePeriodId=ident("grace_period"),
        boxId=ident("box"),
        violationId=ident("violation"),
        identityName=NAME,
        resolution=enum(p.RESOLUTIONS),
        resolvedAt=TIMESTAMP,
    ),
    "license.requested": obj(
        requestId=ident("license_request"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        useCase=NAME,
        estimatedUsers=COUNT,
        submittedAt=TIMESTAMP,
    ),
    "license.approved": obj(
        requestId=ident("license_request"),
        licenseId=ident("license"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        monthlyFee=MONEY,
        currency=enum(("USD",)),
        royaltyRate=UNIT,
        validFrom=TIMESTAMP,
        expiresAt=TIMESTAMP,
        autoRenew={"type": "boolean"},
    ),
    "license.denied": obj(
        requestId=ident("license_request"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        reason=enum(p.DENIAL_REASONS),
        deniedAt=TIMESTAMP,
    ),
    "license.expiring": obj(
        licenseId=ident("license"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        expiresAt=TIMESTAMP,
        daysRemaining=COUNT,
        autoRenew={"type": "boolean"},
    ),
    "license.expired": obj(
        licenseId=ident("license"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        expiredAt=TIMESTAMP,
    ),
    "license.revoked": obj(
        licenseId=ident("license"),
        boxId=ident("box"),
        identityName=NAME,
        tier=TIER,
        reason=enum(p.REVOCATION_REASONS),
        revokedAt=TIMESTAMP,
    ),
    "detection.match_found": obj(
        scanId=ident("scan"),
        boxId=ident("box"),
        identityName=NAME,
        policy=POLICY,
        avatar=AVATAR,
        detection=obj(
            confidence=UNIT,
            layer=enum(p.DETECTION_LAYERS),
            classification=enum(p.CLASSIFICATIONS),
            parodyLikelihood=UNIT,
        ),
        action=enum(p.ACTIONS),
    ),
    "detection.scan_complete": obj(
        scanId=ident("scan"),
        boxId=ident("box"),
        trigger=enum(p.SCAN_TRIGGERS),
        startedAt=TIMESTAMP,
        completedAt=TIMESTAMP,
        avatarsScanned=COUNT,
        matchesFound=COUNT,
    ),
}


def envelope_schema(data: Schema | None = None, event_type: str | None = None) -> Schema:
    """The envelope's schema: exactly ``id, type, createdAt, data, meta``, nothing else."""
    schema: Schema = {
        "type": "object",
        "properties": {
            "id": ident("event"),
            "type": {"const": event_type} if event_type else enum(EVENT_TYPES),
            "createdAt": TIMESTAMP,
            "data": data or {"type": "object"},
            "meta": {
                "type": "object",
                "properties": {
                    "apiVersion": {"const": API_VERSION},
                    "webhookId": ident("webhook"),
                },
                "required": ["apiVersion", "webhookId"],
                "additionalProperties": False,
            },
        },
        "required": ["id", "type", "createdAt", "data", "meta"],
        "additionalProperties": False,
    }
    return schema


def event_schema(event_type: str) -> Schema:
    """The full schema of one event type, envelope included, ready to write to a file."""
    return {
        "$schema": DIALECT,
        "$id": f"https://lmif-mock.invalid/schemas/{event_type}.json",
        "title": f"LMIF {event_type} webhook event",
        **envelope_schema(DATA[event_type], event_type),
    }
