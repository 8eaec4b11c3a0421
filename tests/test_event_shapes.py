"""One declaration per event type, and everything that describes or produces an event agrees with it.

The declaration (``lmif_mock.event_shapes.SHAPES``) generates the JSON Schemas, the schema fixture
files, and the OpenAPI document's envelope and ``webhooks``; the payload builder and the world's
emitters are checked here, for all 19 types, against its closed form: exactly the declared
fields, in the declared order, of the declared types.
"""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lmif_mock import EVENT_TYPES, EventFactory, VirtualClock
from lmif_mock.event_shapes import ACTION_FOR_POLICY, MONTHLY_FEE_RANGES, REVENUE_TYPES, SHAPES
from lmif_mock.http.openapi import document
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.payloads import EPOCH, compile_builder
from lmif_mock.schemas import DATA, envelope_schema
from lmif_mock.shape_types import (
    COUNT,
    Amount,
    Count,
    Fields,
    Ident,
    IdentityName,
    ListOf,
    Moment,
    OneOf,
)
from lmif_mock.timestamps import parse_timestamp
from lmif_mock.world import World
from lmif_mock.world.scenarios import SCENARIOS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def _declared_order(value: Any, fields: Any, where: str) -> None:
    """Objects list their fields in the declared order (receivers may print or hash them)."""
    if isinstance(fields, Fields):
        assert list(value) == list(fields.members), where
        for name, kind in fields.members.items():
            _declared_order(value[name], kind, f"{where}.{name}")


def _agrees(event_type: str, data: dict[str, Any]) -> None:
    shape = SHAPES[event_type]
    jsonschema.validate(data, shape.schema(closed=True))
    _declared_order(data, shape.data, event_type)


def test_every_type_is_declared_once_and_the_schemas_are_generated_from_it() -> None:
    assert list(SHAPES) == list(EVENT_TYPES)
    for event_type, shape in SHAPES.items():
        assert DATA[event_type] == shape.schema()
        published = json.loads((FIXTURES / "schemas" / f"{event_type}.json").read_text())
        assert published["properties"]["data"] == shape.schema(), event_type
        assert set(shape.documented) <= set(shape.data.members), event_type


