"""The hypothesis strategies: what they can generate, what they never generate, and the
idempotency property used the documented way (session server, no health-check error)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from typing import Any

import jsonschema
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from lmif_mock import CATEGORIES, EVENT_TYPES, Event, LMIFServer, verify
from lmif_mock.schemas import event_schema
from pytest_lmif.strategies import (
    UNKNOWN_TYPES,
    DeliveryPlan,
    assert_idempotent,
    bad_signatures,
    delivery_plans,
    event_types,
    events,
    raw_bodies,
)
from tests.buggy_receivers import SECRET, Receiver


def can_generate(strategy: st.SearchStrategy[Any], condition: Any) -> None:
    """``strategy`` produces a value meeting ``condition`` (found, not shrunk: faster)."""
    find(
        strategy,
        condition,
        settings=settings(max_examples=2000, database=None, phases=[Phase.generate]),
    )


@given(event_types())
def test_event_types_are_documented(event_type: str) -> None:
    assert event_type in EVENT_TYPES


def test_event_types_by_category_and_with_unknown_ones() -> None:
    can_generate(event_types(categories=["license"]), lambda t: t == "license.revoked")
    can_generate(event_types(include_unknown=True), lambda t: t in UNKNOWN_TYPES)
    with pytest.raises(InvalidArgument, match="unknown categories"):
        event_types(categories=["payments"])
    with pytest.raises(InvalidArgument, match="must not be empty"):
        events(types=[])


@given(event_types(categories=["grace_period"]))
def test_event_types_never_leave_their_categories(event_type: str) -> None:
    assert event_type in CATEGORIES["grace_period"]


@settings(max_examples=60)
@given(events())
def test_events_validate_against_their_schemas(event: Event) -> None:
    jsonschema.validate(json.loads(event.body), event_schema(event.type))


@given(
    events(types=["violation.detected"], data=st.fixed_dictionaries({"policy": st.just("OPEN")}))
)
def test_events_take_data_overrides(event: Event) -> None:
    assert event.type == "violation.detected"
    assert event.data["policy"] == "OPEN"


def test_events_shrink_field_by_field() -> None:
    """Each generated value is a draw hypothesis can simplify on its own: the smallest event
    whose box id is not the simplest has that id one step from it and every other field at its
    simplest (one seed for the whole event could not shrink like this)."""
    smallest = find(
        events(types=["box.deleted"]),
        lambda e: e.data["boxId"] != "box_aaaaaaaaaaaa",
        settings=settings(database=None, max_examples=200, derandomize=True),
    )
    assert smallest.data["boxId"] == "box_aaaaaaaaaaab"
    assert smallest.id == "evt_aaaaaaaaaaaa"
    assert smallest.data["claimId"] == "claim_aaaaaaaaaaaa"
    assert smallest.created_at.isoformat() == "2020-01-01T00:00:00+00:00"


def test_events_vary() -> None:
    can_generate(events(), lambda e: e.type == "detection.scan_complete")
    can_generate(events(), lambda e: e.created_at.year >= 2030)


@given(raw_bodies())
def test_raw_bodies_are_json_events(body: bytes) -> None:
    assert json.loads(body)["id"].startswith("evt_")


def test_raw_bodies_come_in_several_layouts() -> None:
    can_generate(raw_bodies(), lambda b: b.startswith(b'{\n  "id"'))
    can_generate(raw_bodies(), lambda b: b.startswith(b'{"id": '))


@given(st.data())
def test_bad_signatures_never_verify(data: st.DataObject) -> None:
    body = data.draw(st.binary())
    secret = data.draw(st.text(min_size=1))
    assert not verify(body, data.draw(bad_signatures(body, secret)), secret)


def test_bad_signatures_include_the_nasty_ones() -> None:
    body, secret = b'{"id":"evt_1"}', "k"
    can_generate(bad_signatures(body, secret), lambda s: s is None)
    can_generate(bad_signatures(body, secret), lambda s: isinstance(s, str) and len(s) == 70)
    can_generate(
        bad_signatures(body, secret), lambda s: isinstance(s, str) and s.startswith("sha1=")
    )


def test_delivery_plans_cover_concurrency_and_drops() -> None:
    can_generate(delivery_plans(), lambda p: p.concurrent_duplicates >= 3)
    can_generate(delivery_plans(), lambda p: p.drop_after_response == 2 and p.duplicates == 3)
    assert DeliveryPlan("box.created", duplicates=1, drop_after_response=1).copies == 3
    with pytest.raises(InvalidArgument, match="max_duplicates"):
        delivery_plans(max_duplicates=-1)


@settings(max_examples=15, deadline=None)
@given(plan=delivery_plans(types=["box.created"], max_concurrent=3))
def test_one_line_idempotency_property(lmif_server: LMIFServer, plan: DeliveryPlan) -> None:
    receiver = Receiver()
    assert_idempotent(lmif_server, receiver.app, plan, secret=SECRET,
                      processed=receiver.processed, path="/webhooks/lmif")  # fmt: skip


def test_every_example_gets_an_event_id_no_earlier_example_used(
    lmif_shared_server: LMIFServer,
) -> None:
    """The receiver's state outlives every example, as a real database does; each example
    still meets a new event (the fake is reset per example, its seed is not the source)."""
    receiver = Receiver()
    asked: Counter[str] = Counter()

    def processed(event_id: str) -> int:
        asked[event_id] += 1
        return receiver.processed(event_id)

    @settings(max_examples=15, deadline=None, database=None)
    @given(plan=delivery_plans(types=["box.created"], max_concurrent=0))
    def property_test(plan: DeliveryPlan) -> None:
        assert_idempotent(lmif_shared_server, receiver.app, plan, secret=SECRET,
                          processed=processed, path="/webhooks/lmif")  # fmt: skip

    property_test()
    assert len(asked) >= 10
    assert set(asked.values()) == {1}  # no id came back in a later example


def _run_documented_property(receiver: Receiver, server: LMIFServer) -> bool:
    """The README's @given pattern against ``receiver``; whether it failed."""

    @settings(max_examples=20, deadline=None, database=None)
    @given(plan=delivery_plans(types=["box.created", "violation.detected"]))
    def property_test(plan: DeliveryPlan) -> None:
        assert_idempotent(server, receiver.app, plan, secret=SECRET,
                          path="/webhooks/lmif", processed=receiver.processed)  # fmt: skip

    try:
        property_test()
    except AssertionError:
        return True
    except Exception as exc:  # hypothesis reports a race it could not replay as Flaky
        return "acted on" in str(exc) or "Flaky" in type(exc).__name__
    return False


