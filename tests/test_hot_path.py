"""The shortcuts the delivery hot path takes give exactly what the long way gives.

Each shortcut (bytes spliced per webhook instead of re-encoded, ids from one draw, rendered
timestamps remembered, normal times not normalised again, names drawn without ``choices``, an
event stored as its first delivery's bytes, records copied without ``dataclasses.replace``) is
checked against the plain computation it replaces, over generated inputs.
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

from lmif_mock import Event, FakeLMIF, encode, names
from lmif_mock.events import _javascript_numbers
from lmif_mock.ids import ID_LENGTH, new_id
from lmif_mock.records import Attempt, Delivery
from lmif_mock.timestamps import format_timestamp, utc

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


def _utc_long_way(moment: datetime, whole_seconds: bool) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.replace(microsecond=0) if whole_seconds else moment


@settings(deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1)),
    zone=st.none() | st.just(timezone.utc) | st.integers(-14 * 60, 14 * 60),
    whole=st.booleans(),
)
def test_utc_returns_what_the_long_way_gives(
    moment: datetime, zone: timezone | int | None, whole: bool
) -> None:
    """An already normal moment is returned as it is; every other one still goes the long way."""
    if isinstance(zone, int):
        moment = moment.replace(tzinfo=timezone(timedelta(minutes=zone)))
    elif zone is not None:
        moment = moment.replace(tzinfo=zone)
    got = utc(moment, whole_seconds=whole)
    expected = _utc_long_way(moment, whole)
    assert got == expected
    assert got.tzinfo is timezone.utc
    assert (got.microsecond, got.utcoffset()) == (expected.microsecond, timedelta(0))


def test_names_drawn_by_bisect_are_what_random_choices_draws() -> None:
    pool = names.name_pool()
    ours, theirs = random.Random(5), random.Random(5)
    for _ in range(2000):
        assert (
            pool.first_name(ours) == theirs.choices(pool.first, cum_weights=pool.first_weights)[0]
        )
        assert pool.last_name(ours) == theirs.choices(pool.last, cum_weights=pool.last_weights)[0]


def test_a_stored_event_shares_its_first_deliverys_bytes_and_reads_back_as_itself() -> None:
    """The memory store keeps one copy of an event's bytes (its first delivery's), and still
    hands back the event exactly as encoded for nobody (``webhookId`` null)."""
    fake = FakeLMIF(seed=0)
    hooks = [fake.webhooks.create(lambda e, s: [s("200 OK", []) or b""], ["*"]) for _ in "ab"]
    sent = fake.emit("violation.detected", {"identityName": "Zoë ✨"})
    stored = fake.store.get_event(sent.id)
    assert stored is not None
    alone = Event(sent.id, sent.type, sent.created_at, sent.data)
    assert stored.body == encode(alone)
    assert stored.webhook_id is None
    assert stored.data == sent.data
    first, second = fake.deliveries(event_id=sent.id)
    assert (first.webhook_id, second.webhook_id) == (hooks[0].id, hooks[1].id)
    kept = fake.store._events[sent.id]  # type: ignore[attr-defined]
    assert kept.body is first.body  # shared, not a second copy
    assert first.body == encode(replace(alone, webhook_id=hooks[0].id))
    assert second.body == encode(replace(alone, webhook_id=hooks[1].id))
    nobody = FakeLMIF(seed=0)  # no webhook: the event keeps its own bytes
    lone = nobody.emit("box.created")
    found = nobody.store.get_event(lone.id)
    assert found is not None
    assert found.body == lone.body


def test_an_events_bytes_are_encoded_once_and_kept_on_the_event() -> None:
    """``Event.body`` is computed on first use (no lock, unlike ``cached_property``) and then
    read from the event itself: the same object every time, equal to what ``encode`` gives."""
    event = Event("evt_x", "box.created", datetime(2024, 1, 15, tzinfo=timezone.utc), {"n": 1})
    assert "body" not in event.__dict__
    first = event.body
    assert event.__dict__["body"] is first
    assert event.body is first
    assert first == encode(Event(event.id, event.type, event.created_at, {"n": 1}))
    assert "exact bytes" in (type(event).__dict__["body"].__doc__ or "")
