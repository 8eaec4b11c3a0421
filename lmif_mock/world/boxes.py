"""Claims and boxes: an identity is claimed, verified and boxed; a box's policy changes; it is
deleted. ``box.created``, ``box.updated`` and ``box.deleted`` come from here.
"""

from __future__ import annotations

from typing import Any

from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.event_shapes import ENFORCEMENTS, ENTITY_TYPES, POLICIES, REVENUE_TYPES
from lmif_mock.world.core import WorldCore
from lmif_mock.world.resources import Box, Claim
from lmif_mock.world.rules import (
    SANDBOX_IDENTITIES,
    VERIFICATION_TIERS,
    WorldError,
    choice,
    fraction,
    text,
    variations,
)


class ClaimsAndBoxes(WorldCore):
    """The claim and box transitions."""

    def reset(self) -> None:
        """Forget everything but the sandbox identities (timers go with the clock's reset)."""
        with self._lock:
            super().reset()
            for name, policy, enforcement, entity_type, rate in SANDBOX_IDENTITIES:
                self._new_box(name, policy, enforcement, entity_type, rate, emit=False)

    def _new_box(
        self,
        name: str,
        policy: str,
        enforcement: str,
        entity_type: str,
        royalty_rate: float,
        *,
        emit: bool,
        revenue_types: list[str] | None = None,
    ) -> Box:
        now = self.now
        claim = Claim(self._id("claim"), name, entity_type, variations(name), now)
        box = Box(
            self._id("box"), claim, policy, enforcement, royalty_rate,
            list(revenue_types or REVENUE_TYPES), now, now,
        )  # fmt: skip
        claim.box_id = box.id
        self.claims[claim.id] = claim
        self.boxes[box.id] = box
        if emit:
            self._announce(box)
        return box

    def _announce(self, box: Box) -> None:
        """``box.created`` for a box just made, whichever way it was made."""
        self._emit(
            "box.created",
            {
                "boxId": box.id,
                "claimId": box.claim.id,
                "identityName": box.identity_name,
                "entityType": box.claim.entity_type,
                "policy": box.policy,
                "enforcement": box.enforcement,
                "policyConfig": {
                    "royaltyRate": box.royalty_rate,
                    "revenueTypes": box.revenue_types,
                },
            },
        )

    def box_identity(
        self,
        name: str,
        *,
        policy: str = "MONETIZE",
        enforcement: str = "MODERATE",
        entity_type: str = "INDIVIDUAL",
        royalty_rate: float = 0.1,
        revenue_types: list[str] | None = None,
    ) -> Box:
        """A creator boxes an identity: a claim and a box appear, ``box.created`` is sent."""
        choice("policy", policy, POLICIES)
        choice("enforcement", enforcement, ENFORCEMENTS)
        choice("entityType", entity_type, ENTITY_TYPES)
        fraction("royaltyRate", royalty_rate)
        text("identity name", name)
        if revenue_types is not None and not isinstance(revenue_types, (list, tuple)):
            raise WorldError(f"revenueTypes must be a list of {list(REVENUE_TYPES)}")
        for kind in revenue_types or []:
            choice("revenueTypes", kind, REVENUE_TYPES)
        with self._transition():
            try:
                self.box_named(name)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"{name!r} is already boxed")
            return self._new_box(
                name, policy, enforcement, entity_type, royalty_rate, emit=True,
                revenue_types=revenue_types,
            )  # fmt: skip

    def update_box(
        self, box_id: str, *, policy: str | None = None, enforcement: str | None = None
    ) -> Box:
        """Change a box's policy or enforcement; ``box.updated`` lists only what changed."""
        with self._transition():
            box = self._active_box(box_id)
            changes: dict[str, Any] = {}
            if policy is not None and policy != box.policy:
                choice("policy", policy, POLICIES)
                changes["policy"] = {"from": box.policy, "to": policy}
                box.policy = policy
            if enforcement is not None and enforcement != box.enforcement:
                choice("enforcement", enforcement, ENFORCEMENTS)
                changes["enforcement"] = {"from": box.enforcement, "to": enforcement}
                box.enforcement = enforcement
            if not changes:
                return box  # nothing changed, nothing to tell
            box.updated_at = self.now
            self._emit("box.updated", {"boxId": box.id, "changes": changes})
            return box

    def delete_box(self, box_id: str) -> Box:
        """Remove a box: the identity is no longer protected (licenses stay valid)."""
        with self._transition():
            box = self._active_box(box_id)
            box.status = "deleted"
            box.updated_at = self.now
            box.claim.box_id = None
            self._emit(
                "box.deleted",
                {"boxId": box.id, "claimId": box.claim.id, "identityName": box.identity_name},
            )
            return box

    def create_claim(
        self,
        name: str,
        *,
        variations: list[str] | None = None,
        entity_type: str = "INDIVIDUAL",
        reference_images: list[dict[str, Any]] | None = None,
    ) -> Claim:
        """A claim as ``POST /claims`` makes it: ``pending`` until :meth:`verify_claim`."""
        if not name.strip():
            raise WorldError("name must not be empty")
        choice("entityType", entity_type, ENTITY_TYPES)
        with self._transition():
            claim = Claim(
                self._id("claim"), name.strip(), entity_type, list(variations or []), self.now,
                verification_tier=None, status="pending",
            )  # fmt: skip
            claim.reference_images = self._images(reference_images or [])
            self.claims[claim.id] = claim
            return claim

    def _images(self, images: list[dict[str, Any]]) -> list[dict[str, Any]]:
        shown = [
            {"id": self._id("image"), "url": str(i["url"]), "isPrimary": bool(i.get("isPrimary"))}
            for i in images
        ]
        if shown and not any(i["isPrimary"] for i in shown):
            shown[0]["isPrimary"] = True  # designed: the first image is primary unless one is
        return shown

    def claim(self, claim_id: str) -> Claim:
        """The claim with ``claim_id``."""
        return self._find(self.claims, claim_id, "claim")  # type: ignore[no-any-return]

    def verify_claim(self, claim_id: str, *, tier: str = "GOLD") -> Claim:
        """LMIF finishes verifying a pending claim: ``verified``, with a verification tier."""
        choice("verificationTier", tier, VERIFICATION_TIERS)
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "pending":
                raise ConflictError(f"claim {claim_id} is {claim.status}, not pending")
            claim.status = "verified"
            claim.verification_tier = tier
            claim.verified_at = self.now
            return claim

    def reject_claim(self, claim_id: str) -> Claim:
        """LMIF turns a pending claim down: ``rejected`` (it can never be boxed)."""
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "pending":
                raise ConflictError(f"claim {claim_id} is {claim.status}, not pending")
            claim.status = "rejected"
            return claim

    def update_claim(
        self,
        claim_id: str,
        *,
        name: str | None = None,
        variations: list[str] | None = None,
        reference_images: list[dict[str, Any]] | None = None,
    ) -> Claim:
        """Change a claim. The name can change only while pending (what was verified stays)."""
        with self._transition():
            claim = self.claim(claim_id)
            if name is not None and name.strip() != claim.name:
                if not name.strip():
                    raise WorldError("name must not be empty")
                if claim.status != "pending":
                    raise ConflictError(f"claim {claim_id} is {claim.status}: its name is fixed")
                claim.name = name.strip()
            if variations is not None:
                claim.variations = list(variations)
            if reference_images is not None:
                claim.reference_images = self._images(reference_images)
            return claim

    def delete_claim(self, claim_id: str) -> Claim:
        """Withdraw a claim; refused while an active box stands on it."""
        with self._transition():
            claim = self.claim(claim_id)
            if claim.box_id is not None:
                raise ConflictError(
                    f"claim {claim_id} has box {claim.box_id}; delete the box first"
                )
            del self.claims[claim_id]
            return claim

    def create_box(
        self,
        claim_id: str,
        *,
        policy: str,
        enforcement: str = "MODERATE",
        royalty_rate: float = 0.1,
        revenue_types: list[str] | None = None,
        minimum_payout: int = 100,
        nsfw: bool = False,
    ) -> Box:
        """Box a verified claim (``POST /boxes``): ``box.created``."""
        choice("policy", policy, POLICIES)
        choice("enforcement", enforcement, ENFORCEMENTS)
        if not 0 <= royalty_rate <= 1:
            raise WorldError("royaltyRate must be between 0 and 1")
        for kind in revenue_types or []:
            choice("revenueTypes", kind, REVENUE_TYPES)
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "verified":
                raise ConflictError(f"claim {claim_id} is {claim.status}; only a verified claim")
            if claim.box_id is not None:
                raise ConflictError(f"claim {claim_id} is already boxed ({claim.box_id})")
            try:
                taken = self.box_named(claim.name)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"{claim.name!r} is already boxed ({taken.id})")
            now = self.now
            box = Box(
                self._id("box"), claim, policy, enforcement, royalty_rate,
                list(revenue_types or REVENUE_TYPES), now, now,
                minimum_payout=minimum_payout, nsfw=nsfw,
            )  # fmt: skip
            claim.box_id = box.id
            self.boxes[box.id] = box
            self._announce(box)
            return box

    def remove_sandbox_identities(self) -> None:
        """Take the sandbox's test identities away (the live environment has none)."""
        names = {entry[0] for entry in SANDBOX_IDENTITIES}
        with self._transition():
            for box in [b for b in self.boxes.values() if b.identity_name in names]:
                del self.boxes[box.id]
                self.claims.pop(box.claim.id, None)
