"""Both stores keep the same contract, and SQLite keeps it across a restart."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from lmif_mock import Faults, RetryPolicy
from lmif_mock.clock import DEFAULT_START
from lmif_mock.durable import DurableServer
from lmif_mock.events import Event
from lmif_mock.http.api_keys import KeyRing
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.sqlite_store import SCHEMA_VERSION, DatabaseFileError, SQLiteStore
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


# -- the file itself: mode, version, and a clear refusal of anything it cannot use --------------

#: The layout lmif-mock 0.1 wrote, with no schema version: what a user upgrading already has.
UNVERSIONED_01_SCHEMA = """
CREATE TABLE webhooks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL, webhook_id TEXT NOT NULL,
    status TEXT NOT NULL, doc TEXT NOT NULL, body BLOB NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def refusal(path: Path) -> str:
    with pytest.raises(DatabaseFileError) as caught:
        SQLiteStore(path)
    message = str(caught.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_its_journal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "lmif.db"
    old_umask = os.umask(0o022)  # the usual umask would give 0644
    try:
        store = SQLiteStore(path)
        store.put_webhook(webhook(1))
        companions = [p for p in tmp_path.iterdir() if p.name.startswith("lmif.db")]
        assert {p.name for p in companions} >= {"lmif.db", "lmif.db-wal"}
        assert {p.name: mode(p) for p in companions} == {p.name: 0o600 for p in companions}
        store.close()
    finally:
        os.umask(old_umask)


def test_an_existing_world_readable_file_is_narrowed_to_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "lmif.db"
    SQLiteStore(path).close()
    path.chmod(0o644)
    SQLiteStore(path).close()
    assert mode(path) == 0o600


def test_an_unversioned_01_file_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with closing(sqlite3.connect(path)) as old:
        old.executescript(UNVERSIONED_01_SCHEMA)
        old.execute(
            "INSERT INTO meta VALUES ('api_key', 'lmif_test_from_01'), ('clock', ?)",
            ((T0 + timedelta(hours=2)).isoformat(),),
        )
        old.commit()
    store = SQLiteStore(path)
    store.put_webhook(webhook(1))
    assert store.get_meta("api_key") == "lmif_test_from_01"
    assert store.load_clock() == T0 + timedelta(hours=2)
    assert store.get_webhook("wh_1") == webhook(1)
    store.close()
    with closing(sqlite3.connect(path)) as migrated:
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_an_old_layout_that_cannot_be_migrated_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "older.db"
    with closing(sqlite3.connect(path)) as old:
        old.executescript(UNVERSIONED_01_SCHEMA.replace(", body BLOB NOT NULL", ""))
    before = path.read_bytes()
    message = refusal(path)
    assert "cannot be migrated" in message
    assert "deliveries.body" in message
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    with closing(sqlite3.connect(path)) as newer:
        newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    assert "newer lmif-mock" in refusal(path)


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with closing(sqlite3.connect(path)) as other:
        other.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    assert "not an lmif-mock database" in refusal(path)


def test_damaged_files_are_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.db"
    store = SQLiteStore(good)
    for n in range(300):
        store.add_event(Event(f"evt_{n}", "box.created", T0, {"text": "x" * 500}))
    store.close()
    whole = good.read_bytes()
    (tmp_path / "noise.db").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "half.db").write_bytes(whole[: len(whole) // 2])
    assert "not an SQLite database or is damaged" in refusal(tmp_path / "noise.db")
    assert "damaged" in refusal(tmp_path / "half.db")


def test_a_directory_or_a_missing_parent_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    assert "is a directory" in refusal(tmp_path / "state")
    assert "does not exist" in refusal(tmp_path / "nowhere" / "lmif.db")


def test_one_server_per_file(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "lmif.db")
    assert "in use" in refusal(tmp_path / "lmif.db")
    first.close()
    SQLiteStore(tmp_path / "lmif.db").close()  # free again once the first is closed


def test_clear_forgets_records_but_keeps_settings(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "lmif.db")
    store.put_meta("api_key", "lmif_test_k")
    store.save_clock(T0)
    store.put_webhook(webhook(1))
    store.clear()
    assert store.list_webhooks() == []
    assert store.get_meta("api_key") == "lmif_test_k"
    assert store.load_clock() == T0
    store.delete_meta("api_key")
    assert store.get_meta("api_key") is None


def test_a_key_ring_snapshot_restores_rotations_and_revocations() -> None:
    ring = KeyRing("k0")
    changes: list[str] = []
    ring.on_change(lambda: changes.append(ring.current))
    ring.rotate("k1", T0)
    ring.rotate("k2", T0 + timedelta(hours=1))
    ring.revoke("k0", T0 + timedelta(hours=2))
    assert changes == ["k1", "k2", "k2"]
    copy = KeyRing("other")
    copy.restore(json.loads(json.dumps(ring.snapshot())))
    later = T0 + timedelta(hours=3)
    for key in ("k0", "k1", "k2", "nope"):
        assert copy.status(key, later) == ring.status(key, later)
    assert copy.status("k0", later)[0] == "revoked"
    assert copy.status("k1", later)[0] == "valid"  # still in its 24-hour grace
    copy.reset()
    assert (copy.current, copy.status("k2", later)[0]) == ("k0", "unknown")


@pytest.mark.parametrize(
    "junk",
    [{}, {"initial": "a", "current": "b"}, {"initial": 1, "current": "b", "retired": []},
     {"initial": "a", "current": "b", "retired": [{"key": "c", "kind": "lost", "at": T0.isoformat()}]},
     {"initial": "a", "current": "b", "retired": [{"key": "c", "kind": "revoked", "at": "soon"}]}],
)  # fmt: skip
def test_a_damaged_key_ring_snapshot_changes_nothing(junk: dict[str, object]) -> None:
    ring = KeyRing("k0")
    ring.rotate("k1", T0)
    before = ring.snapshot()
    with pytest.raises(ValueError, match="not a saved key ring"):
        ring.restore(junk)
    assert ring.snapshot() == before


def test_a_durable_server_keeps_its_key_unless_given_another(tmp_path: Path) -> None:
    path = tmp_path / "lmif.db"

    def key_of(api_key: str | None = None) -> str:
        server = DurableServer(store=SQLiteStore(path), api_key=api_key)
        try:
            return server.api_key
        finally:
            server.close()
            server.database.close()

    generated = key_of()
    assert generated.startswith("lmif_test_")
    assert key_of() == generated
    assert key_of("lmif_test_chosen") == "lmif_test_chosen"
    assert key_of() == "lmif_test_chosen"  # a given key replaces the saved one


@pytest.mark.parametrize(
    ("key", "value"), [("api_keys", '{"initial": 1}'), ("retry_policy", '"x"')]
)
def test_unreadable_saved_settings_are_a_database_file_error(
    tmp_path: Path, key: str, value: str
) -> None:
    store = SQLiteStore(tmp_path / "lmif.db")
    store.put_meta(key, value)
    with pytest.raises(DatabaseFileError, match="unreadable"):
        DurableServer(store=store)
    store.close()
