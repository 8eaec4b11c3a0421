"""Load: 10,000 events to 3 endpoints, 20% random failures, on a real clock sped up 100,000 times
(the 34-hour retry schedule in about a second). Every delivery must reconcile exactly."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

from lmif_mock import FakeLMIF, RealClock

EVENTS = 10_000
ENDPOINTS = 3
FAILURE_RATE = 0.2


class Flaky:
    """A receiver that fails 20% of calls at random (seeded) and counts every call per event."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = environ["wsgi.input"].read()
        event_id = body[7:23].decode()  # {"id":"evt_xxxxxxxxxxxx"...: the id, without parsing
        with self.lock:
            self.calls[event_id] += 1
            fail = self.rng.random() < FAILURE_RATE
        start_response("503 Service Unavailable" if fail else "200 OK", [])
        return [b"busy" if fail else b"ok"]


def test_ten_thousand_events_to_three_flaky_endpoints_reconcile_exactly() -> None:
    fake = FakeLMIF(clock=RealClock(scale=100_000), seed=1, max_workers=8)
    receivers = [Flaky(seed) for seed in range(ENDPOINTS)]
    hooks = [fake.webhooks.create(r, ["*"]) for r in receivers]
    try:
        emitted = [fake.emit("box.created").id for _ in range(EVENTS)]
        deadline = time.monotonic() + 300
        while fake.deliveries(status="pending") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert fake.dispatcher.wait_idle(30)
        deliveries = fake.deliveries()
    finally:
        fake.close()

    assert len(deliveries) == EVENTS * ENDPOINTS  # nothing lost
    assert {(d.event_id, d.webhook_id) for d in deliveries} == {
        (e, h.id) for e in emitted for h in hooks
    }
    attempts = 0
    for delivery in deliveries:
        assert delivery.status in ("succeeded", "failed"), delivery
        numbers = [a.number for a in delivery.attempts]
        assert numbers == list(range(1, len(numbers) + 1))
        assert 1 <= len(numbers) <= 7
        *earlier, last = delivery.attempts
        assert all(a.status_code == 503 for a in earlier)
        if delivery.status == "succeeded":
            assert last.status_code == 200
        else:
            assert len(numbers) == 7
            assert last.status_code == 503
        gaps = [b.at - a.at for a, b in zip(delivery.attempts, delivery.attempts[1:], strict=False)]
        assert all(
            gap >= delivery.policy.delays[i + 1] for i, gap in enumerate(gaps)
        )  # never early
        attempts += len(numbers)
    by_receiver = {h.id: r for h, r in zip(hooks, receivers, strict=True)}
    for delivery in deliveries:  # the receiver saw exactly the attempts recorded, no more
        assert by_receiver[delivery.webhook_id].calls[delivery.event_id] == len(delivery.attempts)
    assert sum(sum(r.calls.values()) for r in receivers) == attempts
    first_try = sum(1 for d in deliveries if len(d.attempts) == 1) / len(deliveries)
    assert 0.75 < first_try < 0.85  # the 20% failure rate really happened
