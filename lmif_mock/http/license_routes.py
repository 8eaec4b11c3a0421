"""``/v1/lmif/licenses``: requesting, reading, renewing and cancelling licenses, reporting usage,
and the control routes that approve or deny a request."""

from __future__ import annotations

from werkzeug.wrappers import Request

from lmif_mock.http.listing import filtered, page
from lmif_mock.http.resource_json import license_json, request_json
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields

#: The most one usage report may state (the OpenAPI document states them too).
MAX_SUBSCRIBERS = 10**12
MAX_MESSAGES = 10**15
MAX_REVENUE = 1e12


class LicenseRoutes(ResourceRoutes):
    """The license and license request routes (each change emits ``license.*``)."""

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "list_licenses": self.list_licenses,
            "get_license": self.get_license,
            "cancel_license": self.cancel_license,
            "renew_license": self.renew_license,
            "report_usage": self.report_usage,
            "request_license": self.request_license,
            "get_license_request": self.get_license_request,
            "world_approve": self.approve,
            "world_deny": self.deny,
        }

    def list_licenses(self, request: Request, args: dict[str, str]) -> Result:
        items = filtered(
            request, list(self.world.licenses.values()), status=lambda lic: lic.status,
            boxId=lambda lic: lic.box.id, tier=lambda lic: lic.tier,
        )  # fmt: skip
        return 200, page(request, items, lambda lic: license_json(self.world, lic))

    def get_license(self, request: Request, args: dict[str, str]) -> Result:
        license_ = self.find(self.world.licenses, args["id"], "license")
        return 200, {"data": license_json(self.world, license_, detail=True)}

    def cancel_license(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.licenses, args["id"], "license")
        license_ = self.world.cancel_license(args["id"])
        return 200, {"data": license_json(self.world, license_, detail=True)}

    def renew_license(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.licenses, args["id"], "license")
        license_ = self.world.renew_license(args["id"])
        return 200, {"data": license_json(self.world, license_, detail=True)}

    def report_usage(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.licenses, args["id"], "license")
        fields = Fields(
            self.read_body(request), allowed={"period", "subscribers", "messages", "revenue"}
        )
        period = fields.string("period", max_length=7)
        subscribers = fields.integer("subscribers", maximum=MAX_SUBSCRIBERS)
        messages = fields.integer("messages", maximum=MAX_MESSAGES)
        revenue = fields.number("revenue", maximum=MAX_REVENUE)
        fields.done()
        report = self.world.report_usage(
            args["id"], period=period, subscribers=subscribers or 0, messages=messages or 0,
            revenue=revenue or 0,
        )  # fmt: skip
        return 201, {"data": report}

    def request_license(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request),
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
        license_request = self.world.request_license(
            str(box_id), tier=str(tier), use_case=str(use_case), estimated_users=users,
            message=message,
        )  # fmt: skip
        return 201, {"data": request_json(self.world, license_request)}

    def get_license_request(self, request: Request, args: dict[str, str]) -> Result:
        found = self.find(self.world.requests, args["id"], "license request")
        return 200, {"data": request_json(self.world, found)}

    def approve(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.requests, args["id"], "license request")
        fields = Fields(self.read_body(request), allowed={"autoRenew"})
        auto_renew = bool(fields.boolean("autoRenew"))
        fields.done()
        self.world.approve_license(args["id"], auto_renew=auto_renew)
        return 200, {"data": request_json(self.world, self.world.requests[args["id"]])}

    def deny(self, request: Request, args: dict[str, str]) -> Result:
        self.find(self.world.requests, args["id"], "license request")
        fields = Fields(self.read_body(request), allowed={"reason"})
        reason = fields.string("reason") or "content_guidelines"
        fields.done()
        found = self.world.deny_license(args["id"], reason)
        return 200, {"data": request_json(self.world, found)}
