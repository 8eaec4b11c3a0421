"""Each fault with the effect a receiver sees, and the promise that nothing is ever lost."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.wrappers import Request, Response

from lmif_mock import sign, verify
from lmif_mock.clock import DEFAULT_START
from lmif_mock.fake import FakeLMIF
from lmif_mock.faults import SIGNATURE_FAULTS, FaultError, Faults
from lmif_mock.wire import sign_body
from tests.receivers import Recorder

T0 = DEFAULT_START


def test_sequential_duplicates_arrive_one_after_another() -> None:
    fake = FakeLMIF()
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.created", faults=Faults(duplicates=2))
    assert receiver.bodies == [event.body] * 3
    deliveries = fake.deliveries(event_id=event.id)
    assert len(deliveries) == 3
    original = next(d for d in deliveries if d.duplicate_of is None)
    assert {d.duplicate_of for d in deliveries if d is not original} == {original.id}
    assert all(d.status == "succeeded" for d in deliveries)


def test_concurrent_duplicates_are_released_at_the_same_moment() -> None:
    copies = 4
    together = threading.Barrier(copies, timeout=5)

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        Request(environ).get_data()
        try:
            together.wait()  # passes only if all copies are inside the handler at once
            status = 200
        except threading.BrokenBarrierError:
            status = 500
        return Response("", status=status)(environ, start_response)

    fake = FakeLMIF()
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("violation.detected", faults={"concurrent_duplicates": copies - 1})
    deliveries = fake.deliveries(event_id=event.id)
    assert len(deliveries) == copies
    assert [d.status for d in deliveries] == ["succeeded"] * copies


def test_concurrent_duplicates_expose_a_check_then_insert_race() -> None:
    processed: list[str] = []
    seen: set[str] = set()
    lock = threading.Lock()
    arrived = threading.Barrier(3, timeout=5)

    def racy(environ: dict[str, Any], start_response: Any) -> Any:
        event_id = json.loads(Request(environ).get_data())["id"]
        already = event_id in seen  # check...
        arrived.wait()  # ...the window every real race has, made certain here
        if not already:
            with lock:
                seen.add(event_id)  # ...then insert
                processed.append(event_id)
        return Response("ok")(environ, start_response)

    fake = FakeLMIF()
    fake.webhooks.create(racy, events=["*"])
    fake.emit("box.created", faults=Faults(concurrent_duplicates=2))
    assert len(processed) == 3  # the bug a sequential duplicate would never show


def test_drop_after_response_makes_the_retry_a_duplicate() -> None:
    fake = FakeLMIF()
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("grace_period.started", faults=Faults(drop_after_response=1))
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "pending"
    assert (delivery.attempts[0].status_code, delivery.attempts[0].error) == (200, "dropped")
    fake.clock.advance(minutes=1)
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "succeeded"
    assert [a.at - T0 for a in delivery.attempts] == [timedelta(0), timedelta(minutes=1)]
    assert receiver.bodies == [event.body, event.body]


def test_delay_holds_the_first_attempt_back_on_the_clock() -> None:
    fake = FakeLMIF()
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.updated", faults=Faults(delay=timedelta(minutes=10)))
    assert receiver.bodies == []
    assert fake.deliveries()[0].next_attempt_at == T0 + timedelta(minutes=10)
    fake.clock.advance(minutes=9)
    assert receiver.bodies == []
    fake.clock.advance(minutes=1)
    assert receiver.bodies == [event.body]
    assert fake.deliveries()[0].attempts[0].at == T0 + timedelta(minutes=10)


@pytest.mark.parametrize("fault", list(SIGNATURE_FAULTS))
def test_every_signature_fault_fails_verification_with_the_current_secret(fault: str) -> None:
    fake = FakeLMIF()
    receiver = Recorder([401] * 10)
    webhook = fake.webhooks.create(receiver, events=["*"], secret="old-secret")
    webhook = fake.webhooks.rotate_secret(webhook.id, "current-secret")
    event = fake.emit("box.created", faults=Faults(signature=fault), retry_policy=None)
    body = receiver.bodies[0]
    header = receiver.requests[0].headers.get("X-LMIF-Signature")
    assert not verify(body, header, webhook.secret)
    if fault == "missing":
        assert header is None
    elif fault == "tampered_body":
        assert body != event.body
        assert verify(event.body, header, webhook.secret)
        json.loads(body)  # still valid JSON: only the signature tells
    elif fault == "truncated":
        assert header == sign(body, webhook.secret)[:-8]
    elif fault == "previous_secret":
        assert verify(body, header, "old-secret")
    elif fault == "wrong_prefix":
        assert header is not None
        assert header.startswith("sha1=")
    elif fault == "wrong_secret":
        assert header is not None
        assert len(header) == len("sha256=") + 64
    assert fake.deliveries()[0].attempts[0].status_code == 401


def test_previous_secret_without_a_rotation_is_refused_up_front() -> None:
    fake = FakeLMIF()
    fake.webhooks.create(Recorder(), events=["*"])
    with pytest.raises(FaultError, match="rotated"):
        fake.emit("box.created", faults=Faults(signature="previous_secret"))
    assert fake.events() == []
    assert fake.deliveries() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"duplicates": -1},
        {"concurrent_duplicates": 1.5},
        {"drop_after_response": True},
        {"delay": -5},
        {"delay": "soon"},
        {"signature": "forged"},
        {"explode": 1},
    ],
)
def test_invalid_faults_are_clear_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(FaultError):
        Faults.from_dict(bad)


def test_faults_round_trip_through_json() -> None:
    faults = Faults(
        duplicates=1,
        concurrent_duplicates=2,
        drop_after_response=1,
        delay=timedelta(seconds=30),
        signature="missing",
    )
    assert Faults.from_dict(json.loads(json.dumps(faults.to_dict()))) == faults
    assert not Faults().any
    assert faults.any


def test_signed_request_without_fault_is_the_plain_signature() -> None:
    assert sign_body(b"x", "k").signature == sign(b"x", "k")


behaviours = st.lists(
    st.sampled_from([200, 201, 204, 301, 400, 401, 404, 429, 500, 502, 503, "raise"]),
    min_size=1,
    max_size=12,
)

shared = FakeLMIF(seed=0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=behaviours,
    events=st.lists(
        st.sampled_from(["box.created", "violation.detected", "license.denied"]),
        min_size=1,
        max_size=4,
    ),
    faults=st.builds(
        Faults,
        duplicates=st.integers(0, 2),
        drop_after_response=st.integers(0, 2),
        delay=st.integers(0, 600),
    ),
)
def test_random_receivers_never_lose_a_delivery_or_exceed_the_budget(
    plan: list[int | str], events: list[str], faults: Faults
) -> None:
    shared.reset()
    answers = list(plan)
    calls: list[int] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        step = answers[len(calls) % len(answers)]
        calls.append(1)
        if step == "raise":
            raise RuntimeError("boom")
        return Response("", status=int(step))(environ, start_response)

    shared.webhooks.create(receiver, events=["*"])
    emitted = [shared.emit(t, faults=faults) for t in events]
    shared.clock.advance(days=3)
    deliveries = shared.deliveries()
    assert len(deliveries) == len(emitted) * (1 + faults.duplicates)
    for delivery in deliveries:
        assert delivery.status in ("succeeded", "failed")
        assert 1 <= delivery.attempt_count <= 7
        assert [a.number for a in delivery.attempts] == list(range(1, delivery.attempt_count + 1))
        *earlier, last = delivery.attempts
        assert all(not a.succeeded for a in earlier)
        if delivery.status == "succeeded":
            assert last.succeeded
            assert last.status_code is not None
            assert 200 <= last.status_code < 300
        else:
            assert delivery.attempt_count == 7
            assert not last.succeeded
    assert len(calls) == sum(d.attempt_count for d in deliveries)


@pytest.mark.parametrize("layout", ["pretty", "ascii"])
def test_layout_sends_the_same_event_differently_laid_out_and_correctly_signed(layout: str) -> None:
    fake = FakeLMIF()
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"], secret="k")
    event = fake.emit(
        "box.created", data={"identityName": "Zoë Ünal"}, faults=Faults(layout=layout)
    )
    body = receiver.bodies[0]
    assert body != event.body
    assert json.loads(body) == json.loads(event.body)
    assert verify(body, receiver.requests[0].headers["X-LMIF-Signature"], "k")
    assert not verify(event.body, receiver.requests[0].headers["X-LMIF-Signature"], "k")
    if layout == "ascii":
        assert b"\\u00eb" in body
    else:
        assert b'\n  "id"' in body


def _whitespace_normalised(body: bytes) -> bytes:
    """What a receiver that re-serialises before verifying would check (the common mistake)."""
    return json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize("layout", [None, "pretty", "ascii"])
@pytest.mark.parametrize("event_type", ["box.created", "violation.detected", "license.approved"])
def test_a_tampered_body_changes_the_event_id_in_every_layout(
    layout: str | None, event_type: str
) -> None:
    """Tampering must change content, not whitespace: with a layout it once only appended a space,
    which a receiver stripping whitespace before verifying would have passed."""
    fake = FakeLMIF(seed=3)
    receiver = Recorder()
    webhook = fake.webhooks.create(receiver, events=["*"])
    event = fake.emit(event_type, faults=Faults(layout=layout, signature="tampered_body"))
    ((request, body),) = zip(receiver.requests, receiver.bodies, strict=True)
    signature = request.headers["X-LMIF-Signature"]
    tampered = json.loads(body)
    assert tampered["id"] != event.id
    assert len(tampered["id"]) == len(event.id)
    assert {k: v for k, v in tampered.items() if k != "id"} == {
        k: v for k, v in json.loads(event.body).items() if k != "id"
    }
    for candidate in (body, body.strip(), _whitespace_normalised(body)):
        assert not verify(candidate, signature, webhook.secret)
    original = sign_body(event.body, webhook.secret, layout=layout).body
    assert verify(original, signature, webhook.secret)
    assert len(body) == len(original)
    assert sum(a != b for a, b in zip(body, original, strict=True)) == 1
