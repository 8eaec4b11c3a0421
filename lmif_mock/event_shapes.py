"""Every event type's ``data``, declared once: fields, types, enums, id prefixes, provenance.

This is the one place an event's shape is written. The JSON Schemas (:mod:`lmif_mock.schemas`,
the ``fixtures/schemas`` files, the OpenAPI document's envelope) are generated from it, and the
payload builder (:mod:`lmif_mock.payloads`) and the world's emitters (:mod:`lmif_mock.world`) are
held to it by the test suite: every event either one produces must have exactly the declared
fields, of the declared types. Adding a field is an edit here; the tests then name every producer
that does not send it yet.

``documented`` lists the fields the provider's own pages show; every other field is designed in
their style (DESIGN.md, "Facts from the provider").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from lmif_mock.ids import PREFIXES

Schema = dict[str, Any]

# -- the vocabulary the fields draw on (the provider's enumerations, then our designed ones) -----

POLICIES: Final = ("BLOCK_ALL", "BLOCK_COMMERCIAL", "MONETIZE", "LICENSE", "TEAM", "OPEN")
ENFORCEMENTS: Final = ("STRICT", "MODERATE")
ENTITY_TYPES: Final = ("INDIVIDUAL", "ESTATE", "CORPORATION", "AGENCY")
REVENUE_TYPES: Final = ("subscription", "per_message", "tips")
CLASSIFICATIONS: Final = ("EXACT_MATCH",)
DETECTION_LAYERS: Final = (1, 2, 3)
ACTIONS: Final = (
    "ALLOW",
    "BLOCK",
    "REQUIRE_LICENSE",
    "TRACK_REVENUE",
    "VERIFY_COMMERCIAL",
    "REVIEW_PARODY",
)
LICENSE_TIERS: Final = ("personal", "creator", "commercial", "enterprise")
#: How a violation or grace period ended. Designed: the provider's sample is cut after "license".
RESOLUTIONS: Final = ("licensed", "avatar_removed", "avatar_modified", "parody_approved")
VIOLATION_RESOLUTIONS: Final = (*RESOLUTIONS, "dismissed")
APPEAL_REASONS: Final = ("parody", "not_a_match", "licensed_elsewhere", "public_domain")
DENIAL_REASONS: Final = ("use_case_not_permitted", "content_guidelines", "tier_unavailable")
REVOCATION_REASONS: Final = ("terms_violation", "non_payment", "box_deleted")
SCAN_TRIGGERS: Final = ("box_created", "scheduled", "manual")
REMINDER_DAYS: Final = (7, 21, 28)


# -- field types ---------------------------------------------------------------------------------


class FieldType(Protocol):
    """What a field holds; it knows its own JSON Schema."""

    def schema(self, *, closed: bool) -> Schema:
        """The JSON Schema; ``closed`` forbids fields the declaration does not list."""
        ...


@dataclass(frozen=True)
class Plain:
    """A field whose schema needs no parameters (a name, a timestamp, a count...)."""

    fixed: Schema

    def schema(self, *, closed: bool) -> Schema:
        return dict(self.fixed)


@dataclass(frozen=True)
class Ident:
    """A string id carrying the prefix of ``kind`` (a key of :data:`lmif_mock.ids.PREFIXES`)."""

    kind: str

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "string", "pattern": f"^{PREFIXES[self.kind]}[A-Za-z0-9_]+$"}


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def schema(self, *, closed: bool) -> Schema:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class ListOf:
    """A JSON array of ``item``."""

    item: FieldType
    min_items: int = 0

    def schema(self, *, closed: bool) -> Schema:
        return {
            "type": "array",
            "items": self.item.schema(closed=closed),
            "minItems": self.min_items,
        }


@dataclass(frozen=True)
class Fields:
    """A JSON object whose declared fields are all present, in this order."""

    members: Mapping[str, FieldType]

    def schema(self, *, closed: bool) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": {name: kind.schema(closed=closed) for name, kind in self.members.items()},
            "required": list(self.members),
        }
        if closed:
            schema["additionalProperties"] = False
        return schema


@dataclass(frozen=True)
class Changes:
    """``box.updated``'s ``changes``: changed field name -> ``{from, to}``, only what changed."""

    known: Mapping[str, tuple[Any, ...]]

    def schema(self, *, closed: bool) -> Schema:
        return {
            "type": "object",
            "description": "changed field name -> {from, to}; only changed fields appear",
            "properties": {
                name: Fields({"from": OneOf(values), "to": OneOf(values)}).schema(closed=closed)
                for name, values in self.known.items()
            },
            "additionalProperties": Fields({"from": ANY, "to": ANY}).schema(closed=closed),
            "minProperties": 1,
        }


