"""Detection: the platform's avatars, the scans that match them against boxed identities
(``detection.match_found``, ``detection.scan_complete``) and the identity check.
"""

from __future__ import annotations

from typing import Any

from lmif_mock.errors import NotFoundError
from lmif_mock.payloads import ACTION_FOR_POLICY
from lmif_mock.world.boxes import ClaimsAndBoxes
from lmif_mock.world.resources import Avatar, Box, timestamp
from lmif_mock.world.rules import GUIDELINES_URL, MAX_BATCH_CHECKS, WorldError, count, text


class Detection(ClaimsAndBoxes):
    """Avatars, scans and identity checks."""

    def add_avatar(
        self, name: str, *, creator_id: str | None = None, user_count: int = 1000
    ) -> Avatar:
        """An avatar on the platform (what scans look at and violations name)."""
        text("avatar name", name)
        if creator_id is not None:
            text("creatorId", creator_id)
        count("userCount", user_count)
        rng = self.rng
        creator = f"{name.split()[0]} Creator"
        avatar = Avatar(
            self._id("avatar"), name, creator_id or self._id("creator"), creator,
            f"creator{rng.randrange(10_000)}@example.com", user_count, self.now,
        )  # fmt: skip
        with self._transition():
            self.avatars[avatar.id] = avatar
        return avatar

    def _matches(self, box: Box) -> list[Avatar]:
        names = [n.casefold() for n in (box.identity_name, *box.claim.variations)]
        first = box.identity_name.split()[0].casefold()
        return [
            a
            for a in self.avatars.values()
            if a.status == "active"
            and (any(n in a.name.casefold() for n in names) or first in a.name.casefold().split())
        ]

    def scan(self, box_id: str, *, trigger: str = "manual") -> list[Avatar]:
        """Scan the platform's avatars for one box: ``detection.match_found`` per match, then
        ``detection.scan_complete``. Matching is by name (the identity or its variations)."""
        with self._transition():
            box = self._active_box(box_id)
            started = self.now
            scan_id = self._id("scan")
            matches = self._matches(box)
            for avatar in matches:
                self._emit(
                    "detection.match_found",
                    {
                        "scanId": scan_id,
                        "boxId": box.id,
                        "identityName": box.identity_name,
                        "policy": box.policy,
                        "avatar": avatar.brief(),
                        "detection": {
                            "confidence": 0.95,
                            "layer": 1,
                            "classification": "EXACT_MATCH",
                            "parodyLikelihood": 0.02,
                        },
                        "action": ACTION_FOR_POLICY[box.policy],
                    },
                )
            self._emit(
                "detection.scan_complete",
                {
                    "scanId": scan_id,
                    "boxId": box.id,
                    "trigger": trigger,
                    "startedAt": timestamp(started),
                    "completedAt": timestamp(self.now),
                    "avatarsScanned": len(self.avatars),
                    "matchesFound": len(matches),
                },
            )
            return matches

    def identity_check(self, name: str) -> dict[str, Any]:
        """What ``POST /identity/check`` answers for ``name`` (matched by name and variations)."""
        try:
            box = self.box_named(name)
        except NotFoundError:
            claim = next(
                (
                    c
                    for c in self.claims.values()
                    if c.status == "verified" and c.name.casefold() == name.casefold()
                ),
                None,
            )
            return {
                "isBoxed": False,
                "isClaimed": claim is not None,
                "confidence": 0.0 if claim is None else 0.99,
                "matchedIdentity": None,
                "policy": None,
                "policyDetails": None,
                "detection": {"layer": 1, "classification": None, "parodyLikelihood": 0.0},
                "action": "ALLOW",
            }
        exact = box.identity_name.casefold() == name.strip().casefold()
        return {
            "isBoxed": True,
            "isClaimed": True,
            "confidence": 0.99 if exact else 0.9,
            "matchedIdentity": {
                "claimId": box.claim.id,
                "boxId": box.id,
                "name": box.identity_name,
                "variations": box.claim.variations,
                "entityType": box.claim.entity_type,
                "verificationTier": box.claim.verification_tier,
            },
            "policy": box.policy,
            "policyDetails": {
                "royaltyRate": box.royalty_rate,
                "revenueTypes": box.revenue_types,
                "contentGuidelines": GUIDELINES_URL.format(box_id=box.id),
            },
            "detection": {
                "layer": 1 if exact else 2,
                "classification": "EXACT_MATCH",
                "parodyLikelihood": 0.02,
            },
            "action": ACTION_FOR_POLICY[box.policy],
        }

    def check_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``identity.checkBatch``: each ``{id, name, imageUrl}`` checked, answered with its id."""
        if len(items) > MAX_BATCH_CHECKS:
            raise WorldError(f"at most {MAX_BATCH_CHECKS} identities per batch")
        return [{"id": item["id"], **self.identity_check(str(item["name"]))} for item in items]
