"""Both stores keep the same contract, and SQLite keeps it across a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from lmif_mock import Faults, RetryPolicy
from lmif_mock.clock import DEFAULT_START
from lmif_mock.events import Event
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.sqlite_store import SQLiteStore
from lmif_mock.store import MemoryStore, Store

T0 = DEFAULT_START


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "lmif.db")


def webhook(n: int) -> Webhook:
    return Webhook(f"wh_{n}", f"http://127.0.0.1/{n}", ("box.created", "*"), f"s{n}", T0)


def delivery(n: int, event: str = "evt_1", hook: str = "wh_1") -> Delivery:
    return Delivery(
        id=f"dlv_{n}",
        event_id=event,
        event_type="box.created",
        webhook_id=hook,
        created_at=T0,
        next_attempt_at=T0 + timedelta(minutes=1),
        body=f'{{"id":"{event}","n":"é{n}"}}'.encode(),
        faults=Faults(duplicates=1, signature="missing"),
        policy=RetryPolicy(delays=[0, 60], timeout=5),
    )


def test_webhooks(store: Store) -> None:
    for n in (3, 1, 2):
        store.put_webhook(webhook(n))
    assert [w.id for w in store.list_webhooks()] == ["wh_3", "wh_1", "wh_2"]
    changed = Webhook(
        "wh_1", "http://127.0.0.1/new", ("*",), "s", T0, enabled=False, previous_secret="old"
    )
    store.put_webhook(changed)
    assert store.get_webhook("wh_1") == changed
    assert [w.id for w in store.list_webhooks()] == ["wh_3", "wh_1", "wh_2"]  # order kept
    assert store.delete_webhook("wh_1")
    assert not store.delete_webhook("wh_1")
    assert store.get_webhook("wh_1") is None


def test_events(store: Store) -> None:
    first = Event("evt_1", "box.created", T0, {"name": "Beyoncé", "n": 1.5})
    store.add_event(first)
    store.add_event(Event("evt_1", "box.created", T0, {"other": True}))  # ignored: same id
    store.add_event(Event("evt_2", "license.expired", T0 + timedelta(hours=1), {}))
    got = store.get_event("evt_1")
    assert got is not None
    assert got.body == first.body
    assert [e.id for e in store.list_events()] == ["evt_1", "evt_2"]
    assert [e.id for e in store.list_events("license.expired")] == ["evt_2"]
    assert store.get_event("evt_3") is None


def test_deliveries_round_trip_and_filters(store: Store) -> None:
    original = delivery(1)
    store.put_delivery(original)
    store.put_delivery(delivery(2, event="evt_2"))
    store.put_delivery(delivery(3, hook="wh_2"))
    attempt = Attempt(1, T0, 500, "http_error", 0.0123, "HTTP 500", "oops", signature="sha256=ab")
    updated = original.with_attempt(attempt, "pending", T0 + timedelta(minutes=1))
    store.put_delivery(updated)
    assert store.get_delivery("dlv_1") == updated
    assert [d.id for d in store.list_deliveries()] == ["dlv_1", "dlv_2", "dlv_3"]
    assert [d.id for d in store.list_deliveries(event_id="evt_1")] == ["dlv_1", "dlv_3"]
    assert [d.id for d in store.list_deliveries(webhook_id="wh_2")] == ["dlv_3"]
    assert [d.id for d in store.list_deliveries(event_id="evt_1", webhook_id="wh_1")] == ["dlv_1"]
    final = updated.with_attempt(Attempt(2, T0, 200, None, 0.01), "succeeded", None)
    store.put_delivery(final)
    assert [d.id for d in store.list_deliveries(status="succeeded")] == ["dlv_1"]
    assert store.get_delivery("nope") is None


def test_clear(store: Store) -> None:
    store.put_webhook(webhook(1))
    store.add_event(Event("evt_1", "box.created", T0, {}))
    store.put_delivery(delivery(1))
    store.clear()
    assert (store.list_webhooks(), store.list_events(), store.list_deliveries()) == ([], [], [])


def test_sqlite_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SQLiteStore(path)
    first.put_webhook(webhook(1))
    first.put_delivery(delivery(1))
    first.save_clock(T0 + timedelta(hours=3))
    first.put_meta("api_key", "lmif_test_k")
    first.close()
    again = SQLiteStore(path)
    assert again.get_webhook("wh_1") == webhook(1)
    assert again.get_delivery("dlv_1") == delivery(1)
    assert again.load_clock() == T0 + timedelta(hours=3)
    assert again.get_meta("api_key") == "lmif_test_k"
    assert again.get_meta("nothing") is None
