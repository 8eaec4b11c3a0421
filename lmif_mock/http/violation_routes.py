"""``/v1/lmif/violations`` and ``/v1/lmif/grace-periods``, and the control routes that detect a
violation and decide an appeal."""

from __future__ import annotations

from datetime import timedelta

from werkzeug.wrappers import Request

from lmif_mock.http.errors import validation_error
from lmif_mock.http.listing import filtered, page
from lmif_mock.http.query_parameters import MAX_EXPIRING_WITHIN
from lmif_mock.http.resource_json import grace_period_json, violation_json
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.json_integers import whole_number_text


class ViolationRoutes(ResourceRoutes):
    """The violation and grace period routes (each change emits ``violation.*`` or
    ``grace_period.*``)."""

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_violations": self.list_violations,
            "get_violation": self.get_violation,
            "resolve_violation": self.resolve_violation,
            "appeal_violation": self.appeal_violation,
            "list_grace_periods": self.list_grace_periods,
            "get_grace_period": self.get_grace_period,
            "resolve_grace_period": self.resolve_grace_period,
            "world_violation": self.detect_violation,
            "world_decide_appeal": self.decide_appeal,
        }

    def list_violations(self, request: Request, args: dict[str, str]) -> Result:
        items = filtered(
            request, list(self.world.violations.values()), status=lambda v: v.status,
            boxId=lambda v: v.box.id, severity=lambda v: v.severity,
        )  # fmt: skip
        return 200, page(request, items, lambda v: violation_json(self.world, v))

    def get_violation(self, request: Request, args: dict[str, str]) -> Result:
        violation = self.find(self.world.violations, args["id"], "violation")
        return 200, {"data": violation_json(self.world, violation, detail=True)}

    def resolve_violation(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.violations, args["id"], "violation")
        fields = Fields(self.read_body(request), allowed={"resolution"})
        resolution = fields.string("resolution") or "avatar_removed"
        fields.done()
        violation = self.world.resolve_violation(args["id"], resolution)
        return 200, {"data": violation_json(self.world, violation, detail=True)}

    def appeal_violation(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.violations, args["id"], "violation")
        fields = Fields(self.read_body(request), allowed={"reason"})
        reason = fields.string("reason") or "parody"
        fields.done()
        violation = self.world.appeal(args["id"], reason)
        return 200, {"data": violation_json(self.world, violation, detail=True)}

    def list_grace_periods(self, request: Request, args: dict[str, str]) -> Result:
        items = filtered(
            request, list(self.world.grace_periods.values()), status=lambda g: g.status,
            boxId=lambda g: g.box.id,
        )  # fmt: skip
        within_text = request.args.get("expiringWithin")
        if within_text is not None:
            within = whole_number_text(within_text)
            if within is None or not 0 <= within <= MAX_EXPIRING_WITHIN:
                problem = f"days, a whole number from 0 to {MAX_EXPIRING_WITHIN}"
                raise validation_error([{"field": "expiringWithin", "message": problem}])
            horizon = self.world.now + timedelta(days=within)
            items = [g for g in items if g.status == "active" and g.expires_at <= horizon]
        return 200, page(request, items, lambda g: grace_period_json(self.world, g))

    def get_grace_period(self, request: Request, args: dict[str, str]) -> Result:
        period = self.find(self.world.grace_periods, args["id"], "grace period")
        return 200, {"data": grace_period_json(self.world, period, detail=True)}

    def resolve_grace_period(self, request: Request, args: dict[str, str]) -> Result:
        period = self.find(self.world.grace_periods, args["id"], "grace period")
        fields = Fields(self.read_body(request), allowed={"resolution"})
        resolution = fields.string("resolution") or "avatar_removed"
        fields.done()
        self.world.resolve_violation(period.violation_id, resolution)
        return 200, {"data": grace_period_json(self.world, period, detail=True)}

    def detect_violation(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"boxId", "avatarId", "confidence"})
        box_id = fields.string("boxId", required=True)
        avatar_id = fields.string("avatarId")
        confidence = fields.number("confidence", maximum=1)
        fields.done()
        violation = self.world.detect_violation(
            str(box_id), avatar_id, confidence=0.95 if confidence is None else confidence
        )
        return 201, {"data": violation_json(self.world, violation, detail=True)}

    def decide_appeal(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.violations, args["id"], "violation")
        fields = Fields(self.read_body(request), allowed={"upheld"})
        upheld = fields.boolean("upheld", required=True)
        fields.done()
        violation = self.world.decide_appeal(args["id"], upheld=bool(upheld))
        return 200, {"data": violation_json(self.world, violation, detail=True)}
