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
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lmif_mock import EVENT_TYPES, EventFactory, VirtualClock
from lmif_mock.event_shapes import COUNT, SHAPES, Fields
from lmif_mock.http.openapi import document
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.schemas import DATA, envelope_schema
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
