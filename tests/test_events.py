"""The catalogue, the envelope and the one serialiser that produces the signed bytes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from lmif_mock import CATEGORIES, EVENT_TYPES, EncodingError, Event, UnknownEventType, encode
from lmif_mock.events import category_of, check_event_type

# The provider's "Event Categories" table, in its order (webhooks overview page).
DOCUMENTED = [
    "box.created", "box.updated", "box.deleted",
    "violation.detected", "violation.resolved", "violation.appealed",
    "grace_period.started", "grace_period.reminder", "grace_period.ending",
    "grace_period.expired", "grace_period.resolved",
    "license.requested", "license.approved", "license.denied", "license.expiring",
    "license.expired", "license.revoked",
    "detection.match_found", "detection.scan_complete",
]  # fmt: skip

AT = datetime(2024, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


def test_catalogue_is_the_documented_one_in_order() -> None:
    assert list(EVENT_TYPES) == DOCUMENTED
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
    assert [t for ts in CATEGORIES.values() for t in ts] == DOCUMENTED
    assert {category_of(t) for t in EVENT_TYPES} == set(CATEGORIES)


def test_unknown_type_is_a_clear_error() -> None:
    with pytest.raises(UnknownEventType, match=r"box\.exploded"):
        check_event_type("box.exploded")
    with pytest.raises(UnknownEventType):
        check_event_type(None)


def test_envelope_keys_and_order() -> None:
    event = Event("evt_abc123", "box.created", AT, {"boxId": "box_1"}, "wh_xyz789")
    envelope = json.loads(event.body)
    assert list(envelope) == ["id", "type", "createdAt", "data", "meta"]
    assert list(envelope["meta"]) == ["apiVersion", "webhookId"]
    assert envelope == {
        "id": "evt_abc123",
        "type": "box.created",
        "createdAt": "2024-01-15T10:00:00Z",
        "data": {"boxId": "box_1"},
        "meta": {"apiVersion": "v1", "webhookId": "wh_xyz789"},
    }


def test_bytes_are_compact_utf8_like_javascript() -> None:
    event = Event(
        "evt_1", "box.created", AT, {"identityName": "Beyoncé 王菲 🐝", "rate": 0.1, "fee": 500.0}
    )
    assert (
        event.body
        == (
            '{"id":"evt_1","type":"box.created","createdAt":"2024-01-15T10:00:00Z",'
            '"data":{"identityName":"Beyoncé 王菲 🐝","rate":0.1,"fee":500},'
            '"meta":{"apiVersion":"v1","webhookId":null}}'
        ).encode()
    )


def test_timestamps_are_utc_with_z_whatever_the_input_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = Event("evt_1", "box.created", datetime(2024, 1, 15, 12, 0, 0, 987654, tzinfo=plus_two))
    assert json.loads(event.body)["createdAt"] == "2024-01-15T10:00:00Z"
    naive = Event("evt_1", "box.created", datetime(2024, 1, 15, 10, 0, 0))
    assert json.loads(naive.body)["createdAt"] == "2024-01-15T10:00:00Z"


def test_body_is_computed_once_and_is_what_encode_gives() -> None:
    event = Event("evt_1", "box.created", AT, {"a": 1}, "wh_1")
    assert event.body is event.body
    assert event.body == encode(event)


def test_for_webhook_changes_only_the_webhook_id() -> None:
    event = Event("evt_1", "box.created", AT, {"a": 1})
    a, b = event.for_webhook("wh_a"), event.for_webhook("wh_b")
    assert (a.id, a.type, a.data) == (b.id, b.type, b.data)
    assert json.loads(a.body)["meta"]["webhookId"] == "wh_a"
    assert json.loads(b.body)["meta"]["webhookId"] == "wh_b"


def test_from_envelope_round_trips() -> None:
    event = Event("evt_1", "license.expired", AT, {"x": [1, 2]}, "wh_1")
    assert Event.from_envelope(json.loads(event.body)).body == event.body


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), {1, 2}, object()])
def test_unencodable_data_is_a_clear_error(bad: object) -> None:
    with pytest.raises(EncodingError, match="evt_1"):
        encode(Event("evt_1", "box.created", AT, {"bad": bad}))
