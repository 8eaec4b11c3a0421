"""The shortcuts the delivery hot path takes give exactly what the long way gives.

Each shortcut (bytes spliced per webhook instead of re-encoded, ids from one draw, rendered
timestamps remembered, records copied without ``dataclasses.replace``) is checked against the
plain computation it replaces, over generated inputs.
"""

from __future__ import annotations

import json
import random
import string
from dataclasses import fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock import Event, encode
from lmif_mock.events import _javascript_numbers
from lmif_mock.ids import ID_LENGTH, new_id
from lmif_mock.records import Attempt, Delivery
from lmif_mock.timestamps import format_timestamp

_TEXT = st.text(st.characters(exclude_categories=["Cs"]))
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_IDS = st.text(st.characters(exclude_categories=["Cs"]), min_size=1)
_MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(_TEXT, _JSON, max_size=5), first=st.none() | _IDS, second=_IDS)
def test_spliced_bytes_are_the_encoded_bytes(
    data: dict[str, Any], first: str | None, second: str
) -> None:
    """A copy made from an event whose bytes are known gets the bytes encoding it would give."""
    event = Event("evt_x", "box.created", datetime(2024, 1, 15, tzinfo=timezone.utc), data, first)
    event.body  # noqa: B018 - known now, so the copies below are spliced
    spliced = event.for_webhook(second)
    assert "body" in spliced.__dict__
    assert spliced.body == encode(Event(event.id, event.type, event.created_at, data, second))
    assert json.loads(spliced.body)["meta"]["webhookId"] == second


def test_a_copy_of_an_event_never_encoded_is_encoded_when_read() -> None:
    event = Event("evt_x", "box.created", datetime(2024, 1, 15, tzinfo=timezone.utc), {"a": 1.0})
    copy = event.for_webhook("wh_1")
    assert "body" not in copy.__dict__
    assert copy.body == b'{"id":"evt_x","type":"box.created","createdAt":"2024-01-15T00:00:00Z",' \
        b'"data":{"a":1},"meta":{"apiVersion":"v1","webhookId":"wh_1"}}'  # fmt: skip


def test_ids_have_the_documented_form_and_follow_the_seed() -> None:
    rng = random.Random(7)
    ids = [new_id("evt_", rng) for _ in range(2000)]
    allowed = set(string.ascii_lowercase + string.digits)
    assert all(i.startswith("evt_") and len(i) == 4 + ID_LENGTH for i in ids)
    assert all(set(i[4:]) <= allowed for i in ids)
    assert len(set(ids)) == len(ids)
    # Every character turns up in every position: nothing is stuck or left out.
    for position in range(4, 4 + ID_LENGTH):
        assert {i[position] for i in ids} == allowed, position
    again = random.Random(7)
    assert [new_id("evt_", again) for _ in range(2000)] == ids


def test_the_smallest_draw_is_all_a() -> None:
    class Smallest(random.Random):
        def random(self) -> float:
            return 0.0

    assert new_id("evt_", Smallest()) == "evt_aaaaaaaaaaaa"


@settings(deadline=None)
@given(moment=_MOMENTS, offset=st.integers(-14 * 60, 14 * 60))
def test_remembered_timestamps_are_rendered_ones(moment: datetime, offset: int) -> None:
    """The same instant in another zone renders the same; the cache never mixes instants up."""
    shifted = moment.astimezone(timezone(timedelta(minutes=offset)))
    expected = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert format_timestamp(shifted) == expected
    assert format_timestamp(moment) == expected
    assert format_timestamp(moment.replace(tzinfo=None)) == expected


def test_with_attempt_equals_replace() -> None:
    delivery = Delivery(
        "dlv_1", "evt_1", "box.created", "wh_1", datetime(2024, 1, 1, tzinfo=timezone.utc),
        body=b"{}", duplicate_of="dlv_0",
    )  # fmt: skip
    attempt = Attempt(1, delivery.created_at, 500, "http_error", 0.01)
    later = delivery.created_at + timedelta(minutes=1)
    updated = delivery.with_attempt(attempt, "pending", later)
    expected = replace(delivery, attempts=(attempt,), status="pending", next_attempt_at=later)
    assert updated == expected
    assert all(getattr(updated, f.name) == getattr(expected, f.name) for f in fields(Delivery))
    assert delivery.attempts == ()  # the original is untouched


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(_TEXT, _JSON | st.floats(-1e22, 1e22).map(float), max_size=6))
def test_encoding_without_the_walk_gives_the_walked_bytes(data: dict[str, Any]) -> None:
    """:func:`encode` skips the JavaScript-number walk when the plain text cannot differ; the
    bytes are always those of the walk."""
    event = Event("evt_x", "box.created", datetime(2024, 1, 15, tzinfo=timezone.utc), data)
    walked = json.dumps(
        _javascript_numbers(event.envelope()),
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")
    assert encode(event) == walked