def test_the_documented_property_catches_a_real_race(lmif_shared_server: LMIFServer) -> None:
    assert _run_documented_property(Receiver("racy_dedup"), lmif_shared_server)


def test_the_documented_property_passes_a_correct_receiver(lmif_shared_server: LMIFServer) -> None:
    assert not _run_documented_property(Receiver(), lmif_shared_server)


def test_strategies_import_outside_pytest() -> None:
    """The hypothesis entry point loads while hypothesis itself is importing: no circle."""
    for code in (
        "import pytest_lmif.strategies",
        "from hypothesis import strategies as st; from lmif_mock import Event; "
        "assert st.from_type(Event).example().id.startswith('evt_')",
    ):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


def test_the_property_catches_a_receiver_without_dedup(lmif_shared_server: LMIFServer) -> None:
    receiver = Receiver("no_dedup")
    with pytest.raises(AssertionError, match="acted on 2 times"):
        assert_idempotent(
            lmif_shared_server, receiver.app, DeliveryPlan("box.created", drop_after_response=1),
            secret=SECRET, processed=receiver.processed, path="/webhooks/lmif",
        )  # fmt: skip


def test_from_type_gives_events() -> None:
    can_generate(st.from_type(Event), lambda e: e.type == "box.created")


def test_a_race_found_by_the_property_is_named_as_one(lmif_shared_server: LMIFServer) -> None:
    receiver = Receiver("racy_dedup")
    plan = DeliveryPlan("box.created", concurrent_duplicates=7)
    message = ""
    for _ in range(10):  # stops at the first round that shows the race
        try:
            assert_idempotent(lmif_shared_server, receiver.app, plan, secret=SECRET,
                              processed=receiver.processed, path="/webhooks/lmif",
                              race_rounds=20)  # fmt: skip
        except AssertionError as failure:
            message = str(failure)
            break
    assert "check-then-insert race" in message
    assert "may report this failure as flaky" in message
