"""Generated event data: documented fields, schema validity, consistency, determinism, overrides."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from lmif_mock import EVENT_TYPES, REMOVE, EventFactory, LMIFProvider
from lmif_mock.payloads import EPOCH, GRACE_PERIOD_DAYS, deep_merge
from lmif_mock.schemas import DATA, event_schema
from lmif_mock.timestamps import parse_timestamp

# Fields the provider's own pages document, spelled as it spells them (webhooks/events page,
# boxing-events guide). Every one must be present, at the documented path.
DOCUMENTED_FIELDS = {
    "box.created": [
        "boxId", "claimId", "identityName", "entityType", "policy", "enforcement",
        "policyConfig.royaltyRate", "policyConfig.revenueTypes",
    ],
    "box.updated": ["boxId", "changes.policy.from", "changes.policy.to",
                    "changes.enforcement.from", "changes.enforcement.to"],
    "box.deleted": ["boxId", "claimId", "identityName"],
    "violation.detected": [
        "violationId", "boxId", "identityName", "policy", "avatar.id", "avatar.name",
        "avatar.creatorId", "detection.confidence", "detection.classification",
        "gracePeriod.id", "gracePeriod.expiresAt",
    ],
    "violation.resolved": ["violationId", "resolution"],
    "grace_period.started": [
        "gracePeriodId", "boxId", "identityName", "expiresAt", "affectedAvatars",
    ],
}  # fmt: skip


def _lookup(data: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        data = data[part]
    return data


def _keys_match_schema(value: Any, schema: dict[str, Any], where: str) -> None:
    """Generated data has exactly the schema's fields (schemas allow extras; we send none)."""
    if schema.get("type") == "object" and "required" in schema:
        assert set(value) == set(schema["properties"]), where
        for key, sub in schema["properties"].items():
            _keys_match_schema(value[key], sub, f"{where}.{key}")
    elif schema.get("type") == "array":
        for index, item in enumerate(value):
            _keys_match_schema(item, schema["items"], f"{where}[{index}]")


@pytest.mark.parametrize("event_type", EVENT_TYPES)
def test_every_type_validates_and_has_exactly_the_schema_fields(event_type: str) -> None:
    factory = EventFactory(1)
    schema = event_schema(event_type)
    for _ in range(20):
        event = factory.build(event_type, webhook_id="wh_test")
        envelope = json.loads(event.body)
        jsonschema.validate(envelope, schema)
        _keys_match_schema(envelope["data"], DATA[event_type], event_type)


@pytest.mark.parametrize(("event_type", "fields"), DOCUMENTED_FIELDS.items())
def test_documented_fields_are_present(event_type: str, fields: list[str]) -> None:
    data = EventFactory(3).data(event_type)
    for field in fields:
        _lookup(data, field)


