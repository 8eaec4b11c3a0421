"""The world's resources (boxes, claims, violations, grace periods, licenses, license requests)
as the provider's API shows them.

Shapes follow the provider's API reference field for field: list items are the short form,
``GET /…/{id}`` the detail form (a box's flat ``royaltyRate`` becomes ``policyConfig``, a grace
period's ``affectedAvatars`` count becomes the list of avatars).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from lmif_mock.payloads import GRACE_PERIOD_DAYS, REMINDER_DAYS
from lmif_mock.timestamps import format_timestamp
from lmif_mock.world import (
    GUIDELINES_URL,
    MONTHLY_FEES,
    TIER_MAX_USERS,
    Box,
    Claim,
    GracePeriod,
    License,
    LicenseRequest,
    Violation,
    World,
)


def timestamp_json(moment: datetime | None) -> str | None:
    """A provider timestamp, or null where there is none yet."""
    return format_timestamp(moment) if moment is not None else None


def box_json(world: World, box: Box, *, detail: bool = False) -> dict[str, Any]:
    violations = [v for v in world.violations.values() if v.box is box]
    periods = [g for g in world.grace_periods.values() if g.box is box and g.status == "active"]
    licenses = [lic for lic in world.licenses.values() if lic.box is box]
    active = [lic for lic in licenses if lic.status == "active"]
    monthly = sum(lic.monthly_fee for lic in active)
    shown: dict[str, Any] = {
        "id": box.id,
        "claimId": box.claim.id,
        "identityName": box.identity_name,
        "policy": box.policy,
        "enforcement": box.enforcement,
        "royaltyRate": box.royalty_rate,
        "status": box.status,
        "createdAt": timestamp_json(box.created_at),
        "stats": {
            "totalViolations": len(violations),
            "activeGracePeriods": len(periods),
            "licensedPlatforms": 1 if active else 0,
            "monthlyRevenue": monthly,
        },
    }
    if detail:
        del shown["royaltyRate"]
        shown["policyConfig"] = {
            "royaltyRate": box.royalty_rate,
            "revenueTypes": box.revenue_types,
            "minimumPayout": box.minimum_payout,
            "contentGuidelines": GUIDELINES_URL.format(box_id=box.id),
            "nsfw": box.nsfw,
        }
        shown["updatedAt"] = timestamp_json(box.updated_at)
        shown["stats"].update(
            resolvedViolations=sum(1 for v in violations if v.status in ("resolved", "dismissed")),
            totalLicenses=len(licenses),
            lifetimeRevenue=monthly,
        )
    return shown


def claim_json(world: World, claim: Claim, *, detail: bool = False) -> dict[str, Any]:
    shown = claim.to_json()
    if detail:
        shown["verification"] = {
            "method": "stripe_identity",
            "completedAt": timestamp_json(claim.verified_at),
            "documents": ["government_id"],
        }
        shown["proofs"] = []
        shown["referenceImages"] = [dict(image) for image in claim.reference_images]
    return shown


def violation_json(world: World, violation: Violation, *, detail: bool = False) -> dict[str, Any]:
    now = world.now
    period = violation.grace_period
    avatar = violation.avatar
    shown: dict[str, Any] = {
        "id": violation.id,
        "boxId": violation.box.id,
        "identityName": violation.box.identity_name,
        "status": violation.status,
        "severity": violation.severity,
        "detectedAt": timestamp_json(violation.detected_at),
        "avatar": {
            "id": avatar.id,
            "name": avatar.name,
            "creatorId": avatar.creator_id,
            "userCount": avatar.user_count,
        },
        "detection": {
            "confidence": violation.confidence,
            "layer": violation.layer,
            "classification": "EXACT_MATCH",
        },
        "gracePeriod": None
        if period is None
        else {
            "id": period.id,
            "expiresAt": timestamp_json(period.expires_at),
            "daysRemaining": period.days_remaining(now),
        },
    }
    if detail:
        shown["policy"] = violation.box.policy
        shown["resolution"] = violation.resolution
        shown["avatar"].update(
            description=f"AI companion inspired by {violation.box.identity_name}",
            imageUrl=f"https://platform.example/avatars/{avatar.id}.png",
            creatorName=avatar.creator_name,
            createdAt=timestamp_json(avatar.created_at),
        )
        shown["detection"].update(
            matchedVariations=[violation.box.identity_name, *violation.box.claim.variations],
            imageMatchScore=round(violation.confidence - 0.03, 2),
            parodyLikelihood=violation.parody_likelihood,
        )
        if period is not None:
            shown["gracePeriod"].update(
                status=period.status,
                startedAt=timestamp_json(period.started_at),
                notifications=_notifications(period),
            )
    return shown


def _notifications(period: GracePeriod) -> dict[str, Any]:
    shown: dict[str, Any] = {}
    for day in (0, *REMINDER_DAYS):
        sent = period.notifications.get(f"day{day}")
        if sent is not None:
            shown[f"day{day}"] = {
                "sent": True,
                "at": timestamp_json(sent),
                "recipients": [a.creator_email for a in period.avatars],
            }
        else:
            due = period.expires_at - timedelta(days=GRACE_PERIOD_DAYS - day)
            shown[f"day{day}"] = {"sent": False, "scheduledAt": timestamp_json(due)}
    return shown


def grace_period_json(world: World, period: GracePeriod, *, detail: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": period.id,
        "boxId": period.box.id,
        "violationId": period.violation_id,
        "identityName": period.box.identity_name,
        "status": period.status,
        "startedAt": timestamp_json(period.started_at),
        "expiresAt": timestamp_json(period.expires_at),
        "daysRemaining": period.days_remaining(world.now),
        "affectedAvatars": len(period.avatars),
        "affectedUsers": sum(a.user_count for a in period.avatars),
    }
    if detail:
        shown["policy"] = period.box.policy
        shown["resolution"] = period.resolution
        shown["notifications"] = _notifications(period)
        shown["affectedAvatars"] = [
            {
                "avatarId": a.id,
                "name": a.name,
                "creatorId": a.creator_id,
                "creatorEmail": a.creator_email,
                "userCount": a.user_count,
                "status": a.status,
            }
            for a in period.avatars
        ]
        licensable = period.box.policy in ("LICENSE", "MONETIZE", "BLOCK_COMMERCIAL", "OPEN")
        shown["resolutionOptions"] = [
            {"type": "license", "available": licensable, "pricing": dict(MONTHLY_FEES)},
            {"type": "remove", "available": True},
            {"type": "modify", "available": True},
            {"type": "parody", "available": period.box.policy != "BLOCK_ALL"},
        ]
    return shown


def license_json(world: World, license_: License, *, detail: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": license_.id,
        "boxId": license_.box.id,
        "identityName": license_.box.identity_name,
        "tier": license_.tier,
        "status": license_.status,
        "monthlyFee": license_.monthly_fee,
        "royaltyRate": license_.royalty_rate,
        "validFrom": timestamp_json(license_.valid_from),
        "expiresAt": timestamp_json(license_.expires_at),
        "autoRenew": license_.auto_renew,
    }
    if detail:
        shown["currency"] = "USD"
        shown["terms"] = {
            "maxUsers": TIER_MAX_USERS[license_.tier],
            "contentGuidelines": GUIDELINES_URL.format(box_id=license_.box.id),
            "nsfw": license_.box.nsfw,
            "exclusivity": False,
            "territory": "worldwide",
        }
        period = world.now.strftime("%Y-%m")
        reported = license_.usage.get(period, {})
        shown["usage"] = {
            "currentPeriod": period,
            "subscribers": reported.get("subscribers", 0),
            "messages": reported.get("messages", 0),
            "revenue": reported.get("revenue", 0),
            "royaltyDue": reported.get("royaltyDue", 0),
        }
        shown["cancelledAt"] = timestamp_json(license_.cancelled_at)
    return shown


def request_json(world: World, request: LicenseRequest) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": request.id,
        "boxId": request.box.id,
        "status": request.status,
        "tier": request.tier,
        "useCase": request.use_case,
        "submittedAt": timestamp_json(request.submitted_at),
        "estimatedReviewTime": "48-72 hours" if request.status == "pending" else None,
    }
    if request.license is not None:
        shown["license"] = license_json(world, request.license, detail=True)
    if request.reason is not None:
        shown["reason"] = request.reason
    return shown
