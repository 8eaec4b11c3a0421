"""World lifecycles on a virtual clock: the exact events, in order, at their times, with ids that
agree with each other and with the resources the API serves."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest

from lmif_mock import FakeLMIF
from lmif_mock.clock import DEFAULT_START
from lmif_mock.errors import ConflictError, NotFoundError
from lmif_mock.schemas import DATA, event_schema
from lmif_mock.world import WorldError
from lmif_mock.world.scenarios import SCENARIOS
from tests.receivers import Recorder
from tests.test_payloads import _keys_match_schema

T0 = DEFAULT_START


@pytest.fixture
def fake() -> FakeLMIF:
    return FakeLMIF(seed=0)


@pytest.fixture
def received(fake: FakeLMIF) -> list[dict[str, Any]]:
    recorder = Recorder()
    fake.webhooks.create(recorder, ["*"])

    class Envelopes(list[dict[str, Any]]):
        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([json.loads(b) for b in recorder.bodies])

        def __len__(self) -> int:
            return len(recorder.bodies)

    return Envelopes()


def timeline(envelopes: Any) -> list[tuple[str, timedelta]]:
    from lmif_mock.timestamps import parse_timestamp

    return [(e["type"], parse_timestamp(e["createdAt"]) - T0) for e in envelopes]


def valid(envelopes: Any) -> None:
    for envelope in envelopes:
        jsonschema.validate(envelope, event_schema(envelope["type"]))
        _keys_match_schema(envelope["data"], DATA[envelope["type"]], envelope["type"])


def test_sandbox_identities_exist_in_a_fresh_fake(fake: FakeLMIF) -> None:
    policies = {b.identity_name: b.policy for b in fake.world.boxes.values()}
    assert policies == {
        "Test Celebrity A": "BLOCK_ALL",
        "Test Celebrity B": "MONETIZE",
        "Test Celebrity C": "LICENSE",
        "Test Celebrity D": "OPEN",
        "Test Corporation": "BLOCK_COMMERCIAL",
    }
    assert fake.events() == []  # they exist without having been announced
    assert fake.world.identity_check("test celebrity b")["action"] == "TRACK_REVENUE"


def test_grace_period_that_expires(fake: FakeLMIF, received: Any) -> None:
    box = fake.world.box_identity("Ada Lovelace", policy="LICENSE")
    avatar = fake.world.add_avatar("Ada Bot")
    violation = fake.world.detect_violation(box.id, avatar.id)
    period = violation.grace_period
    assert period is not None
    fake.clock.advance(days=40)
    assert timeline(received) == [
        ("box.created", timedelta(0)),
        ("violation.detected", timedelta(0)),
        ("grace_period.started", timedelta(0)),
        ("grace_period.reminder", timedelta(days=7)),
        ("grace_period.reminder", timedelta(days=21)),
        ("grace_period.reminder", timedelta(days=28)),
        ("grace_period.ending", timedelta(days=28)),
        ("grace_period.expired", timedelta(days=30)),
    ]
    valid(received)
    envelopes = list(received)
    detected, started = envelopes[1]["data"], envelopes[2]["data"]
    assert detected["violationId"] == violation.id == started["violationId"]
    assert detected["gracePeriod"] == {"id": period.id, "expiresAt": "2024-02-14T10:00:00Z"}
    assert started["gracePeriodId"] == period.id
    assert started["boxId"] == box.id
    assert started["affectedAvatars"] == [
        {"id": avatar.id, "name": "Ada Bot", "creatorId": avatar.creator_id}
    ]
    assert [e["data"]["day"] for e in envelopes[3:6]] == [7, 21, 28]
    assert [e["data"]["daysRemaining"] for e in envelopes[3:7]] == [23, 9, 2, 2]
    assert {e["data"]["gracePeriodId"] for e in envelopes[3:]} == {period.id}
    assert envelopes[-1]["data"]["expiredAt"] == "2024-02-14T10:00:00Z"
    assert (period.status, violation.status, avatar.status) == (
        "expired",
        "enforced",
        "deactivated",
    )


def test_licensed_in_time_stops_the_clock_on_the_grace_period(
    fake: FakeLMIF, received: Any
) -> None:
    box = fake.world.box_identity("Grace Hopper", policy="LICENSE", royalty_rate=0.2)
    violation = fake.world.detect_violation(box.id)
    fake.clock.advance(days=10)
    request = fake.world.request_license(
        box.id, tier="commercial", use_case="tutor bot", estimated_users=900
    )
    assert request.status == "pending"  # LICENSE policy: explicit approval
    fake.clock.advance(days=2)
    license_ = fake.world.approve_license(request.id)
    fake.clock.advance(days=60)
    assert timeline(received) == [
        ("box.created", timedelta(0)),
        ("violation.detected", timedelta(0)),
        ("grace_period.started", timedelta(0)),
        ("grace_period.reminder", timedelta(days=7)),
        ("license.requested", timedelta(days=10)),
        ("license.approved", timedelta(days=12)),
        ("violation.resolved", timedelta(days=12)),
        ("grace_period.resolved", timedelta(days=12)),
    ]
    valid(received)
    approved = list(received)[5]["data"]
    assert (approved["requestId"], approved["licenseId"], approved["boxId"]) == (
        request.id,
        license_.id,
        box.id,
    )
    assert approved["monthlyFee"] == 500
    assert approved["royaltyRate"] == 0.2
    assert list(received)[6]["data"]["resolution"] == "licensed"
    assert violation.status == "resolved"


def test_license_expiring_expired_and_auto_renew(fake: FakeLMIF, received: Any) -> None:
    box = fake.world.box_identity("Alan Turing", policy="LICENSE")
    once = fake.world.approve_license(fake.world.request_license(box.id).id)
    renewing = fake.world.approve_license(fake.world.request_license(box.id).id, auto_renew=True)
    fake.clock.advance(days=400)
    events = [
        (t, d)
        for t, d in timeline(received)
        if t.startswith("license.") and t not in ("license.requested", "license.approved")
    ]
    # Calendar-year terms: 2024-01-15 -> 2025-01-15 is 366 days (2024 is a leap year).
    assert events == [
        ("license.expiring", timedelta(days=336)),
        ("license.expiring", timedelta(days=336)),
        ("license.expired", timedelta(days=366)),
    ]
    assert once.status == "expired"
    assert renewing.status == "active"
    assert renewing.expires_at == T0.replace(year=2026)
    valid(received)


def test_policy_decides_license_requests(fake: FakeLMIF, received: Any) -> None:
    world = fake.world
    monetize = world.request_license(world.box_named("Test Celebrity B").id)
    blocked = world.request_license(world.box_named("Test Celebrity A").id)
    assert (monetize.status, blocked.status) == ("approved", "denied")
    assert [e["type"] for e in received] == [
        "license.requested", "license.approved", "license.requested", "license.denied",
    ]  # fmt: skip
    with pytest.raises(ConflictError):
        world.deny_license(monetize.id)
    valid(received)


def test_appeal_upheld_and_rejected(fake: FakeLMIF, received: Any) -> None:
    world = fake.world
    box = world.box_identity("Marie Curie", policy="BLOCK_COMMERCIAL")
    upheld = world.detect_violation(box.id)
    rejected = world.detect_violation(box.id)
    fake.clock.advance(days=3)
    world.appeal(upheld.id, "parody")
    world.appeal(rejected.id, "not_a_match")
    fake.clock.advance(days=5)
    world.decide_appeal(upheld.id, upheld=True)
    world.decide_appeal(rejected.id, upheld=False)
    assert rejected.grace_period is not None
    assert rejected.grace_period.expires_at == T0 + timedelta(days=35)  # paused for 5 days
    fake.clock.advance(days=40)
    kinds = [
        (e["type"], e["data"].get("violationId") or e["data"].get("gracePeriodId"))
        for e in received
    ]
    assert ("violation.appealed", upheld.id) in kinds
    assert ("violation.resolved", upheld.id) in kinds
    expired = [e for e in received if e["type"] == "grace_period.expired"]
    assert [e["data"]["violationId"] for e in expired] == [rejected.id]
    assert expired[0]["createdAt"] == "2024-02-19T10:00:00Z"
    appealed = next(e for e in received if e["type"] == "violation.appealed")
    assert appealed["data"]["gracePeriod"] == {"id": upheld.grace_period.id, "status": "paused"}  # type: ignore[union-attr]
    # the window's days 7, 21 and 28 each came 5 days late, because of the 5-day pause
    reminders = [e["createdAt"] for e in received if e["type"] == "grace_period.reminder"
                 and e["data"]["gracePeriodId"] == rejected.grace_period.id]  # fmt: skip
    assert reminders == ["2024-01-27T10:00:00Z", "2024-02-10T10:00:00Z", "2024-02-17T10:00:00Z"]
    valid(received)


def test_box_update_lists_only_changes_and_delete(fake: FakeLMIF, received: Any) -> None:
    box = fake.world.box_identity("Nikola Tesla", policy="MONETIZE", enforcement="MODERATE")
    fake.world.update_box(box.id, policy="BLOCK_ALL")
    fake.world.update_box(box.id, policy="BLOCK_ALL")  # no change, no event
    fake.world.update_box(box.id, enforcement="STRICT")
    fake.world.delete_box(box.id)
    envelopes = list(received)
    assert [e["type"] for e in envelopes] == [
        "box.created",
        "box.updated",
        "box.updated",
        "box.deleted",
    ]
    assert envelopes[1]["data"]["changes"] == {"policy": {"from": "MONETIZE", "to": "BLOCK_ALL"}}
    assert envelopes[2]["data"]["changes"] == {"enforcement": {"from": "MODERATE", "to": "STRICT"}}
    assert envelopes[3]["data"] == {
        "boxId": box.id,
        "claimId": box.claim.id,
        "identityName": "Nikola Tesla",
    }
    with pytest.raises(ConflictError):
        fake.world.update_box(box.id, policy="OPEN")
    valid(received)


def test_scan_finds_matching_avatars(fake: FakeLMIF, received: Any) -> None:
    box = fake.world.box_identity("Ada Lovelace")
    fake.world.add_avatar("Ada Companion")
    fake.world.add_avatar("A. Lovelace fan bot")
    fake.world.add_avatar("Totally Unrelated")
    matches = fake.world.scan(box.id)
    assert sorted(a.name for a in matches) == ["A. Lovelace fan bot", "Ada Companion"]
    envelopes = list(received)
    assert [e["type"] for e in envelopes] == ["box.created", "detection.match_found", "detection.match_found",
                                              "detection.scan_complete"]  # fmt: skip
    assert envelopes[-1]["data"]["matchesFound"] == 2
    assert {e["data"]["scanId"] for e in envelopes[1:]} == {envelopes[-1]["data"]["scanId"]}
    valid(received)


def test_bad_transitions_are_clear_errors(fake: FakeLMIF) -> None:
    world = fake.world
    with pytest.raises(WorldError, match="policy"):
        world.box_identity("X Y", policy="SOMETIMES")
    with pytest.raises(ConflictError, match="already boxed"):
        world.box_identity("Test Celebrity A")
    with pytest.raises(NotFoundError):
        world.detect_violation("box_missing")
    violation = world.detect_violation(world.box_named("Test Celebrity C").id)
    world.resolve_violation(violation.id)
    with pytest.raises(ConflictError):
        world.resolve_violation(violation.id)
    with pytest.raises(ConflictError):
        world.appeal(violation.id)
    with pytest.raises(ConflictError):
        world.decide_appeal(violation.id, upheld=True)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_scenario_runs_and_emits_valid_events(
    name: str, fake: FakeLMIF, received: Any
) -> None:
    summary = SCENARIOS[name].run(fake.world)
    assert summary["boxId"].startswith("box_")
    assert len(received) > 0
    valid(received)


def test_scenarios_tell_their_stories(received: Any, fake: FakeLMIF) -> None:
    SCENARIOS["grace-period-expires"].run(fake.world)
    assert [e["type"] for e in received][-1] == "grace_period.expired"
    fake.reset()
    recorder = Recorder()
    fake.webhooks.create(recorder, ["*"])
    SCENARIOS["licensed-in-time"].run(fake.world)
    types = [json.loads(b)["type"] for b in recorder.bodies]
    assert "grace_period.expired" not in types
    assert types[-1] == "grace_period.resolved"
