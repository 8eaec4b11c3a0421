"""Races between a delivery in flight and the rest of the fake (issue 13, "Races").

No sleeps: each test holds a receiver inside its request with an event, does the racing thing,
then lets go, and waits with a generous bound that fails with a message instead of hanging.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import urllib3
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from lmif_mock import FakeLMIF, LMIFServer, NotFoundError, RetryPolicy, VirtualClock, payloads
from lmif_mock.clock import DEFAULT_START
from lmif_mock.http.app import API
from lmif_mock.world import World
from tests.provider_schedule import PROVIDER_OFFSETS
from tests.receivers import wsgi_server

T0 = DEFAULT_START
WAIT = 60.0  # seconds; only ever reached when something is broken
KEY = "lmif_test_races"


def wait_for(flag: threading.Event, what: str) -> None:
    assert flag.wait(WAIT), f"gave up after {WAIT} s waiting for {what}"


def answer(status: int) -> Callable[[dict[str, Any], Any], Any]:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        return Response("x", status=status)(environ, start_response)

    return app


# -- a retry racing a reset -------------------------------------------------------------------


def test_a_manual_retry_racing_a_reset_is_a_404_not_a_500() -> None:
    fake = FakeLMIF(seed=0)
    client = Client(API(fake, KEY))
    resetting = threading.Event()

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        if resetting.is_set():
            fake.reset()  # what another test client's /_mock/reset does at this moment
        return Response("no", status=500)(environ, start_response)

    with wsgi_server(receiver) as base:
        fake.webhooks.create(base + "/hook", ["*"])
        event = fake.emit("box.created")
        (delivery,) = fake.deliveries(event_id=event.id)
        assert delivery.status == "pending"
        resetting.set()
        answer_ = client.post(
            f"/v1/lmif/deliveries/{delivery.id}/retry",
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert answer_.status_code == 404, answer_.get_data()[:300]
    assert json.loads(answer_.get_data())["error"]["code"] == "NOT_FOUND"
    assert fake.deliveries() == []


def test_python_retry_racing_a_reset_raises_not_found() -> None:
    fake = FakeLMIF(seed=0)
    calls: list[int] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            fake.reset()
        return Response("no", status=500)(environ, start_response)

    with wsgi_server(receiver) as base:
        fake.webhooks.create(base + "/hook", ["*"])
        event = fake.emit("box.created")
        (delivery,) = fake.deliveries(event_id=event.id)
        with pytest.raises(NotFoundError):
            fake.retry(delivery.id)


# -- advancing the clock while an attempt is in flight ---------------------------------------


class DownAndHoldingItsFirstRequest:
    """A receiver that is always down (503) and holds its first request until ``release`` is
    set, so a test can act while that attempt is in flight (``inside`` says it has arrived)."""

    def __init__(self) -> None:
        self.inside, self.release = threading.Event(), threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not self.inside.is_set():
            self.inside.set()
            self.release.wait(WAIT)
        return Response("down", status=503)(environ, start_response)


def test_advance_during_an_attempt_leaves_no_retry_overdue() -> None:
    fake = FakeLMIF(seed=0)
    receiver = DownAndHoldingItsFirstRequest()
    fake.webhooks.create(receiver, ["box.created"])
    emitted: list[str] = []
    emitter = threading.Thread(target=lambda: emitted.append(fake.emit("box.created").id))
    emitter.start()
    wait_for(receiver.inside, "the first attempt to reach the receiver")
    fake.clock.advance(hours=35)  # the attempt started at T0 is still in flight
    receiver.release.set()
    emitter.join(WAIT)
    assert not emitter.is_alive(), "emit never returned"
    (delivery,) = fake.deliveries(event_id=emitted[0])
    assert [a.number for a in delivery.attempts] == [1, 2, 3, 4, 5, 6, 7]
    assert [a.at - T0 for a in delivery.attempts] == PROVIDER_OFFSETS
    assert delivery.status == "failed"
    assert fake.clock.pending() == []


def test_advance_part_way_during_an_attempt_runs_the_rest_inside_later_advances() -> None:
    fake = FakeLMIF(seed=0)
    receiver = DownAndHoldingItsFirstRequest()
    fake.webhooks.create(receiver, ["box.created"])
    emitter = threading.Thread(target=lambda: fake.emit("box.created"))
    emitter.start()
    wait_for(receiver.inside, "the first attempt to reach the receiver")
    fake.clock.advance(hours=1)
    receiver.release.set()
    emitter.join(WAIT)
    (delivery,) = fake.deliveries()
    # minutes 0, 1, 6, 36 are behind the clock: made at once; 2 h 36 is still ahead
    assert [a.at - T0 for a in delivery.attempts] == PROVIDER_OFFSETS[:4]
    assert delivery.next_attempt_at == T0 + PROVIDER_OFFSETS[4]
    fake.clock.advance(hours=34)
    (delivery,) = fake.deliveries()
    assert [a.at - T0 for a in delivery.attempts] == PROVIDER_OFFSETS


# -- a receiver calling the fake back during a delivery ----------------------------------------

FAST = RetryPolicy(delays=[0], timeout=10)


def test_in_process_receiver_requests_a_license_while_box_created_is_delivered() -> None:
    fake = FakeLMIF(seed=0, retry_policy=FAST)
    seen: list[str] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> Any:
        event = json.loads(environ["wsgi.input"].read())
        seen.append(event["type"])
        if event["type"] == "box.created":
            fake.world.request_license(event["data"]["boxId"], tier="creator")
        return Response("ok")(environ, start_response)

    fake.webhooks.create(receiver, ["*"])
    box = fake.world.box_identity("Ada Lovelace", policy="MONETIZE")
    assert seen == ["box.created", "license.requested", "license.approved"]
    assert all(d.status == "succeeded" for d in fake.deliveries()), [
        (d.event_type, d.attempts[-1].error) for d in fake.deliveries()
    ]
    assert [r.box.id for r in fake.world.requests.values()] == [box.id]


def test_receiver_over_http_requests_a_license_while_box_created_is_delivered() -> None:
    pool = urllib3.PoolManager(retries=False)
    with LMIFServer(seed=0, retry_policy=FAST) as server:
        seen: list[tuple[str, int]] = []

        def receiver(environ: dict[str, Any], start_response: Any) -> Any:
            event = json.loads(Request(environ).get_data())
            status = 0
            if event["type"] == "box.created":
                answer_ = pool.request(
                    "POST",
                    server.url + "/v1/lmif/licenses/request",
                    body=json.dumps(
                        {
                            "boxId": event["data"]["boxId"],
                            "tier": "creator",
                            "useCase": "AI companion chat",
                            "acceptGuidelines": True,
                        }
                    ),
                    headers={
                        "Authorization": f"Bearer {server.api_key}",
                        "Content-Type": "application/json",
                    },
                    timeout=WAIT,
                )
                status = answer_.status
            seen.append((event["type"], status))
            return Response("ok")(environ, start_response)

        with wsgi_server(receiver) as base:
            server.webhooks.create(base + "/hook", ["*"])
            server.world.box_identity("Grace Hopper", policy="LICENSE")
            assert seen == [("box.created", 201), ("license.requested", 0)]
            deliveries = server.deliveries()
            assert [d.status for d in deliveries] == ["succeeded", "succeeded"], [
                d.attempts[-1].error for d in deliveries
            ]


def test_world_publishes_after_releasing_its_lock_and_needs_no_fake() -> None:
    clock = VirtualClock()
    rng = random.Random(0)
    counter = iter(range(10**6))
    published: list[tuple[str, dict[str, Any]]] = []
    world: World

    def publish(event_type: str, data: dict[str, Any]) -> None:
        # Another thread must be able to change the world while an event is being published.
        other = threading.Thread(target=lambda: world.add_avatar(f"Avatar {event_type}"))
        other.start()
        other.join(WAIT)
        assert not other.is_alive(), "the world's lock was held while publishing"
        published.append((event_type, data))

    world = World(clock, lambda kind: f"{kind}_{next(counter)}", rng, publish)
    box = world.box_identity("Ada Lovelace", policy="LICENSE")
    violation = world.detect_violation(box.id)
    assert [t for t, _ in published] == [
        "box.created",
        "violation.detected",
        "grace_period.started",
    ]
    assert published[0][1]["boxId"] == box.id
    assert published[1][1]["violationId"] == violation.id
    clock.advance(days=30)
    assert [t for t, _ in published][3:] == [
        "grace_period.reminder",
        "grace_period.reminder",
        "grace_period.reminder",
        "grace_period.ending",
        "grace_period.expired",
    ]


def test_events_the_world_sends_carry_its_data_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Built straight from the world's data: no fake data is generated, merged or thrown away."""

    def no_generation(*args: object) -> dict[str, Any]:
        raise AssertionError("the world's events must not generate fake data")

    for event_type in ("box.created", "box.updated"):
        monkeypatch.setitem(payloads.BUILDERS, event_type, no_generation)
    fake = FakeLMIF(seed=0)
    box = fake.world.box_identity("Ada Lovelace", policy="MONETIZE", royalty_rate=0.2)
    fake.world.update_box(box.id, policy="BLOCK_ALL")
    created, updated = fake.events()
    assert created.data == {
        "boxId": box.id,
        "claimId": box.claim.id,
        "identityName": "Ada Lovelace",
        "entityType": "INDIVIDUAL",
        "policy": "MONETIZE",
        "enforcement": "MODERATE",
        "policyConfig": {"royaltyRate": 0.2, "revenueTypes": list(payloads.REVENUE_TYPES)},
    }
    assert updated.data == {
        "boxId": box.id,
        "changes": {"policy": {"from": "MONETIZE", "to": "BLOCK_ALL"}},
    }


def test_a_failing_publish_does_not_hold_back_the_events_after_it() -> None:
    published: list[str] = []

    def publish(event_type: str, data: dict[str, Any]) -> None:
        if event_type == "violation.detected":
            raise RuntimeError("receiver side exploded")
        published.append(event_type)

    counter = iter(range(10**6))
    world = World(VirtualClock(), lambda kind: f"{kind}_{next(counter)}", random.Random(0), publish)
    box = world.box_identity("Ada Lovelace")
    with pytest.raises(RuntimeError, match="exploded"):
        world.detect_violation(box.id)
    assert published == ["box.created", "grace_period.started"]
    assert len(world.violations) == 1


def test_a_sent_world_event_does_not_change_with_the_world_after() -> None:
    fake = FakeLMIF(seed=0)
    box = fake.world.box_identity("Ada Lovelace", revenue_types=["tips"])
    box.revenue_types.append("subscription")  # the world's own list, changed later
    (event,) = fake.events()
    assert event.data["policyConfig"]["revenueTypes"] == ["tips"]
