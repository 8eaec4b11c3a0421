"""``/v1/lmif/claims`` and the control routes that verify or reject one.

Claims made through the API stay pending until verified; they emit no events (the provider has
no ``claim.*`` types).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.http.listing import filtered, page
from lmif_mock.http.resource_json import claim_json
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.payloads import ENTITY_TYPES


def _claim_fields(fields: Fields) -> tuple[list[str] | None, list[dict[str, Any]] | None]:
    """The variations and reference images a claim is created or updated with."""
    variations = fields.strings("variations", max_items=50)
    if variations is not None and not all(variations):
        fields.fail("variations", "must not hold an empty string")
        variations = None
    raw = fields.given("referenceImages")
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


class ClaimRoutes(ResourceRoutes):
    """The claim routes."""

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_claims": self.list_claims,
            "get_claim": self.get_claim,
            "create_claim": self.create_claim,
            "update_claim": self.update_claim,
            "delete_claim": self.delete_claim,
            "world_verify_claim": self.verify_claim,
            "world_reject_claim": self.reject_claim,
        }

    def list_claims(self, request: Request, args: dict[str, str]) -> Result:
        items = filtered(
            request, list(self.world.claims.values()), status=lambda c: c.status,
            entityType=lambda c: c.entity_type,
        )  # fmt: skip
        return 200, page(request, items, lambda c: claim_json(self.world, c))

    def get_claim(self, request: Request, args: dict[str, str]) -> Result:
        claim = self.find(self.world.claims, args["id"], "claim")
        return 200, {"data": claim_json(self.world, claim, detail=True)}

    def create_claim(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request),
            allowed={"name", "variations", "entityType", "referenceImages"},
        )
        name = fields.string("name", required=True, max_length=200)
        entity_type = fields.string("entityType") or "INDIVIDUAL"
        if entity_type not in ENTITY_TYPES:
            fields.fail("entityType", f"must be one of {list(ENTITY_TYPES)}")
        variations, images = _claim_fields(fields)
        fields.done()
        claim = self.world.create_claim(
            str(name), variations=variations, entity_type=entity_type, reference_images=images
        )
        return 201, {"data": claim_json(self.world, claim, detail=True)}

    def update_claim(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.claims, args["id"], "claim")
        fields = Fields(self.read_body(request), allowed={"name", "variations", "referenceImages"})
        name = fields.string("name", max_length=200)
        variations, images = _claim_fields(fields)
        fields.done()
        claim = self.world.update_claim(
            args["id"], name=name, variations=variations, reference_images=images
        )
        return 200, {"data": claim_json(self.world, claim, detail=True)}

    def delete_claim(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.claims, args["id"], "claim")
        claim = self.world.delete_claim(args["id"])
        return 200, {"data": {"id": claim.id, "deleted": True}}

    def verify_claim(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.claims, args["id"], "claim")
        fields = Fields(self.read_body(request), allowed={"verificationTier"})
        tier = fields.string("verificationTier") or "GOLD"
        fields.done()
        claim = self.world.verify_claim(args["id"], tier=tier)
        return 200, {"data": claim_json(self.world, claim, detail=True)}

    def reject_claim(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.claims, args["id"], "claim")
        claim = self.world.reject_claim(args["id"])
        return 200, {"data": claim_json(self.world, claim, detail=True)}
