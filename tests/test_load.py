"""Load: 10,000 events to 3 endpoints, 20% random failures, on a real clock sped up 100,000 times
(the 34-hour retry schedule in about a second); and ``serve --db`` killed with -9 under load, then
restarted. Every delivery must reconcile exactly."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request

from lmif_mock import FakeLMIF, RealClock
from lmif_mock.sqlite_store import SQLiteStore
from tests.api_client import Client
from tests.processes import Running
from tests.receivers import wsgi_server

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


class Counting:
    """A receiver that counts requests per (event, webhook) and fails the first attempt of every
    third delivery, so retries are pending whenever the server is killed."""

    def __init__(self) -> None:
        self.seen: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        envelope = json.loads(Request(environ).get_data())
        key = (envelope["id"], envelope["meta"]["webhookId"])
        with self.lock:
            self.seen[key] += 1
            fail = self.seen[key] == 1 and zlib.crc32(key[0].encode()) % 3 == 0
        time.sleep(0.002)  # an attempt takes a moment, so some are in flight at the kill
        start_response("500 Internal Server Error" if fail else "200 OK", [])
        return [b"no" if fail else b"ok"]


def _emit_until(url: str, key: str, stop: threading.Event, emitted: list[str]) -> None:
    client = Client(url, key)
    while not stop.is_set():
        try:
            answer = client.post("/_mock/events", {"type": "license.approved"})
        except Exception:  # the server was killed mid-request: expected, stop sending
            return
        emitted.append(answer.data["event"]["id"])


def _wait_settled(url: str, key: str, timeout: float = 120) -> None:
    client = Client(url, key)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/_mock/deliveries?status=pending&limit=1").body["meta"]["total"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"deliveries still pending {timeout} s after the restart")


def test_kill_9_under_load_then_restart_reconciles_exactly(tmp_path: Path) -> None:
    """At least once: every event keeps all its deliveries, every delivery settles after the
    restart with attempts numbered 1..n, and the receiver saw each delivery exactly as often as
    its attempts say, or once more (the attempt the kill interrupted, made again)."""
    db = tmp_path / "lmif.db"
    receiver = Counting()
    with wsgi_server(receiver) as base:
        hooks = [base + "/a", base + "/b"]
        options = ("serve", "--port", "0", "--db", str(db), "--quiet", "--time-scale", "600")
        forward = [arg for url in hooks for arg in ("--forward-to", url)]
        first = Running(*options, *forward)
        try:
            url = first.wait_for(r"fake LMIF API at (\S+)").group(1)
            key = first.wait_for(r"API key:\s+(\S+)").group(1)
            first.wait_for(r"API docs")
            policy = {"delays": [0, 30, 30, 30], "timeout": 5}  # retries 50 ms apart at 600x
            assert Client(url, key).call("PUT", "/_mock/retry-policy", policy).status == 200
            stop = threading.Event()
            emitted: list[str] = []
            senders = [
                threading.Thread(target=_emit_until, args=(url, key, stop, emitted))
                for _ in range(3)
            ]
            for sender in senders:
                sender.start()
            deadline = time.monotonic() + 60
            while len(emitted) < 150 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(emitted) >= 150, "the server emitted too slowly to be loaded"
            first.stop(signal.SIGKILL)  # mid-load: emits, attempts and retries all in progress
        finally:
            stop.set()
            if first.process.poll() is None:
                first.stop(signal.SIGKILL)
        for sender in senders:
            sender.join(timeout=30)

        second = Running(*options, *forward)  # the same --forward-to URLs: no new webhooks
        try:
            url = second.wait_for(r"fake LMIF API at (\S+)").group(1)
            assert second.wait_for(r"API key:\s+(\S+)").group(1) == key
            second.wait_for(r"pending deliveries resumed")
            _wait_settled(url, key)
        finally:
            assert second.stop(signal.SIGINT) == 0

    store = SQLiteStore(db)
    try:
        webhooks = {w.id for w in store.list_webhooks()}
        events = store.list_events()
        deliveries = store.list_deliveries()
        saved_policy = store.get_meta("retry_policy")
    finally:
        store.close()
    assert len(webhooks) == 2
    assert set(emitted) <= {e.id for e in events}  # every answered emit was kept
    by_event: dict[str, list[str]] = {}
    for delivery in deliveries:
        by_event.setdefault(delivery.event_id, []).append(delivery.webhook_id)
    for event in events:  # no event without its deliveries, none twice
        assert sorted(by_event.get(event.id, [])) == sorted(webhooks), event.id
    assert len(deliveries) == 2 * len(events)
    extra = 0
    for delivery in deliveries:
        assert delivery.status in ("succeeded", "failed"), delivery
        numbers = [a.number for a in delivery.attempts]
        assert numbers == list(range(1, len(numbers) + 1)), delivery
        got = receiver.seen[(delivery.event_id, delivery.webhook_id)]
        assert got in (len(numbers), len(numbers) + 1), (delivery, got)
        extra += got - len(numbers)
        if delivery.status == "succeeded":
            assert delivery.attempts[-1].status_code == 200
    assert extra <= 8  # at most one interrupted attempt per worker thread
    known = {(d.event_id, d.webhook_id) for d in deliveries}
    assert set(receiver.seen) <= known  # nothing reached the receiver that the store forgot
    assert json.loads(saved_policy or "null") == {"delays": [0.0, 30.0, 30.0, 30.0], "timeout": 5.0}
