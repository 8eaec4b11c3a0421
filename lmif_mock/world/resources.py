"""The provider's resources as the world keeps them: claims, boxes, avatars, violations, grace
periods, licenses and license requests. Plain records; the transitions live beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lmif_mock.clock import Timer
from lmif_mock.timestamps import format_timestamp


def timestamp(moment: datetime | None) -> str | None:
    """A moment in the provider's wire format; ``None`` stays ``None`` (the JSON shows null)."""
    return format_timestamp(moment) if moment is not None else None


@dataclass
class Claim:
    """A verified identity (the provider's claim)."""

    id: str
    name: str
    entity_type: str
    variations: list[str]
    created_at: datetime
    verification_tier: str | None = "GOLD"
    status: str = "verified"
    box_id: str | None = None
    #: When verification completed; ``None`` while pending (claims made with a box are verified).
    verified_at: datetime | None = None
    #: ``{"id": "img_…", "url", "isPrimary"}`` as the claim detail shows them.
    reference_images: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status == "verified" and self.verified_at is None:
            self.verified_at = self.created_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "variations": self.variations,
            "entityType": self.entity_type,
            "status": self.status,
            "verificationTier": self.verification_tier,
            "createdAt": timestamp(self.created_at),
            "verifiedAt": timestamp(self.verified_at),
            "hasBox": self.box_id is not None,
            "boxId": self.box_id,
        }


@dataclass
class Box:
    """A protection policy on a claimed identity."""

    id: str
    claim: Claim
    policy: str
    enforcement: str
    royalty_rate: float
    revenue_types: list[str]
    created_at: datetime
    updated_at: datetime
    status: str = "active"
    minimum_payout: int = 100
    nsfw: bool = False

    @property
    def identity_name(self) -> str:
        return self.claim.name


@dataclass
class Avatar:
    """One of the platform's avatars, as LMIF knows it."""

    id: str
    name: str
    creator_id: str
    creator_name: str
    creator_email: str
    user_count: int
    created_at: datetime
    status: str = "active"

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "creatorId": self.creator_id}


@dataclass
class GracePeriod:
    """The 30-day window a platform has to resolve a violation."""

    id: str
    box: Box
    violation_id: str
    avatars: list[Avatar]
    started_at: datetime
    expires_at: datetime
    status: str = "active"
    notifications: dict[str, datetime | None] = field(default_factory=dict)
    paused_at: datetime | None = None
    resolution: str | None = None
    timers: list[Timer] = field(default_factory=list, repr=False)

    def days_remaining(self, now: datetime) -> int:
        return max(0, math.floor((self.expires_at - now).total_seconds() / 86400))


@dataclass
class Violation:
    """A platform avatar found matching a boxed identity."""

    id: str
    box: Box
    avatar: Avatar
    detected_at: datetime
    confidence: float
    severity: str
    layer: int = 1
    parody_likelihood: float = 0.02
    status: str = "pending"
    grace_period: GracePeriod | None = None
    resolution: str | None = None
    appeal_reason: str | None = None


@dataclass
class License:
    """Permission to use a boxed identity on the platform."""

    id: str
    box: Box
    tier: str
    monthly_fee: int
    royalty_rate: float
    valid_from: datetime
    expires_at: datetime
    auto_renew: bool
    status: str = "active"
    timers: list[Timer] = field(default_factory=list, repr=False)
    #: Set when the platform cancels (``DELETE /licenses/{id}``): no renewal, ends at expiresAt.
    cancelled_at: datetime | None = None
    #: Usage reported with ``POST /licenses/{id}/usage``, by period ("2024-01").
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class LicenseRequest:
    """A platform's application for a license (``req_``)."""

    id: str
    box: Box
    tier: str
    use_case: str
    estimated_users: int | None
    submitted_at: datetime
    message: str | None = None
    status: str = "pending"
    license: License | None = None
    reason: str | None = None