ANY: Final = Plain({})
TIMESTAMP: Final = Plain(
    {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
        "description": "UTC, ISO 8601, whole seconds, Z suffix",
    }
)
NAME: Final = Plain({"type": "string", "minLength": 1})
UNIT: Final = Plain({"type": "number", "minimum": 0, "maximum": 1})
COUNT: Final = Plain({"type": "integer", "minimum": 0})
MONEY: Final = Plain({"type": "number", "minimum": 0})
FLAG: Final = Plain({"type": "boolean"})
AVATAR: Final = Fields({"id": Ident("avatar"), "name": NAME, "creatorId": Ident("creator")})
POLICY: Final = OneOf(POLICIES)
TIER: Final = OneOf(LICENSE_TIERS)


# -- the declarations ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventShape:
    """One event type's ``data``: its fields and which of them the provider documents."""

    type: str
    data: Fields
    documented: frozenset[str] = field(default_factory=frozenset)

    @property
    def designed(self) -> tuple[str, ...]:
        """Top-level fields the provider's pages do not show, designed in their style."""
        return tuple(name for name in self.data.members if name not in self.documented)

    def schema(self, *, closed: bool = False) -> Schema:
        """The ``data`` schema. Open by default, so a receiver validating real traffic survives
        the provider adding a field; ``closed=True`` is how this project checks it sends none."""
        return self.data.schema(closed=closed)


def _shape(event_type: str, documented: str = "", **members: FieldType) -> EventShape:
    return EventShape(event_type, Fields(members), frozenset(documented.split()))


_BOX_DOCUMENTED: Final = "boxId claimId identityName entityType policy enforcement policyConfig"
_LICENSE_HEAD: Final[dict[str, FieldType]] = {
    "licenseId": Ident("license"),
    "boxId": Ident("box"),
    "identityName": NAME,
    "tier": TIER,
}

