"""The provider's resource API (boxes, claims, violations, grace periods, licenses, identity
checks) and the control routes that drive the world, as a mixin of :class:`lmif_mock.http.app.API`.

Shapes follow the provider's API reference field for field: list items are the short form,
``GET /…/{id}`` the detail form (a box's flat ``royaltyRate`` becomes ``policyConfig``, a grace
period's ``affectedAvatars`` count becomes the list of avatars).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.http.errors import APIError, not_found, validation_error
from lmif_mock.http.validation import Fields
from lmif_mock.payloads import (
    ENFORCEMENTS,
    ENTITY_TYPES,
    GRACE_PERIOD_DAYS,
    POLICIES,
    REMINDER_DAYS,
)
from lmif_mock.timestamps import format_timestamp
from lmif_mock.world import (
    GUIDELINES_URL,
    MAX_BATCH_CHECKS,
    MONTHLY_FEES,
    TIER_MAX_USERS,
    Box,
    Claim,
    GracePeriod,
    License,
    LicenseRequest,
    Violation,
    World,
    WorldError,
)
from lmif_mock.world.scenarios import SCENARIOS

if TYPE_CHECKING:
    from lmif_mock.fake import FakeLMIF

Result = tuple[int, Any]


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


# -- representations ---------------------------------------------------------------------------


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
        "createdAt": _ts(box.created_at),
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
        shown["updatedAt"] = _ts(box.updated_at)
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
            "completedAt": _ts(claim.verified_at),
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
        "detectedAt": _ts(violation.detected_at),
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
            "expiresAt": _ts(period.expires_at),
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
            createdAt=_ts(avatar.created_at),
        )
        shown["detection"].update(
            matchedVariations=[violation.box.identity_name, *violation.box.claim.variations],
            imageMatchScore=round(violation.confidence - 0.03, 2),
            parodyLikelihood=violation.parody_likelihood,
        )
        if period is not None:
            shown["gracePeriod"].update(
                status=period.status,
                startedAt=_ts(period.started_at),
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
                "at": _ts(sent),
                "recipients": [a.creator_email for a in period.avatars],
            }
        else:
            due = period.expires_at - timedelta(days=GRACE_PERIOD_DAYS - day)
            shown[f"day{day}"] = {"sent": False, "scheduledAt": _ts(due)}
    return shown


def grace_period_json(world: World, period: GracePeriod, *, detail: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": period.id,
        "boxId": period.box.id,
        "violationId": period.violation_id,
        "identityName": period.box.identity_name,
        "status": period.status,
        "startedAt": _ts(period.started_at),
        "expiresAt": _ts(period.expires_at),
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
        "validFrom": _ts(license_.valid_from),
        "expiresAt": _ts(license_.expires_at),
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
        shown["cancelledAt"] = _ts(license_.cancelled_at)
    return shown


def request_json(world: World, request: LicenseRequest) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": request.id,
        "boxId": request.box.id,
        "status": request.status,
        "tier": request.tier,
        "useCase": request.use_case,
        "submittedAt": _ts(request.submitted_at),
        "estimatedReviewTime": "48-72 hours" if request.status == "pending" else None,
    }
    if request.license is not None:
        shown["license"] = license_json(world, request.license, detail=True)
    if request.reason is not None:
        shown["reason"] = request.reason
    return shown


# -- routes ------------------------------------------------------------------------------------


class WorldRoutes:
    """Handlers for the resource and world-control routes (mixed into the API class)."""

    fake: FakeLMIF
    plan: str
    _body: Callable[..., Any]
    _page: Callable[..., dict[str, Any]]

    @property
    def _world(self) -> World:
        return self.fake.world

    def _get(self, table: dict[str, Any], ident: str, kind: str) -> Any:
        found = table.get(ident)
        if found is None:
            raise not_found(kind, ident)
        return found

    def _filtered(
        self, request: Request, items: list[Any], **filters: Callable[[Any], Any]
    ) -> list[Any]:
        for name, read in filters.items():
            wanted = request.args.get(name)
            if wanted is not None:
                items = [item for item in items if str(read(item)) == wanted]
        return items

    def _transition(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except NotFoundError as exc:
            raise APIError("NOT_FOUND", str(exc)) from None
        except ConflictError as exc:
            raise APIError("CONFLICT", str(exc)) from None
        except WorldError as exc:
            raise validation_error([{"field": "body", "message": str(exc)}]) from None

    # claims and boxes

    def _list_claims(self, request: Request, args: dict[str, str]) -> Result:
        items = self._filtered(
            request, list(self._world.claims.values()), status=lambda c: c.status,
            entityType=lambda c: c.entity_type,
        )  # fmt: skip
        return 200, self._page(request, items, lambda c: claim_json(self._world, c))

    def _get_claim(self, request: Request, args: dict[str, str]) -> Result:
        claim = self._get(self._world.claims, args["id"], "claim")
        return 200, {"data": claim_json(self._world, claim, detail=True)}

    def _list_boxes(self, request: Request, args: dict[str, str]) -> Result:
        items = self._filtered(
            request, list(self._world.boxes.values()), policy=lambda b: b.policy,
            claimId=lambda b: b.claim.id,
        )  # fmt: skip
        return 200, self._page(request, items, lambda b: box_json(self._world, b))

    def _get_box(self, request: Request, args: dict[str, str]) -> Result:
        box = self._get(self._world.boxes, args["id"], "box")
        return 200, {"data": box_json(self._world, box, detail=True)}

    def _create_box(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self._body(request), allowed={"claimId", "policy", "enforcement", "policyConfig"}
        )
        claim_id = fields.string("claimId", required=True, max_length=200)
        policy = fields.string("policy", required=True)
        enforcement = fields.string("enforcement") or "MODERATE"
        if policy is not None and policy not in POLICIES:
            fields.fail("policy", f"must be one of {list(POLICIES)}")
        if enforcement not in ENFORCEMENTS:
            fields.fail("enforcement", f"must be one of {list(ENFORCEMENTS)}")
        raw_config = fields.obj("policyConfig")
        fields.done()
        config = Fields(
            raw_config or {},
            prefix="policyConfig.",
            allowed={"royaltyRate", "revenueTypes", "minimumPayout", "nsfw"},
        )
        rate = config.number("royaltyRate", maximum=1)
        revenue_types = config.strings("revenueTypes", max_items=10)
        minimum_payout = config.integer("minimumPayout", maximum=10**9)
        nsfw = config.boolean("nsfw")
        config.done()
        box = self._transition(
            lambda: self._world.create_box(
                str(claim_id), policy=str(policy), enforcement=enforcement,
                royalty_rate=0.1 if rate is None else rate, revenue_types=revenue_types,
                minimum_payout=100 if minimum_payout is None else minimum_payout,
                nsfw=bool(nsfw),
            )
        )  # fmt: skip
        return 201, {"data": box_json(self._world, box, detail=True)}

    # claims made through the API (pending until verified; no events: there are no claim.* types)

    def _claim_fields(self, fields: Fields) -> tuple[list[str] | None, list[dict[str, Any]] | None]:
        variations = fields.strings("variations", max_items=50)
        raw = fields.body.get("referenceImages")
        images: list[dict[str, Any]] | None = None
        if raw is not None:
            if not isinstance(raw, list) or len(raw) > 20:
                fields.fail("referenceImages", "must be a list of at most 20 {url, isPrimary?}")
            else:
                images = []
                for index, item in enumerate(raw):
                    one = Fields(
                        item, prefix=f"referenceImages[{index}].", allowed={"url", "isPrimary"}
                    )
                    url = one.string("url", required=True)
                    primary = one.boolean("isPrimary")
                    fields.problems.extend(one.problems)
                    images.append({"url": url, "isPrimary": bool(primary)})
        return variations, images

    def _create_claim(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self._body(request),
            allowed={"name", "variations", "entityType", "referenceImages"},
        )
        name = fields.string("name", required=True, max_length=200)
        entity_type = fields.string("entityType") or "INDIVIDUAL"
        if entity_type not in ENTITY_TYPES:
            fields.fail("entityType", f"must be one of {list(ENTITY_TYPES)}")
        variations, images = self._claim_fields(fields)
        fields.done()
        claim = self._transition(
            lambda: self._world.create_claim(
                str(name), variations=variations, entity_type=entity_type,
                reference_images=images,
            )
        )  # fmt: skip
        return 201, {"data": claim_json(self._world, claim, detail=True)}

    def _update_claim(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.claims, args["id"], "claim")
        fields = Fields(self._body(request), allowed={"name", "variations", "referenceImages"})
        name = fields.string("name", max_length=200)
        variations, images = self._claim_fields(fields)
        fields.done()
        claim = self._transition(
            lambda: self._world.update_claim(
                args["id"], name=name, variations=variations, reference_images=images
            )
        )
        return 200, {"data": claim_json(self._world, claim, detail=True)}

    def _delete_claim(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.claims, args["id"], "claim")
        claim = self._transition(lambda: self._world.delete_claim(args["id"]))
        return 200, {"data": {"id": claim.id, "deleted": True}}

    def _world_verify_claim(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.claims, args["id"], "claim")
        fields = Fields(self._body(request, optional=True), allowed={"verificationTier"})
        tier = fields.string("verificationTier") or "GOLD"
        fields.done()
        claim = self._transition(lambda: self._world.verify_claim(args["id"], tier=tier))
        return 200, {"data": claim_json(self._world, claim, detail=True)}

    def _world_reject_claim(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.claims, args["id"], "claim")
        claim = self._transition(lambda: self._world.reject_claim(args["id"]))
        return 200, {"data": claim_json(self._world, claim, detail=True)}

    def _update_box(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.boxes, args["id"], "box")
        fields = Fields(self._body(request), allowed={"policy", "enforcement"})
        policy = fields.string("policy")
        enforcement = fields.string("enforcement")
        fields.done()
        box = self._transition(
            lambda: self._world.update_box(args["id"], policy=policy, enforcement=enforcement)
        )
        return 200, {"data": box_json(self._world, box, detail=True)}

    def _delete_box(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.boxes, args["id"], "box")
        box = self._transition(lambda: self._world.delete_box(args["id"]))
        return 200, {"data": {"id": box.id, "deleted": True}}

    # violations and grace periods

    def _list_violations(self, request: Request, args: dict[str, str]) -> Result:
        items = self._filtered(
            request, list(self._world.violations.values()), status=lambda v: v.status,
            boxId=lambda v: v.box.id, severity=lambda v: v.severity,
        )  # fmt: skip
        return 200, self._page(request, items, lambda v: violation_json(self._world, v))

    def _get_violation(self, request: Request, args: dict[str, str]) -> Result:
        violation = self._get(self._world.violations, args["id"], "violation")
        return 200, {"data": violation_json(self._world, violation, detail=True)}

    def _resolve_violation(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.violations, args["id"], "violation")
        fields = Fields(self._body(request, optional=True), allowed={"resolution"})
        resolution = fields.string("resolution") or "avatar_removed"
        fields.done()
        violation = self._transition(lambda: self._world.resolve_violation(args["id"], resolution))
        return 200, {"data": violation_json(self._world, violation, detail=True)}

    def _appeal_violation(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.violations, args["id"], "violation")
        fields = Fields(self._body(request, optional=True), allowed={"reason"})
        reason = fields.string("reason") or "parody"
        fields.done()
        violation = self._transition(lambda: self._world.appeal(args["id"], reason))
        return 200, {"data": violation_json(self._world, violation, detail=True)}

    def _list_grace_periods(self, request: Request, args: dict[str, str]) -> Result:
        items = self._filtered(
            request, list(self._world.grace_periods.values()), status=lambda g: g.status,
            boxId=lambda g: g.box.id,
        )  # fmt: skip
        within = request.args.get("expiringWithin")
        if within is not None:
            if not re.fullmatch(r"[0-9]{1,5}", within):
                raise validation_error(
                    [{"field": "expiringWithin", "message": "days, a whole number up to 99999"}]
                )
            horizon = self._world.now + timedelta(days=int(within))
            items = [g for g in items if g.status == "active" and g.expires_at <= horizon]
        return 200, self._page(request, items, lambda g: grace_period_json(self._world, g))

    def _get_grace_period(self, request: Request, args: dict[str, str]) -> Result:
        period = self._get(self._world.grace_periods, args["id"], "grace period")
        return 200, {"data": grace_period_json(self._world, period, detail=True)}

    def _resolve_grace_period(self, request: Request, args: dict[str, str]) -> Result:
        period = self._get(self._world.grace_periods, args["id"], "grace period")
        fields = Fields(self._body(request, optional=True), allowed={"resolution"})
        resolution = fields.string("resolution") or "avatar_removed"
        fields.done()
        self._transition(lambda: self._world.resolve_violation(period.violation_id, resolution))
        return 200, {"data": grace_period_json(self._world, period, detail=True)}

    # licenses

    def _list_licenses(self, request: Request, args: dict[str, str]) -> Result:
        items = self._filtered(
            request, list(self._world.licenses.values()), status=lambda lic: lic.status,
            boxId=lambda lic: lic.box.id, tier=lambda lic: lic.tier,
        )  # fmt: skip
        return 200, self._page(request, items, lambda lic: license_json(self._world, lic))

    def _get_license(self, request: Request, args: dict[str, str]) -> Result:
        license_ = self._get(self._world.licenses, args["id"], "license")
        return 200, {"data": license_json(self._world, license_, detail=True)}

    def _cancel_license(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.licenses, args["id"], "license")
        license_ = self._transition(lambda: self._world.cancel_license(args["id"]))
        return 200, {"data": license_json(self._world, license_, detail=True)}

    def _renew_license(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.licenses, args["id"], "license")
        Fields(self._body(request, optional=True), allowed=set()).done()
        license_ = self._transition(lambda: self._world.renew_license(args["id"]))
        return 200, {"data": license_json(self._world, license_, detail=True)}

    def _report_usage(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.licenses, args["id"], "license")
        fields = Fields(
            self._body(request), allowed={"period", "subscribers", "messages", "revenue"}
        )
        period = fields.string("period", max_length=7)
        subscribers = fields.integer("subscribers", maximum=10**12)
        messages = fields.integer("messages", maximum=10**15)
        revenue = fields.number("revenue")
        fields.done()
        report = self._transition(
            lambda: self._world.report_usage(
                args["id"], period=period, subscribers=subscribers or 0,
                messages=messages or 0, revenue=revenue or 0,
            )
        )  # fmt: skip
        return 201, {"data": report}

    def _request_license(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self._body(request),
            allowed={"boxId", "tier", "useCase", "estimatedUsers", "acceptGuidelines", "message"},
        )
        box_id = fields.string("boxId", required=True)
        tier = fields.string("tier", required=True)
        use_case = fields.string("useCase", required=True, max_length=2000)
        users = fields.integer("estimatedUsers", minimum=0, maximum=10**9)
        accepted = fields.boolean("acceptGuidelines", required=True)
        message = fields.string("message", max_length=2000)
        if accepted is False:
            fields.fail("acceptGuidelines", "the content guidelines must be accepted")
        fields.done()
        license_request = self._transition(
            lambda: self._world.request_license(
                str(box_id), tier=str(tier), use_case=str(use_case), estimated_users=users,
                message=message,
            )
        )  # fmt: skip
        return 201, {"data": request_json(self._world, license_request)}

    def _get_license_request(self, request: Request, args: dict[str, str]) -> Result:
        found = self._get(self._world.requests, args["id"], "license request")
        return 200, {"data": request_json(self._world, found)}

    # identity checks

    def _identity_check(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self._body(request), allowed={"name", "imageUrl", "description", "context"})
        name = fields.string("name", required=True, max_length=200)
        fields.string("imageUrl", required=True)
        fields.string("description", max_length=5000)
        fields.string("context", max_length=5000)
        fields.done()
        return 200, self._world.identity_check(str(name))

    def _identity_check_batch(self, request: Request, args: dict[str, str]) -> Result:
        if self.plan == "Basic":
            raise APIError(
                "INSUFFICIENT_TIER",
                details={
                    "feature": "batch_check",
                    "requiredTier": "Standard",
                    "currentTier": "Basic",
                },
            )
        items = self._body(request)
        if not isinstance(items, list) or not items:
            raise validation_error(
                [{"field": "body", "message": "a non-empty JSON array of {id, name, imageUrl}"}]
            )
        if len(items) > MAX_BATCH_CHECKS:
            raise validation_error(
                [{"field": "items", "message": f"at most {MAX_BATCH_CHECKS} per request"}]
            )
        problems: list[dict[str, str]] = []
        checked: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            one = Fields(item, prefix=f"items[{index}].", allowed={"id", "name", "imageUrl"})
            ident = one.string("id", required=True, max_length=200)
            name = one.string("name", required=True, max_length=200)
            image = one.string("imageUrl", required=True)
            problems += one.problems
            checked.append({"id": ident, "name": name, "imageUrl": image})
        if problems:
            raise validation_error(problems)
        return 200, self._world.check_batch(checked)

    # world control

    def _world_box(self, request: Request, args: dict[str, str]) -> Result:
        """A creator claims and boxes an identity in one step (no pending claim)."""
        fields = Fields(
            self._body(request),
            allowed={"identityName", "policy", "enforcement", "entityType", "policyConfig"},
        )
        name = fields.string("identityName", required=True, max_length=200)
        policy = fields.string("policy", required=True)
        enforcement = fields.string("enforcement") or "MODERATE"
        entity_type = fields.string("entityType") or "INDIVIDUAL"
        config = fields.obj("policyConfig") or {}
        rate = config.get("royaltyRate", 0.1)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool):
            fields.fail("policyConfig.royaltyRate", "must be a number")
        fields.done()
        box = self._transition(
            lambda: self._world.box_identity(
                str(name), policy=str(policy), enforcement=enforcement,
                entity_type=entity_type, royalty_rate=float(rate),
            )
        )  # fmt: skip
        return 201, {"data": box_json(self._world, box, detail=True)}

    def _world_avatar(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self._body(request), allowed={"name", "userCount", "creatorId"})
        name = fields.string("name", required=True, max_length=200)
        users = fields.integer("userCount", minimum=0, maximum=10**9)
        creator = fields.string("creatorId", max_length=200)
        fields.done()
        avatar = self._transition(
            lambda: self._world.add_avatar(str(name), creator_id=creator, user_count=users or 1000)
        )
        return 201, {
            "data": {**avatar.brief(), "userCount": avatar.user_count, "status": avatar.status}
        }

    def _world_violation(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self._body(request), allowed={"boxId", "avatarId", "confidence"})
        box_id = fields.string("boxId", required=True)
        avatar_id = fields.string("avatarId")
        confidence = fields.number("confidence", maximum=1)
        fields.done()
        violation = self._transition(
            lambda: self._world.detect_violation(
                str(box_id), avatar_id, confidence=0.95 if confidence is None else confidence
            )
        )
        return 201, {"data": violation_json(self._world, violation, detail=True)}

    def _world_scan(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self._body(request), allowed={"boxId"})
        box_id = fields.string("boxId", required=True)
        fields.done()
        matches = self._transition(lambda: self._world.scan(str(box_id)))
        return 201, {"data": {"matches": [a.brief() for a in matches]}}

    def _world_approve(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.requests, args["id"], "license request")
        fields = Fields(self._body(request, optional=True), allowed={"autoRenew"})
        auto_renew = bool(fields.boolean("autoRenew"))
        fields.done()
        self._transition(lambda: self._world.approve_license(args["id"], auto_renew=auto_renew))
        return 200, {"data": request_json(self._world, self._world.requests[args["id"]])}

    def _world_deny(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.requests, args["id"], "license request")
        fields = Fields(self._body(request, optional=True), allowed={"reason"})
        reason = fields.string("reason") or "content_guidelines"
        fields.done()
        found = self._transition(lambda: self._world.deny_license(args["id"], reason))
        return 200, {"data": request_json(self._world, found)}

    def _world_decide_appeal(self, request: Request, args: dict[str, str]) -> Result:
        self._get(self._world.violations, args["id"], "violation")
        fields = Fields(self._body(request), allowed={"upheld"})
        upheld = fields.boolean("upheld", required=True)
        fields.done()
        violation = self._transition(
            lambda: self._world.decide_appeal(args["id"], upheld=bool(upheld))
        )
        return 200, {"data": violation_json(self._world, violation, detail=True)}

    def _run_scenario(self, request: Request, args: dict[str, str]) -> Result:
        scenario = SCENARIOS.get(args["name"])
        if scenario is None:
            raise APIError(
                "NOT_FOUND",
                f"No scenario {args['name']!r}; known: {', '.join(SCENARIOS)}",
                {"known": list(SCENARIOS)},
            )
        before = len(self.fake.events())
        summary = self._transition(lambda: scenario.run(self._world))
        emitted = [
            {"id": e.id, "type": e.type, "createdAt": _ts(e.created_at)}
            for e in self.fake.events()[before:]
        ]
        return 201, {"data": {"scenario": args["name"], **summary, "events": emitted}}
