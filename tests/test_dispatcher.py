"""Delivery life cycle on a virtual clock: exact attempt times, settling, retry, resend."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest

from lmif_mock import sign, verify
from lmif_mock.clock import DEFAULT_START, RealClock
from lmif_mock.errors import NotFoundError
from lmif_mock.fake import FakeLMIF
from lmif_mock.retry import RetryPolicy
from tests.provider_schedule import PROVIDER_OFFSETS
from tests.receivers import Recorder

T0 = DEFAULT_START


@pytest.fixture
def fake() -> FakeLMIF:
    return FakeLMIF(seed=0)


def test_always_failing_receiver_gets_the_exact_provider_schedule(fake: FakeLMIF) -> None:
    receiver = Recorder([500] * 100)
    fake.webhooks.create(receiver, events=["box.created"])
    event = fake.emit("box.created")
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "pending"
    assert delivery.next_attempt_at == T0 + timedelta(minutes=1)
    fake.clock.advance(hours=34, minutes=35)
    assert fake.deliveries()[0].status == "pending"
    assert len(receiver.bodies) == 6
    fake.clock.advance(minutes=1)
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "failed"
    assert delivery.next_attempt_at is None
    assert [a.at - T0 for a in delivery.attempts] == PROVIDER_OFFSETS
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4, 5, 6, 7]
    assert all(a.status_code == 500 and a.error == "http_error" for a in delivery.attempts)
    fake.clock.advance(days=30)
    assert len(receiver.bodies) == 7  # nothing after the 7th


def test_receiver_that_recovers_at_attempt_3(fake: FakeLMIF) -> None:
    receiver = Recorder([503, 500, 200])
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("violation.detected")
    fake.clock.advance(days=3)
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "succeeded"
    assert [(a.at - T0, a.status_code, a.error) for a in delivery.attempts] == [
        (timedelta(0), 503, "http_error"),
        (timedelta(minutes=1), 500, "http_error"),
        (timedelta(minutes=6), 200, None),
    ]
    assert receiver.bodies == [event.body] * 3  # every retry is byte-identical


def test_first_attempt_is_done_when_emit_returns(fake: FakeLMIF) -> None:
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["box.created"])
    event = fake.emit("box.created", data={"identityName": "Ada Lovelace"})
    assert len(receiver.bodies) == 1
    assert receiver.bodies[0] == event.body
    assert json.loads(event.body)["data"]["identityName"] == "Ada Lovelace"
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "succeeded"
    assert delivery.attempts[0].response_excerpt == "ok"


def test_request_is_signed_over_the_exact_bytes_sent(fake: FakeLMIF) -> None:
    receiver = Recorder()
    webhook = fake.webhooks.create(receiver, events=["*"], secret="s3cret")
    event = fake.emit("license.approved")
    request = receiver.requests[0]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-LMIF-Signature"] == sign(receiver.bodies[0], "s3cret")
    assert verify(receiver.bodies[0], request.headers["X-LMIF-Signature"], webhook.secret)
    envelope = json.loads(receiver.bodies[0])
    assert envelope["meta"] == {"apiVersion": "v1", "webhookId": webhook.id}
    assert envelope["id"] == event.id


def test_fan_out_one_delivery_per_subscribed_enabled_webhook(fake: FakeLMIF) -> None:
    boxes, everything, licenses, off = Recorder(), Recorder(), Recorder(), Recorder()
    a = fake.webhooks.create(boxes, events=["box.created", "box.deleted"])
    b = fake.webhooks.create(everything, events=["*"])
    fake.webhooks.create(licenses, events=["license.approved"])
    fake.webhooks.create(off, events=["*"], enabled=False)
    event = fake.emit("box.created")
    deliveries = fake.deliveries(event_id=event.id)
    assert sorted(d.webhook_id for d in deliveries) == sorted([a.id, b.id])
    assert (len(boxes.bodies), len(everything.bodies), len(licenses.bodies), len(off.bodies)) == (
        1,
        1,
        0,
        0,
    )
    # each copy names its own webhook and is otherwise identical
    first, second = (json.loads(r.bodies[0]) for r in (boxes, everything))
    assert first["meta"]["webhookId"] == a.id
    assert second["meta"]["webhookId"] == b.id
    first["meta"] = second["meta"] = None
    assert first == second
    assert fake.deliveries(webhook_id=a.id) == [d for d in deliveries if d.webhook_id == a.id]


def test_unknown_types_need_consent_and_reach_every_enabled_webhook(fake: FakeLMIF) -> None:
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["box.created"])
    with pytest.raises(ValueError, match="unknown LMIF event type"):
        fake.emit("avatar.teleported")
    event = fake.emit("avatar.teleported", data={"avatarId": "avatar_1"}, allow_unknown=True)
    assert json.loads(receiver.bodies[0])["type"] == "avatar.teleported"
    assert fake.deliveries(event_id=event.id)[0].status == "succeeded"


def test_no_subscribers_still_records_the_event(fake: FakeLMIF) -> None:
    event = fake.emit("box.created")
    assert fake.deliveries() == []
    assert [e.id for e in fake.events()] == [event.id]


def test_manual_retry_of_a_failed_delivery(fake: FakeLMIF) -> None:
    receiver = Recorder([500] * 7 + [200])
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.deleted")
    fake.clock.advance(days=2)
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "failed"
    fake.clock.advance(hours=1)
    retried = fake.retry(delivery.id)
    assert retried.status == "succeeded"
    assert retried.attempt_count == 8
    assert retried.attempts[-1].trigger == "manual"
    assert retried.attempts[-1].at == fake.clock.now()
    assert receiver.bodies[-1] == receiver.bodies[0]


def test_manual_retry_that_fails_leaves_a_failed_delivery_failed(fake: FakeLMIF) -> None:
    receiver = Recorder([500] * 10)
    fake.webhooks.create(receiver, events=["*"])
    fake.retry_policy = RetryPolicy(delays=[0])
    event = fake.emit("box.deleted")
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "failed"
    again = fake.retry(delivery.id)
    assert (again.status, again.attempt_count, again.next_attempt_at) == ("failed", 2, None)
    fake.clock.advance(days=5)
    assert fake.delivery(delivery.id).attempt_count == 2


def test_manual_retry_of_a_pending_delivery_replaces_the_scheduled_attempt(fake: FakeLMIF) -> None:
    receiver = Recorder([500, 200])
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.deleted")
    (delivery,) = fake.deliveries(event_id=event.id)
    fake.clock.advance(seconds=10)
    assert fake.retry(delivery.id).status == "succeeded"
    fake.clock.advance(days=3)
    assert len(receiver.bodies) == 2  # the cancelled scheduled attempt never ran


def test_retry_and_resend_of_unknown_ids(fake: FakeLMIF) -> None:
    with pytest.raises(NotFoundError):
        fake.retry("dlv_nope")
    with pytest.raises(NotFoundError):
        fake.resend("evt_nope")


def test_resend_creates_new_deliveries_with_the_same_id_and_bytes(fake: FakeLMIF) -> None:
    receiver = Recorder()
    webhook = fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("grace_period.started")
    fake.clock.advance(hours=1)
    again = fake.resend(event.id)
    assert len(again) == 1
    assert again[0].event_id == event.id
    assert again[0].id != fake.deliveries(event_id=event.id)[0].id
    assert receiver.bodies == [event.body, event.body]
    assert len(fake.deliveries(event_id=event.id)) == 2
    with pytest.raises(NotFoundError):
        fake.resend(event.id, ["wh_missing"])
    assert len(fake.resend(event.id, [webhook.id])) == 1


def test_deleted_and_disabled_webhooks_settle_their_deliveries(fake: FakeLMIF) -> None:
    receiver = Recorder([500] * 100)
    gone = fake.webhooks.create(receiver, events=["*"])
    paused = fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.created")
    fake.webhooks.delete(gone.id)
    fake.webhooks.update(paused.id, enabled=False)
    fake.clock.advance(days=2)
    by_webhook = {d.webhook_id: d for d in fake.deliveries(event_id=event.id)}
    assert by_webhook[gone.id].status == "failed"
    assert by_webhook[gone.id].attempts[1].error == "webhook_deleted"
    assert by_webhook[gone.id].attempt_count == 2  # settled at once: nobody left to retry for
    assert by_webhook[paused.id].status == "failed"
    assert {a.error for a in by_webhook[paused.id].attempts[1:]} == {"webhook_disabled"}
    assert len(receiver.bodies) == 2  # only the two first attempts were really sent


def test_rotated_secret_signs_the_next_attempt(fake: FakeLMIF) -> None:
    receiver = Recorder([500, 200])
    webhook = fake.webhooks.create(receiver, events=["*"], secret="old")
    fake.emit("box.created")
    rotated = fake.webhooks.rotate_secret(webhook.id)
    assert rotated.previous_secret == "old"
    assert rotated.secret != "old"
    fake.clock.advance(minutes=1)
    first, second = (r.headers["X-LMIF-Signature"] for r in receiver.requests)
    assert verify(receiver.bodies[0], first, "old")
    assert verify(receiver.bodies[1], second, rotated.secret)
    assert not verify(receiver.bodies[1], second, "old")


def test_per_emit_retry_policy(fake: FakeLMIF) -> None:
    receiver = Recorder([500] * 10)
    fake.webhooks.create(receiver, events=["*"])
    event = fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 10, 10]))
    fake.clock.advance(seconds=20)
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "failed"
    assert [a.at - T0 for a in delivery.attempts] == [
        timedelta(0),
        timedelta(seconds=10),
        timedelta(seconds=20),
    ]


def test_reset_forgets_everything_and_restarts_the_seed(fake: FakeLMIF) -> None:
    receiver = Recorder([500])
    fake.webhooks.create(receiver, events=["*"])
    first = fake.emit("box.created")
    fake.clock.advance(hours=5)
    fake.reset()
    assert fake.deliveries() == []
    assert fake.events() == []
    assert fake.webhooks.list() == []
    assert fake.clock.now() == T0
    assert fake.clock.pending() == []
    fake.webhooks.create(receiver, events=["*"])
    again = fake.emit("box.created")
    assert (again.id, again.data) == (first.id, first.data)  # same seed, same story


def test_attempt_listener_sees_every_attempt(fake: FakeLMIF) -> None:
    seen: list[tuple[int, int | None]] = []
    fake.dispatcher.on_attempt(lambda d, a: seen.append((a.number, a.status_code)))
    fake.webhooks.create(Recorder([500, 204]), events=["*"])
    fake.emit("box.created")
    fake.clock.advance(minutes=1)
    assert seen == [(1, 500), (2, 204)]


def test_emit_many_shuffles_delivery_order_reproducibly() -> None:
    def run(seed: int) -> tuple[list[str], list[str]]:
        fake = FakeLMIF(seed=seed)
        receiver = Recorder()
        fake.webhooks.create(receiver, events=["*"])
        events = fake.emit_many(["box.created", "box.updated", "box.deleted"] * 3, shuffle=True)
        received = [json.loads(b)["id"] for b in receiver.bodies]
        return [e.id for e in events], received

    given, received = run(1)
    assert sorted(given) == sorted(received)
    assert given != received
    assert run(1) == (given, received)


def test_real_clock_schedules_retries_in_the_background() -> None:
    import threading

    from lmif_mock.clock import RealClock

    done = threading.Event()
    receiver = Recorder([500, 500, 200])

    def watching(environ: dict[str, object], start_response: object) -> object:
        answer = receiver(environ, start_response)  # type: ignore[arg-type]
        if len(receiver.bodies) == 3:
            done.set()
        return answer

    fake = FakeLMIF(clock=RealClock(scale=1200), retry_policy=RetryPolicy(delays=[0, 60, 60]))
    try:
        fake.webhooks.create(watching, events=["*"])
        event = fake.emit("box.created")  # returns at once; attempts run on workers
        assert done.wait(10)
        assert fake.dispatcher.wait_idle(5)
        (delivery,) = fake.deliveries(event_id=event.id)
        assert delivery.status == "succeeded"
        gaps = [b.at - a.at for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
        assert all(gap >= timedelta(seconds=60) for gap in gaps)
    finally:
        fake.close()


def test_reset_lets_go_of_in_process_apps_and_their_threads(fake: FakeLMIF) -> None:
    def emit_five() -> None:
        for _ in range(5):
            fake.webhooks.create(Recorder(), ["*"])
            fake.emit("box.created")

    # Off the main thread, so apps run on (and keep) worker threads; see test_hot_path for the
    # main thread, where the watchdog needs none.
    emitter = threading.Thread(target=emit_five)
    emitter.start()
    emitter.join()
    transports = list(fake.dispatcher._app_transports.values())
    assert len(transports) == 5  # one per app, each keeping an idle worker thread for speed
    runners = [t._runner for t in transports]  # type: ignore[attr-defined]
    assert all(r._idle for r in runners)
    fake.reset()
    assert fake.dispatcher._app_transports == {}
    assert all(not r._idle for r in runners)  # the idle workers were told to exit


def test_a_retry_falling_due_while_its_attempt_settles_is_not_lost() -> None:
    receiver = Recorder([500] * 6)
    fast = FakeLMIF(
        clock=RealClock(scale=10_000_000), retry_policy=RetryPolicy(delays=[0] + [0.001] * 6)
    )
    # A slow listener widens the moment between an attempt being recorded and its thread
    # finishing; a retry falling due in that moment used to be dropped as "already in flight".
    fast.dispatcher.on_attempt(lambda delivery, attempt: time.sleep(0.005))
    try:
        for _ in range(3):
            fast.webhooks.create(receiver, ["*"])
        for _ in range(5):
            fast.emit("box.created")
        deadline = time.monotonic() + 20
        while fast.deliveries(status="pending") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert fast.deliveries(status="pending") == []
    finally:
        fast.close()


def test_a_retry_that_would_fall_due_past_year_9999_settles_failed() -> None:
    from datetime import datetime, timezone

    from lmif_mock.clock import VirtualClock

    start = datetime(9999, 12, 31, 12, tzinfo=timezone.utc)
    fake = FakeLMIF(seed=0, clock=VirtualClock(start))
    fake.webhooks.create(Recorder([500] * 10), ["*"])
    event = fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 86400]))
    (delivery,) = fake.deliveries(event_id=event.id)
    assert delivery.status == "failed"
    assert [a.number for a in delivery.attempts] == [1]
    assert delivery.next_attempt_at is None
