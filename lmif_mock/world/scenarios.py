"""Named stories a receiver should survive, each a sequence of world transitions on the clock.

Run one from Python (``SCENARIOS["grace-period-expires"].run(server.world)``), over HTTP
(``POST /_mock/scenarios/{name}``) or from the shell (``python -m lmif_mock scenario NAME``).
They advance the fake's clock themselves: instantly on a virtual clock, as a jump on a real one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lmif_mock.world.model import World


@dataclass(frozen=True)
class Scenario:
    """A story with a one-line description; ``run`` returns the ids it created."""

    name: str
    description: str
    steps: Callable[[World], dict[str, Any]]

    def run(self, world: World) -> dict[str, Any]:
        """Play the story on ``world`` and say what it made."""
        return self.steps(world)


def _violation(world: World, policy: str) -> tuple[Any, Any]:
    box = world.box_identity(f"Scenario Star {world.new_id('box')[-4:]}", policy=policy)
    avatar = world.add_avatar(f"{box.identity_name.split()[0]} AI")
    return box, world.detect_violation(box.id, avatar.id)


def _expires(world: World) -> dict[str, Any]:
    box, violation = _violation(world, "LICENSE")
    world.clock.advance(timedelta(days=30))
    return {
        "boxId": box.id,
        "violationId": violation.id,
        "gracePeriodId": violation.grace_period.id,
    }


def _licensed_in_time(world: World) -> dict[str, Any]:
    box, violation = _violation(world, "LICENSE")
    world.clock.advance(timedelta(days=10))
    request = world.request_license(box.id, tier="creator", use_case="AI companion chat")
    world.clock.advance(timedelta(days=2))
    license_ = world.approve_license(request.id)
    world.clock.advance(timedelta(days=30))
    return {
        "boxId": box.id,
        "violationId": violation.id,
        "gracePeriodId": violation.grace_period.id,
        "requestId": request.id,
        "licenseId": license_.id,
    }


def _appeal(upheld: bool) -> Callable[[World], dict[str, Any]]:
    def steps(world: World) -> dict[str, Any]:
        box, violation = _violation(world, "BLOCK_COMMERCIAL")
        world.clock.advance(timedelta(days=3))
        world.appeal(violation.id, "parody")
        world.clock.advance(timedelta(days=5))
        world.decide_appeal(violation.id, upheld=upheld)
        world.clock.advance(timedelta(days=30))
        return {
            "boxId": box.id,
            "violationId": violation.id,
            "gracePeriodId": violation.grace_period.id,
        }

    return steps


def _policy_tightened(world: World) -> dict[str, Any]:
    box = world.box_identity("Scenario Policy Star", policy="MONETIZE")
    world.clock.advance(timedelta(days=1))
    world.update_box(box.id, policy="BLOCK_ALL", enforcement="STRICT")
    world.clock.advance(timedelta(days=1))
    world.delete_box(box.id)
    return {"boxId": box.id}


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "grace-period-expires",
            "a violation nobody resolves: started, reminders on days 7, 21, 28, ending, expired",
            _expires,
        ),
        Scenario(
            "licensed-in-time",
            "a violation resolved by a license approved on day 12: no reminder after, no expiry",
            _licensed_in_time,
        ),
        Scenario(
            "appeal-upheld",
            "an appeal on day 3 pauses the grace period; upheld on day 8: dismissed, resolved",
            _appeal(True),
        ),
        Scenario(
            "appeal-rejected",
            "an appeal on day 3, rejected on day 8: the grace period resumes and expires on day 35",
            _appeal(False),
        ),
        Scenario(
            "policy-tightened",
            "a box goes from MONETIZE to BLOCK_ALL/STRICT, then is deleted",
            _policy_tightened,
        ),
    )
}
