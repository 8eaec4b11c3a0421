"""``/v1/lmif/boxes`` and the control route that claims and boxes an identity in one step."""

from __future__ import annotations

from werkzeug.wrappers import Request

from lmif_mock.http.listing import filtered, page
from lmif_mock.http.resource_json import box_json
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.payloads import ENFORCEMENTS, POLICIES


class BoxRoutes(ResourceRoutes):
    """The box routes (creating, changing and removing a box emits ``box.*``)."""

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_boxes": self.list_boxes,
            "get_box": self.get_box,
            "create_box": self.create_box,
            "update_box": self.update_box,
            "delete_box": self.delete_box,
            "world_box": self.box_identity,
        }

    def list_boxes(self, request: Request, args: dict[str, str]) -> Result:
        items = filtered(
            request, list(self.world.boxes.values()), policy=lambda b: b.policy,
            claimId=lambda b: b.claim.id,
        )  # fmt: skip
        return 200, page(request, items, lambda b: box_json(self.world, b))

    def get_box(self, request: Request, args: dict[str, str]) -> Result:
        box = self.find(self.world.boxes, args["id"], "box")
        return 200, {"data": box_json(self.world, box, detail=True)}

    def create_box(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request), allowed={"claimId", "policy", "enforcement", "policyConfig"}
        )
        claim_id = fields.string("claimId", required=True, max_length=200)
        policy = fields.string("policy", required=True)
        enforcement = fields.string("enforcement") or "MODERATE"
        if policy is not None and policy not in POLICIES:
            fields.fail("policy", f"must be one of {list(POLICIES)}")
        if enforcement not in ENFORCEMENTS:
            fields.fail("enforcement", f"must be one of {list(ENFORCEMENTS)}")
        config = fields.nested(
            "policyConfig", allowed={"royaltyRate", "revenueTypes", "minimumPayout", "nsfw"}
        )
        rate = config.number("royaltyRate", maximum=1)
        revenue_types = config.strings("revenueTypes", max_items=10)
        minimum_payout = config.integer("minimumPayout", maximum=10**9)
        nsfw = config.boolean("nsfw")
        fields.done()
        box = self.world.create_box(
            str(claim_id), policy=str(policy), enforcement=enforcement,
            royalty_rate=0.1 if rate is None else rate, revenue_types=revenue_types,
            minimum_payout=100 if minimum_payout is None else minimum_payout, nsfw=bool(nsfw),
        )  # fmt: skip
        return 201, {"data": box_json(self.world, box, detail=True)}

    def update_box(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.boxes, args["id"], "box")
        fields = Fields(self.read_body(request), allowed={"policy", "enforcement"})
        policy = fields.string("policy")
        enforcement = fields.string("enforcement")
        fields.done()
        box = self.world.update_box(args["id"], policy=policy, enforcement=enforcement)
        return 200, {"data": box_json(self.world, box, detail=True)}

    def delete_box(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.boxes, args["id"], "box")
        box = self.world.delete_box(args["id"])
        return 200, {"data": {"id": box.id, "deleted": True}}

    def box_identity(self, request: Request, args: dict[str, str]) -> Result:
        """A creator claims and boxes an identity in one step (no pending claim)."""
        fields = Fields(
            self.read_body(request),
            allowed={"identityName", "policy", "enforcement", "entityType", "policyConfig"},
        )
        name = fields.string("identityName", required=True, max_length=200)
        policy = fields.string("policy", required=True)
        enforcement = fields.string("enforcement") or "MODERATE"
        entity_type = fields.string("entityType") or "INDIVIDUAL"
        config = fields.nested("policyConfig", allowed={"royaltyRate"})
        rate = config.number("royaltyRate", maximum=1)
        fields.done()
        box = self.world.box_identity(
            str(name), policy=str(policy), enforcement=enforcement, entity_type=entity_type,
            royalty_rate=0.1 if rate is None else rate,
        )  # fmt: skip
        return 201, {"data": box_json(self.world, box, detail=True)}
