"""Every event type's ``data``, declared once: fields, types, enums, id prefixes, provenance.

This is the one place an event's shape is written. The JSON Schemas (:mod:`lmif_mock.schemas`,
the ``fixtures/schemas`` files, the OpenAPI document's envelope) and the payload builder
(:mod:`lmif_mock.payloads`, which compiles a generator per type from these declarations) are
derived from it; the world's emitters (:mod:`lmif_mock.world`) are held to it by the test suite.
Each field's kind (:mod:`lmif_mock.shape_types`) says both its schema and what a realistic value
looks like, so adding a field is an edit here and generated events carry it at once.

``documented`` lists the fields the provider's own pages show; every other field is designed in
their style (DESIGN.md, "Facts from the provider").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from lmif_mock.shape_types import (
    FLAG,
    TIMESTAMP,
    Amount,
    AvatarName,
    Changes,
    Count,
    Fields,
    FieldType,
    Flag,
    Fraction,
    Ident,
    IdentityName,
    ListOf,
    Lookup,
    Moment,
    OneOf,
    Phrase,
    Schema,
)

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


GRACE_PERIOD_DAYS: Final = 30
ENDING_DAYS_BEFORE_EXPIRY: Final = 2
LICENSE_EXPIRING_DAYS: Final = 30
ROYALTY_RATES: Final = (0.05, 0.1, 0.15, 0.2, 0.25)
#: What the identity check tells a platform to do, by box policy.
ACTION_FOR_POLICY: Final = {
    "BLOCK_ALL": "BLOCK",
    "BLOCK_COMMERCIAL": "VERIFY_COMMERCIAL",
    "MONETIZE": "TRACK_REVENUE",
    "LICENSE": "REQUIRE_LICENSE",
    "TEAM": "BLOCK",
    "OPEN": "ALLOW",
}
#: Monthly fees a generated license's tier asks (the world's own table is richer).
MONTHLY_FEE_RANGES: Final = {
    "personal": (0, 10),
    "creator": (25, 100),
    "commercial": (100, 1000),
    "enterprise": (2000, 10000),
}
USE_CASES: Final = (
    "AI companion chat",
    "Fan fiction roleplay",
    "Educational voice tutor",
    "Branded customer assistant",
    "Interactive storytelling",
)
AVATAR_SUFFIXES: Final = ("AI", "Bot", "Chat", "Companion", "Twin")


# -- the kinds fields are declared with ------------------------------------------------------------

NAME: Final = IdentityName()
AVATAR: Final = Fields(
    {"id": Ident("avatar"), "name": AvatarName(AVATAR_SUFFIXES), "creatorId": Ident("creator")}
)
POLICY: Final = OneOf(POLICIES)
TIER: Final = OneOf(LICENSE_TIERS)
CONFIDENCE: Final = Fraction(0.6, 1.0)


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
_GRACE: Final = GRACE_PERIOD_DAYS
_ENDING: Final = ENDING_DAYS_BEFORE_EXPIRY

SHAPES: Final[Mapping[str, EventShape]] = {
    shape.type: shape
    for shape in (
        _shape(
            "box.created", _BOX_DOCUMENTED,
            boxId=Ident("box"), claimId=Ident("claim"), identityName=IdentityName("entityType"),
            entityType=OneOf(ENTITY_TYPES), policy=POLICY, enforcement=OneOf(ENFORCEMENTS),
            policyConfig=Fields(
                {
                    "royaltyRate": Fraction(choices=ROYALTY_RATES),
                    "revenueTypes": ListOf(OneOf(REVENUE_TYPES), max_items=len(REVENUE_TYPES)),
                }
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
            detection=Fields({"confidence": CONFIDENCE, "classification": OneOf(CLASSIFICATIONS)}),
            gracePeriod=Fields({"id": Ident("grace_period"), "expiresAt": Moment(days=_GRACE)}),
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
            startedAt=TIMESTAMP, expiresAt=Moment(days=_GRACE),
            affectedAvatars=ListOf(AVATAR, max_items=3),
        ),
        _shape(
            "grace_period.reminder", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"), identityName=NAME,
            day=OneOf(REMINDER_DAYS), daysRemaining=Count(_GRACE, _GRACE, less="day"),
            startedAt=Moment(less_days_of="day"), expiresAt=Moment(days=_GRACE, less_days_of="day"),
        ),
        _shape(
            "grace_period.ending", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"), identityName=NAME,
            daysRemaining=Count(_ENDING, _ENDING), startedAt=Moment(days=_ENDING - _GRACE),
            expiresAt=Moment(days=_ENDING),
        ),
        _shape(
            "grace_period.expired", "",
            gracePeriodId=Ident("grace_period"), boxId=Ident("box"),
            violationId=Ident("violation"), identityName=NAME, startedAt=Moment(days=-_GRACE),
            expiredAt=TIMESTAMP, affectedAvatars=ListOf(AVATAR, max_items=3),
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
            useCase=Phrase(USE_CASES), estimatedUsers=Count(100, 99_900, step=100),
            submittedAt=TIMESTAMP,
        ),
        _shape(
            "license.approved", "",
            requestId=Ident("license_request"), licenseId=Ident("license"), boxId=Ident("box"),
            identityName=NAME, tier=TIER, monthlyFee=Amount("tier", MONTHLY_FEE_RANGES),
            currency=OneOf(("USD",)), royaltyRate=Fraction(choices=ROYALTY_RATES),
            validFrom=TIMESTAMP, expiresAt=Moment(years=1), autoRenew=FLAG,
        ),
        _shape(
            "license.denied", "",
            requestId=Ident("license_request"), boxId=Ident("box"), identityName=NAME, tier=TIER,
            reason=OneOf(DENIAL_REASONS), deniedAt=TIMESTAMP,
        ),
        _shape(
            "license.expiring", "",
            **_LICENSE_HEAD, expiresAt=Moment(days=LICENSE_EXPIRING_DAYS),
            daysRemaining=Count(LICENSE_EXPIRING_DAYS, LICENSE_EXPIRING_DAYS),
            autoRenew=Flag(fixed=False),
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
                    "confidence": CONFIDENCE,
                    "layer": OneOf(DETECTION_LAYERS),
                    "classification": OneOf(CLASSIFICATIONS),
                    "parodyLikelihood": Fraction(0.0, 0.3),
                }
            ),
            action=Lookup("policy", ACTION_FOR_POLICY, ACTIONS),
        ),
        _shape(
            "detection.scan_complete", "",
            scanId=Ident("scan"), boxId=Ident("box"), trigger=OneOf(SCAN_TRIGGERS),
            startedAt=Moment(minutes_back=30), completedAt=TIMESTAMP,
            avatarsScanned=Count(50, 5000), matchesFound=Count(0, 12, at_most="avatarsScanned"),
        ),
    )
}  # fmt: skip