def test_the_openapi_document_describes_every_event_from_the_declaration() -> None:
    spec = document()
    event = spec["components"]["schemas"]["Event"]
    assert event["properties"]["createdAt"] == envelope_schema()["properties"]["createdAt"]
    assert event["required"] == envelope_schema()["required"]
    assert list(spec["webhooks"]) == list(EVENT_TYPES)
    for event_type, shape in SHAPES.items():
        body = spec["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["properties"]["data"] == shape.schema(), event_type
        assert body["schema"]["properties"]["type"] == {"const": event_type}


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_built_payloads_have_exactly_the_declared_fields(event_type: str) -> None:
    factory = EventFactory(7)
    for _ in range(25):
        _agrees(event_type, factory.data(event_type))


def _world(sent: list[tuple[str, dict[str, Any]]]) -> tuple[World, VirtualClock]:
    clock = VirtualClock()
    rng = random.Random(5)
    world = World(clock, lambda kind: new_id(PREFIXES[kind], rng), rng, lambda *e: sent.append(e))
    return world, clock


def _every_transition(world: World, clock: VirtualClock) -> None:
    """Drive one world through every transition that sends an event."""
    box = world.box_identity("Ada Lovelace", policy="LICENSE")
    world.add_avatar("Ada Bot")
    world.scan(box.id)
    world.update_box(box.id, enforcement="STRICT")
    expiring = world.detect_violation(box.id)
    clock.advance(days=31)  # reminders, ending, expired
    assert expiring.grace_period is not None
    resolved = world.detect_violation(box.id)
    world.resolve_violation(resolved.id)
    world.appeal(world.detect_violation(box.id).id)
    approved = world.approve_license(world.request_license(box.id).id)
    world.deny_license(world.request_license(box.id).id)
    world.revoke_license(approved.id)
    world.approve_license(world.request_license(box.id).id)
    clock.advance(days=400)  # expiring, expired
    world.delete_box(box.id)
    for scenario in SCENARIOS.values():
        world.reset()
        scenario.run(world)


def test_world_emitted_events_have_exactly_the_declared_fields() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    world, clock = _world(sent)
    _every_transition(world, clock)
    assert {event_type for event_type, _ in sent} == set(EVENT_TYPES)
    for event_type, data in sent:
        _agrees(event_type, json.loads(json.dumps(data)))


def test_a_field_missing_from_a_producer_is_caught() -> None:
    """What makes adding a field one edit: declare it, and every producer not sending it fails."""
    shape = SHAPES["box.deleted"]
    grown = replace(shape, data=Fields({**shape.data.members, "claimCount": COUNT}))
    data = EventFactory(1).data("box.deleted")
    with pytest.raises(jsonschema.ValidationError, match="claimCount"):
        jsonschema.validate(data, grown.schema(closed=True))
    shrunk = replace(shape, data=Fields({"boxId": shape.data.members["boxId"]}))
    with pytest.raises(jsonschema.ValidationError, match="identityName"):
        jsonschema.validate(data, shrunk.schema(closed=True))


def test_the_documented_fields_are_marked_documented_and_the_rest_designed() -> None:
    from tests.test_payloads import DOCUMENTED_FIELDS

    for event_type, paths in DOCUMENTED_FIELDS.items():
        top = {path.split(".")[0] for path in paths}
        assert top <= SHAPES[event_type].documented, event_type
    assert SHAPES["grace_period.started"].designed == ("violationId", "policy", "startedAt")
    assert all(not SHAPES[t].documented for t in EVENT_TYPES if t.startswith("license."))


def test_a_declared_field_is_generated_with_no_other_edit() -> None:
    """The builder is compiled from the declaration: a new field of any kind, nested ones and
    ones derived from another field included, is generated without touching the builder."""
    shape = SHAPES["box.deleted"]
    grown = replace(
        shape,
        data=Fields(
            {
                **shape.data.members,
                "claimCount": Count(1, 5),
                "reviewedAt": Moment(days=-3),
                "renewsAt": Moment(years=1, less_days_of="claimCount"),
                "reviewer": Fields({"id": Ident("creator"), "name": IdentityName()}),
                "tags": ListOf(OneOf(("a", "b", "c")), min_items=1),
            }
        ),
    )
    build = compile_builder(grown)
    rng = random.Random(3)
    for _ in range(30):
        data = build(rng, EPOCH)
        jsonschema.validate(data, grown.schema(closed=True))
        _declared_order(data, grown.data, "grown")
        assert 1 <= data["claimCount"] <= 5
        assert data["reviewedAt"] == "2024-01-12T10:00:00Z"  # three days before EPOCH
        renews = datetime(2025, 1, 15, 10, tzinfo=timezone.utc) - timedelta(data["claimCount"])
        assert parse_timestamp(data["renewsAt"]) == renews
        assert data["tags"] == sorted(set(data["tags"]))  # distinct, in the enum's order


def test_a_field_read_before_it_is_declared_is_drawn_first_and_sent_in_declared_order() -> None:
    shape = SHAPES["box.created"]
    assert list(shape.data.members).index("identityName") < list(shape.data.members).index(
        "entityType"
    )
    build = compile_builder(shape)
    rng = random.Random(0)
    styles = set()
    for _ in range(200):
        data = build(rng, EPOCH)
        assert list(data) == list(shape.data.members)
        name, entity = data["identityName"], data["entityType"]
        if entity == "ESTATE":
            assert name.startswith("Estate of "), name
        elif entity == "AGENCY":
            assert name.endswith(" Talent Agency"), name
        styles.add(entity)
    assert styles == {"INDIVIDUAL", "ESTATE", "CORPORATION", "AGENCY"}


def test_a_declaration_reading_a_field_it_lacks_is_refused_when_compiled() -> None:
    shape = replace(SHAPES["box.deleted"], data=Fields({"fee": Amount("tier", {"a": (1, 2)})}))
    with pytest.raises(ValueError, match="tier"):
        compile_builder(shape)
    circle = replace(shape, data=Fields({"a": Count(1, 2, less="b"), "b": Count(1, 2, less="a")}))
    with pytest.raises(ValueError, match="circle"):
        compile_builder(circle)


def test_derived_fields_agree_with_the_fields_they_are_derived_from() -> None:
    factory = EventFactory(4)
    for _ in range(100):
        match = factory.data("detection.match_found")
        assert match["action"] == ACTION_FOR_POLICY[match["policy"]]
        assert match["avatar"]["name"].split()[0] == match["identityName"].split()[0]
        assert 0 <= match["detection"]["parodyLikelihood"] <= 0.3
        scan = factory.data("detection.scan_complete")
        assert 0 <= scan["matchesFound"] <= min(12, scan["avatarsScanned"])
        assert scan["startedAt"] < scan["completedAt"]
        approved = factory.data("license.approved")
        low, high = MONTHLY_FEE_RANGES[approved["tier"]]
        assert low <= approved["monthlyFee"] <= high
        assert approved["expiresAt"] == "2025-01-15T10:00:00Z"  # a calendar year after EPOCH
        box = factory.data("box.created")
        revenue = box["policyConfig"]["revenueTypes"]
        assert revenue
        assert revenue == [t for t in REVENUE_TYPES if t in revenue]
        requested = factory.data("license.requested")
        assert requested["estimatedUsers"] % 100 == 0
        assert requested["estimatedUsers"] >= 100
