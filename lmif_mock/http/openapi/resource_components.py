"""The components of the world's resources as the provider's API shows them: claims, boxes,
violations, grace periods, licenses and their requests, identity checks, and the control
routes that drive the world."""

from __future__ import annotations

from lmif_mock.http.detection_routes import MAX_USER_COUNT
from lmif_mock.http.license_routes import MAX_MESSAGES, MAX_REVENUE, MAX_SUBSCRIBERS
from lmif_mock.http.openapi.schema import NULLABLE_STRING, STRING, Schema, obj, ref
from lmif_mock.payloads import (
    ACTIONS,
    APPEAL_REASONS,
    DENIAL_REASONS,
    ENFORCEMENTS,
    ENTITY_TYPES,
    LICENSE_TIERS,
    POLICIES,
    RESOLUTIONS,
    REVENUE_TYPES,
)
from lmif_mock.schemas import TIMESTAMP
from lmif_mock.world import (
    CLAIM_STATUSES,
    GRACE_PERIOD_STATUSES,
    LICENSE_STATUSES,
    SEVERITIES,
    VERIFICATION_TIERS,
    VIOLATION_STATUSES,
)

_REFERENCE_IMAGES: Schema = {
    "type": "array",
    "maxItems": 20,
    "items": obj(["url"], url={"type": "string", "minLength": 1}, isPrimary={"type": "boolean"}),
}

_USER_COUNT: Schema = {"type": "integer", "minimum": 0, "maximum": MAX_USER_COUNT}
_UP_TO_A_BILLION: Schema = {"type": "integer", "minimum": 0, "maximum": 10**9}


def _up_to(max_length: int) -> Schema:
    """A string of at most ``max_length`` characters."""
    return {"type": "string", "maxLength": max_length}


#: A character that is not whitespace, spelt out: ``\S`` means a different set in each regex
#: engine (ECMAScript's leaves out U+001C..U+001F and U+0085, which the server strips, and
#: counts U+FEFF, which it keeps), so a client's own check and the server's would disagree.
NOT_BLANK = (
    r"[^\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
    r"\u205f\u3000]"
)


def _free_text(max_length: int) -> Schema:
    """Text the world keeps and sends: something besides whitespace, of bounded length."""
    return {"type": "string", "pattern": NOT_BLANK, "maxLength": max_length}