def test_schema_rejects_wrong_shapes() -> None:
    factory = EventFactory(0)
    envelope = json.loads(factory.build("violation.detected", webhook_id="wh_1").body)
    schema = event_schema("violation.detected")
    broken = json.loads(json.dumps(envelope))
    broken["data"]["detection"]["confidence"] = 1.5
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    broken = json.loads(json.dumps(envelope))
    broken["createdAt"] = "2024-01-15T10:00:00+00:00"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
    broken = json.loads(json.dumps(envelope))
    broken["extra"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_same_seed_same_events_other_seed_other_events() -> None:
    def run(seed: int) -> list[bytes]:
        factory = EventFactory(seed)
        return [factory.build(t).body for t in EVENT_TYPES]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_reseed_restarts_the_sequence() -> None:
    factory = EventFactory(9)
    first = factory.build("box.created").body
    factory.build("box.created")
    factory.reseed(9)
    assert factory.build("box.created").body == first


def test_grace_period_times_follow_created_at() -> None:
    factory = EventFactory(0)
    at = EPOCH + timedelta(days=100, hours=3)
    detected = factory.data("violation.detected", at)
    assert parse_timestamp(detected["gracePeriod"]["expiresAt"]) == at + timedelta(
        days=GRACE_PERIOD_DAYS
    )
    started = factory.data("grace_period.started", at)
    assert parse_timestamp(started["startedAt"]) == at
    assert parse_timestamp(started["expiresAt"]) - parse_timestamp(
        started["startedAt"]
    ) == timedelta(days=30)
    for _ in range(20):
        reminder = factory.data("grace_period.reminder", at)
        assert reminder["day"] in (7, 21, 28)
        assert reminder["daysRemaining"] == 30 - reminder["day"]
        assert parse_timestamp(reminder["startedAt"]) == at - timedelta(days=reminder["day"])
        assert parse_timestamp(reminder["expiresAt"]) - parse_timestamp(
            reminder["startedAt"]
        ) == timedelta(days=30)
    ending = factory.data("grace_period.ending", at)
    assert parse_timestamp(ending["expiresAt"]) == at + timedelta(days=2)
    expired = factory.data("grace_period.expired", at)
    assert parse_timestamp(expired["expiredAt"]) == at


def test_values_are_realistic() -> None:
    factory = EventFactory(11)
    for _ in range(50):
        data = factory.data("violation.detected")
        assert 0 <= data["detection"]["confidence"] <= 1
        assert data["avatar"]["id"].startswith("avatar_")
        assert data["avatar"]["creatorId"].startswith("creator_")
        assert len(data["identityName"]) > 3
        update = factory.data("box.updated")
        assert update["changes"]["policy"]["from"] != update["changes"]["policy"]["to"]
        match = factory.data("detection.match_found")
        assert match["detection"]["layer"] in (1, 2, 3)


def test_overrides_deep_merge() -> None:
    data = EventFactory(0).data(
        "violation.detected",
        overrides={
            "identityName": "Ada Lovelace",
            "avatar": {"name": "Ada AI"},
            "detection": {"confidence": 1},
        },
    )
    assert data["identityName"] == "Ada Lovelace"
    assert data["avatar"]["name"] == "Ada AI"
    assert data["avatar"]["id"].startswith("avatar_")  # the rest of the nested object stays
    assert data["detection"] == {"confidence": 1, "classification": "EXACT_MATCH"}


def test_remove_deletes_generated_fields() -> None:
    data = EventFactory(0).data(
        "violation.detected", overrides={"avatar": {"creatorId": REMOVE}, "policy": REMOVE}
    )
    assert "policy" not in data
    assert "creatorId" not in data["avatar"]


@given(
    base=st.dictionaries(
        st.text(max_size=3), st.integers() | st.dictionaries(st.text(max_size=3), st.integers())
    ),
    over=st.dictionaries(
        st.text(max_size=3), st.integers() | st.dictionaries(st.text(max_size=3), st.integers())
    ),
)
def test_deep_merge_properties(base: dict[str, Any], over: dict[str, Any]) -> None:
    before = json.dumps(base, sort_keys=True)
    merged = deep_merge(base, over)
    assert json.dumps(base, sort_keys=True) == before  # inputs untouched
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            assert merged[key] == {**base[key], **value}
        else:
            assert merged[key] == value
    for key in base.keys() - over.keys():
        assert merged[key] == base[key]


def test_unknown_types_only_when_asked() -> None:
    factory = EventFactory(0)
    with pytest.raises(ValueError, match="unknown LMIF event type"):
        factory.build("avatar.teleported")
    event = factory.build("avatar.teleported", data={"x": 1}, allow_unknown=True)
    assert event.type == "avatar.teleported"
    assert event.data == {"x": 1}


def test_faker_provider() -> None:
    fake = Faker()
    fake.add_provider(LMIFProvider)
    fake.seed_instance(4)
    event = fake.lmif_event("box.created")
    jsonschema.validate(json.loads(event.body), event_schema("box.created"))
    assert fake.box_id().startswith("box_")
    assert fake.violation_id().startswith("viol_")
    assert fake.grace_period_id().startswith("gp_")
    assert fake.lmif_policy() in (
        "BLOCK_ALL",
        "BLOCK_COMMERCIAL",
        "MONETIZE",
        "LICENSE",
        "TEAM",
        "OPEN",
    )
    assert fake.lmif_event_type() in EVENT_TYPES
    assert fake.lmif_event_data("box.deleted", identityName="X")["identityName"] == "X"
    again = Faker()
    again.add_provider(LMIFProvider)
    again.seed_instance(4)
    assert again.lmif_event("box.created").body == event.body
