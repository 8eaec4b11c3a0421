"""What the provider's detection sees and answers: identity checks (``/v1/lmif/identity``), and
the control routes that add platform avatars and scan them for a box."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.fake import FakeLMIF
from lmif_mock.http.errors import APIError, validation_error
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.resource_routes import ResourceRoutes
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.world import MAX_BATCH_CHECKS

#: The most users an avatar may claim to have (the OpenAPI document states it too).
MAX_USER_COUNT = 10**9


class DetectionRoutes(ResourceRoutes):
    """Identity checks (batch checks need the Standard ``plan`` or above), avatars and scans."""

    def __init__(self, fake: FakeLMIF, read_body: BodyReader, plan: str) -> None:
        super().__init__(fake, read_body)
        self.plan = plan

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {
            "identity_check": self.identity_check,
            "identity_check_batch": self.identity_check_batch,
            "world_avatar": self.add_avatar,
            "world_scan": self.scan,
        }

    def identity_check(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(
            self.read_body(request), allowed={"name", "imageUrl", "description", "context"}
        )
        name = fields.string("name", required=True, max_length=200)
        fields.string("imageUrl", required=True)
        fields.string("description", max_length=5000)
        fields.string("context", max_length=5000)
        fields.done()
        return 200, self.world.identity_check(str(name))

    def identity_check_batch(self, request: Request, args: dict[str, str]) -> Result:
        if self.plan == "Basic":
            raise APIError(
                "INSUFFICIENT_TIER",
                details={
                    "feature": "batch_check",
                    "requiredTier": "Standard",
                    "currentTier": "Basic",
                },
            )
        items = self.read_body(request)
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
        return 200, self.world.check_batch(checked)

    def add_avatar(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"name", "userCount", "creatorId"})
        name = fields.string("name", required=True, max_length=200)
        users = fields.integer("userCount", minimum=0, maximum=MAX_USER_COUNT)
        creator = fields.string("creatorId", max_length=200)
        fields.done()
        avatar = self.world.add_avatar(str(name), creator_id=creator, user_count=users or 1000)
        return 201, {
            "data": {**avatar.brief(), "userCount": avatar.user_count, "status": avatar.status}
        }

    def scan(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"boxId"})
        box_id = fields.string("boxId", required=True)
        fields.done()
        matches = self.world.scan(str(box_id))
        return 201, {"data": {"matches": [a.brief() for a in matches]}}