RESOURCE_COMPONENTS: dict[str, Schema] = {
    "Claim": obj(
        ["id", "name", "variations", "entityType", "status", "verificationTier", "hasBox"],
        id=STRING,
        name=STRING,
        variations={"type": "array", "items": STRING},
        entityType={"enum": list(ENTITY_TYPES)},
        status={"enum": list(CLAIM_STATUSES)},
        verificationTier={"enum": [*VERIFICATION_TIERS, None]},
        createdAt=TIMESTAMP,
        verifiedAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
        hasBox={"type": "boolean"},
        boxId=NULLABLE_STRING,
        referenceImages={
            "type": "array",
            "items": obj(id=STRING, url=STRING, isPrimary={"type": "boolean"}),
        },
    ),
    "ClaimCreate": obj(
        ["name"],
        name={**_free_text(200), "minLength": 1},
        variations={
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "maxItems": 50,
        },
        entityType={"enum": list(ENTITY_TYPES)},
        referenceImages=_REFERENCE_IMAGES,
    ),
    "ClaimUpdate": obj(
        [],
        name={**_free_text(200), "minLength": 1},
        variations={
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "maxItems": 50,
        },
        referenceImages=_REFERENCE_IMAGES,
    ),
    "ClaimVerify": obj([], verificationTier={"enum": list(VERIFICATION_TIERS)}),
    "Box": obj(
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
    "BoxCreate": obj(
        ["claimId", "policy"],
        claimId={
            "type": "string",
            "maxLength": 200,
            "description": "a verified claim without a box",
        },
        policy={"enum": list(POLICIES)},
        enforcement={"enum": list(ENFORCEMENTS)},
        policyConfig=obj(
            [],
            royaltyRate={"type": "number", "minimum": 0, "maximum": 1},
            revenueTypes={"type": "array", "items": {"enum": list(REVENUE_TYPES)}, "maxItems": 10},
            minimumPayout=_UP_TO_A_BILLION,
            nsfw={"type": "boolean"},
        ),
    ),
    "WorldBoxCreate": obj(
        ["identityName", "policy"],
        identityName=_free_text(200),
        policy={"enum": list(POLICIES)},
        enforcement={"enum": list(ENFORCEMENTS)},
        entityType={"enum": list(ENTITY_TYPES)},
        policyConfig=obj([], royaltyRate={"type": "number", "minimum": 0, "maximum": 1}),
    ),
    "BoxUpdate": obj([], policy={"enum": list(POLICIES)}, enforcement={"enum": list(ENFORCEMENTS)}),
    "Violation": obj(
        ["id", "boxId", "identityName", "status", "severity", "detectedAt", "avatar", "detection"],
        id=STRING,
        boxId=STRING,
        identityName=STRING,
        status={"enum": list(VIOLATION_STATUSES)},
        severity={"enum": list(SEVERITIES)},
        detectedAt=TIMESTAMP,
        avatar={"type": "object"},
        detection={"type": "object"},
        gracePeriod={"type": ["object", "null"]},
    ),
    "GracePeriod": obj(
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
        status={"enum": list(GRACE_PERIOD_STATUSES)},
        startedAt=TIMESTAMP,
        expiresAt=TIMESTAMP,
        daysRemaining={"type": "integer", "minimum": 0},
        affectedAvatars={"type": ["integer", "array"]},
        affectedUsers={"type": "integer"},
    ),
    "License": obj(
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
        status={"enum": list(LICENSE_STATUSES)},
        monthlyFee={"type": "number"},
        royaltyRate={"type": "number"},
        validFrom=TIMESTAMP,
        expiresAt=TIMESTAMP,
        autoRenew={"type": "boolean"},
        cancelledAt={"anyOf": [TIMESTAMP, {"type": "null"}]},
    ),
    "UsageReport": obj(
        [],
        period={
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$",
            "description": "YYYY-MM, not after the fake clock's month (default: that month)",
        },
        subscribers={"type": "integer", "minimum": 0, "maximum": MAX_SUBSCRIBERS},
        messages={"type": "integer", "minimum": 0, "maximum": MAX_MESSAGES},
        revenue={"type": "number", "minimum": 0, "maximum": MAX_REVENUE},
    ),
    "UsageRecord": obj(
        licenseId=STRING,
        period=STRING,
        subscribers={"type": "integer", "minimum": 0},
        messages={"type": "integer", "minimum": 0},
        revenue={"type": "number", "minimum": 0},
        royaltyDue={"type": "number", "minimum": 0},
        reportedAt=TIMESTAMP,
    ),
    "LicenseRequestCreate": obj(
        ["boxId", "tier", "useCase", "acceptGuidelines"],
        boxId=STRING,
        tier={"enum": list(LICENSE_TIERS)},
        useCase=_free_text(2000),
        estimatedUsers=_UP_TO_A_BILLION,
        acceptGuidelines={"const": True},
        message=_free_text(2000),
    ),
    "LicenseRequest": obj(
        ["id", "boxId", "status", "tier", "submittedAt"],
        id=STRING,
        boxId=STRING,
        status={"enum": ["pending", "approved", "denied"]},
        tier={"enum": list(LICENSE_TIERS)},
        useCase=STRING,
        submittedAt=TIMESTAMP,
        estimatedReviewTime=NULLABLE_STRING,
        license=ref("License"),
        reason=STRING,
    ),
    "Resolve": obj([], resolution={"enum": [*RESOLUTIONS, "dismissed"]}),
    "Appeal": obj([], reason={"enum": list(APPEAL_REASONS)}),
    "IdentityCheckRequest": obj(
        ["name", "imageUrl"],
        name=_up_to(200),
        imageUrl=STRING,
        description=_up_to(5000),
        context=_up_to(5000),
    ),
    "IdentityCheck": obj(
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
        "items": obj(["id", "name", "imageUrl"], id=_up_to(200), name=_up_to(200), imageUrl=STRING),
    },
    "IdentityCheckResults": {
        "type": "array",
        "items": {"allOf": [obj(id=STRING), ref("IdentityCheck")]},
    },
    "AvatarCreate": obj(
        ["name"],
        name=_free_text(200),
        userCount=_USER_COUNT,
        creatorId=_free_text(200),
    ),
    "Avatar": obj(
        ["id", "name", "creatorId"],
        id=STRING,
        name=STRING,
        creatorId=STRING,
        userCount=_USER_COUNT,
        status=STRING,
    ),
    "ViolationCreate": obj(
        ["boxId"],
        boxId=STRING,
        avatarId=STRING,
        confidence={"type": "number", "minimum": 0, "maximum": 1},
    ),
    "ScanCreate": obj(["boxId"], boxId=STRING),
    "ScanResult": obj(matches={"type": "array", "items": {"type": "object"}}),
    "Approve": obj([], autoRenew={"type": "boolean"}),
    "Deny": obj([], reason={"enum": list(DENIAL_REASONS)}),
    "AppealDecision": obj(["upheld"], upheld={"type": "boolean"}),
    "ScenarioResult": obj(
        ["scenario", "events"],
        scenario=STRING,
        events={"type": "array", "items": {"type": "object"}},
    ),
    "OpenAPI": {"type": "object"},
}