SHAPES: Final[Mapping[str, EventShape]] = {
    shape.type: shape
    for shape in (
        _shape(
            "box.created", _BOX_DOCUMENTED,
            boxId=Ident("box"), claimId=Ident("claim"), identityName=NAME,
            entityType=OneOf(ENTITY_TYPES), policy=POLICY, enforcement=OneOf(ENFORCEMENTS),
            policyConfig=Fields(
                {"royaltyRate": UNIT, "revenueTypes": ListOf(OneOf(REVENUE_TYPES))}
            ),
        ),
        _shape(
            "box.updated", "boxId changes",
            boxId=Ident("box"), changes=Changes({"policy": POLICIES, "enforcement": ENFORCEMENTS}),
        ),
        _shape(
            "box.deleted", "boxId claimId identityName",
            boxId=Ident("box"), claimId=Ident("claim"), identityName=NAME,
        ),
        _shape(
            "violation.detected",
            "violationId boxId identityName policy avatar detection gracePeriod",
            violationId=Ident("violation"), boxId=Ident("box"), identityName=NAME, policy=POLICY,
            avatar=AVATAR,
            detection=Fields({"confidence": UNIT, "classification": OneOf(CLASSIFICATIONS)}),
            gracePeriod=Fields({"id": Ident("grace_period"), "expiresAt": TIMESTAMP}),
        ),
        _shape(
            "violation.resolved", "violationId resolution",
            violationId=Ident("violation"), resolution=OneOf(VIOLATION_RESOLUTIONS),
            boxId=Ident("box"), identityName=NAME, resolvedAt=TIMESTAMP,
        ),
        _shape(
            "violation.appealed", "",
            violationId=Ident("violation"), boxId=Ident("box"), identityName=NAME, avatar=AVATAR,
            appeal=Fields({"reason": OneOf(APPEAL_REASONS), "submittedAt": TIMESTAMP}),
            gracePeriod=Fields({"id": Ident("grace_period"), "status": OneOf(("paused",))}),
        ),
        _shape(
            "grace_period.started", "gracePeriodId boxId identityName expiresAt affectedAvatars",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"),
            violationId=Ident("violation"), identityName=NAME, policy=POLICY,
            startedAt=TIMESTAMP, expiresAt=TIMESTAMP, affectedAvatars=ListOf(AVATAR),
        ),
        _shape(
            "grace_period.reminder", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"), identityName=NAME,
            day=OneOf(REMINDER_DAYS), daysRemaining=COUNT, startedAt=TIMESTAMP,
            expiresAt=TIMESTAMP,
        ),
        _shape(
            "grace_period.ending", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"), identityName=NAME,
            daysRemaining=COUNT, startedAt=TIMESTAMP, expiresAt=TIMESTAMP,
        ),
        _shape(
            "grace_period.expired", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"),
            violationId=Ident("violation"), identityName=NAME, startedAt=TIMESTAMP,
            expiredAt=TIMESTAMP, affectedAvatars=ListOf(AVATAR),
        ),
        _shape(
            "grace_period.resolved", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"),
            violationId=Ident("violation"), identityName=NAME, resolution=OneOf(RESOLUTIONS),
            resolvedAt=TIMESTAMP,
        ),
        _shape(
            "license.requested", "",
            requestId=Ident("license_request"), boxId=Ident("box"), identityName=NAME, tier=TIER,
            useCase=NAME, estimatedUsers=COUNT, submittedAt=TIMESTAMP,
        ),
        _shape(
            "license.approved", "",
            requestId=Ident("license_request"), licenseId=Ident("license"), boxId=Ident("box"),
            identityName=NAME, tier=TIER, monthlyFee=MONEY, currency=OneOf(("USD",)),
            royaltyRate=UNIT, validFrom=TIMESTAMP, expiresAt=TIMESTAMP, autoRenew=FLAG,
        ),
        _shape(
            "license.denied", "",
            requestId=Ident("license_request"), boxId=Ident("box"), identityName=NAME, tier=TIER,
            reason=OneOf(DENIAL_REASONS), deniedAt=TIMESTAMP,
        ),
        _shape(
            "license.expiring", "",
            **_LICENSE_HEAD, expiresAt=TIMESTAMP, daysRemaining=COUNT, autoRenew=FLAG,
        ),
        _shape("license.expired", "", **_LICENSE_HEAD, expiredAt=TIMESTAMP),
        _shape(
            "license.revoked", "",
            **_LICENSE_HEAD, reason=OneOf(REVOCATION_REASONS), revokedAt=TIMESTAMP,
        ),
        _shape(
            "detection.match_found", "",
            scanId=Ident("scan"), boxId=Ident("box"), identityName=NAME, policy=POLICY,
            avatar=AVATAR,
            detection=Fields(
                {
                    "confidence": UNIT,
                    "layer": OneOf(DETECTION_LAYERS),
                    "classification": OneOf(CLASSIFICATIONS),
                    "parodyLikelihood": UNIT,
                }
            ),
            action=OneOf(ACTIONS),
        ),
        _shape(
            "detection.scan_complete", "",
            scanId=Ident("scan"), boxId=Ident("box"), trigger=OneOf(SCAN_TRIGGERS),
            startedAt=TIMESTAMP, completedAt=TIMESTAMP, avatarsScanned=COUNT, matchesFound=COUNT,
        ),
    )
}  # fmt: skip
