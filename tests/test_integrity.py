"""Bad input is refused before anything is stored, and an emit is all or nothing (issue 13).

Every case here once answered 500 or stored half an operation: an event with no delivery, a
record that made every later list call fail. Each test checks the refusal *and* that the stored
counts did not move, then that every list endpoint still answers.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from lmif_mock import (
    ConflictError,
    EncodingError,
    FakeLMIF,
    Faults,
    LMIFMockError,
    RetryPolicy,
    sign,
    verify,
)
from lmif_mock.events import MAX_DATA_DEPTH, Event
from lmif_mock.faults import FaultError
from lmif_mock.records import Delivery
from lmif_mock.retry import RetryPolicyError
from lmif_mock.sqlite_store import SQLiteStore
from lmif_mock.store import MemoryStore
from lmif_mock.webhooks import WebhookError
from lmif_mock.world import WorldError
from tests.dashboard_login import log_in
from tests.in_process_api import HEADERS, KEY, api_client, fake_with_a_recorder
from tests.receivers import Recorder

LIST_PATHS = (
    "/v1/lmif/webhooks",
    "/v1/lmif/events",
    "/_mock/deliveries",
    "/v1/lmif/boxes",
    "/v1/lmif/claims",
    "/v1/lmif/violations",
    "/v1/lmif/grace-periods",
    "/v1/lmif/licenses",
)
DEEP = '{"a":' * 600 + "1" + "}" * 600


fake = pytest.fixture(fake_with_a_recorder)
client = pytest.fixture(api_client)


def counts(fake: FakeLMIF) -> tuple[int, ...]:
    world = fake.world
    return (
        len(fake.webhooks.list()),
        len(fake.events()),
        len(fake.deliveries()),
        len(world.boxes),
        len(world.avatars),
        len(world.violations),
        len(world.licenses),
        len(world.requests),
    )


def assert_lists_answer(client: Client) -> None:
    for path in LIST_PATHS:
        answer = client.get(path, headers=HEADERS)
        assert answer.status_code == 200, (path, answer.get_data()[:300])


HOSTILE_BODIES = [
    pytest.param("/_mock/events", b'{"type":"box.created","data":{"n":1e400}}', id="emit-inf"),
    pytest.param("/_mock/events", b'{"type":"box.created","data":{"n":-1e999}}', id="emit-neg-inf"),
    pytest.param("/_mock/events", b'{"type":"box.created","data":{"n":NaN}}', id="emit-nan"),
    pytest.param(
        "/_mock/events", b'{"type":"box.created","data":{"s":"\\ud800"}}', id="emit-surrogate"
    ),
    pytest.param(
        "/_mock/events", b'{"type":"box.created","data":{"\\udfff":1}}', id="emit-surrogate-key"
    ),
    pytest.param(
        "/_mock/events", b'{"type":"box.created","data":%s}' % DEEP.encode(), id="emit-600-deep"
    ),
    pytest.param(
        "/_mock/events", b'{"type":"box.created","faults":{"delay":8e13}}', id="emit-huge-delay"
    ),
    pytest.param(
        "/_mock/events",
        b'{"type":"x.\\ud800","allowUnknown":true}',
        id="emit-surrogate-type",
    ),
    pytest.param(
        "/_mock/events/batch",
        b'{"events":[{"type":"box.created"},{"type":"box.created","data":{"n":1e400}}]}',
        id="batch-second-bad",
    ),
    pytest.param(
        "/v1/lmif/webhooks",
        b'{"url":"http://127.0.0.1:9/\\ud800","events":["*"]}',
        id="webhook-url-surrogate",
    ),
    pytest.param(
        "/v1/lmif/webhooks",
        b'{"url":"http://127.0.0.1:9/","events":["*"],"secret":"\\ud800"}',
        id="webhook-secret-surrogate",
    ),
    pytest.param(
        "/_mock/world/boxes", b'{"identityName":"\\ud800 Star"}', id="world-box-surrogate"
    ),
    pytest.param("/_mock/world/avatars", b'{"name":"Bot \\udbff"}', id="world-avatar-surrogate"),
    pytest.param("/v1/lmif/boxes", b'{"identityName":"A","x":%s}' % DEEP.encode(), id="box-deep"),
    pytest.param(
        "/_mock/events",
        b'{"type":"box.created","retryPolicy":{"delays":[0,1e400]}}',
        id="policy-inf",
    ),
]


@pytest.mark.parametrize(("path", "raw"), HOSTILE_BODIES)
def test_hostile_bodies_are_refused_with_4xx_and_change_nothing(
    fake: FakeLMIF, client: Client, path: str, raw: bytes
) -> None:
    before = counts(fake)
    answer = client.post(path, data=raw, headers=HEADERS)
    assert 400 <= answer.status_code < 500, answer.get_data()[:300]
    assert answer.mimetype == "application/json"
    assert json.loads(answer.get_data())["error"]["code"] == "VALIDATION_ERROR"
    assert counts(fake) == before
    assert_lists_answer(client)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"n": math.nan}, id="nan"),
        pytest.param({"n": math.inf}, id="inf"),
        pytest.param({"s": "\ud800"}, id="surrogate"),
        pytest.param({"\udfff": 1}, id="surrogate-key"),
        pytest.param({"nested": [{"deep": {"x": [math.nan]}}]}, id="nan-inside"),
        pytest.param({1: "int key"}, id="int-key"),
        pytest.param({"s": {1, 2}}, id="set"),
        pytest.param({"o": object()}, id="object"),
        pytest.param({"n": 10**6000}, id="huge-int"),
    ],
)
def test_python_emit_of_unsendable_data_raises_a_typed_error_and_stores_nothing(
    fake: FakeLMIF, data: dict[Any, Any]
) -> None:
    with pytest.raises(EncodingError):
        fake.emit("box.created", data=data)
    assert fake.events() == []
    assert fake.deliveries() == []


def test_data_nested_600_deep_is_a_typed_error_not_a_recursion_error(fake: FakeLMIF) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(600):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(EncodingError, match=f"deeper than {MAX_DATA_DEPTH} levels"):
        fake.emit("box.created", data=deep)
    assert fake.events() == []


def test_data_exactly_at_the_depth_cap_is_sent(fake: FakeLMIF) -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(MAX_DATA_DEPTH - 1):
        inner["a"] = {}
        inner = inner["a"]
    event = fake.emit("box.created", data={"extra": deep})  # data itself is level 0
    assert json.loads(event.body)["data"]["extra"] == deep


def test_huge_delay_is_a_fault_error_and_stores_nothing(fake: FakeLMIF) -> None:
    with pytest.raises(FaultError):
        fake.emit("box.created", faults=Faults(delay=timedelta(seconds=8e13)))
    with pytest.raises(FaultError):
        fake.emit("box.created", faults={"delay": 8e13})
    assert fake.events() == []


def test_unsendable_secret_and_url_are_webhook_errors(fake: FakeLMIF) -> None:
    before = len(fake.webhooks.list())
    with pytest.raises(WebhookError, match="secret"):
        fake.webhooks.create("http://127.0.0.1:9/", ["*"], secret="\ud800")
    with pytest.raises(WebhookError, match="url"):
        fake.webhooks.create("http://127.0.0.1:9/\ud800", ["*"])
    assert len(fake.webhooks.list()) == before


@pytest.mark.parametrize(
    "transition",
    [
        pytest.param(lambda w: w.box_identity("\ud800 Star"), id="box-name"),
        pytest.param(lambda w: w.box_identity("Ada", royalty_rate=math.nan), id="box-nan-rate"),
        pytest.param(lambda w: w.add_avatar("Bot \ud800"), id="avatar-name"),
        pytest.param(lambda w: w.add_avatar("Bot", user_count=math.inf), id="avatar-inf-users"),
        pytest.param(lambda w: w.add_avatar("Bot", user_count=-1), id="avatar-negative-users"),
        pytest.param(lambda w: w.add_avatar("Bot", creator_id="\udc00"), id="avatar-creator"),
    ],
)
def test_world_transitions_with_unsendable_values_are_world_errors_and_change_nothing(
    fake: FakeLMIF, transition: Any
) -> None:
    before = counts(fake)
    with pytest.raises(WorldError):
        transition(fake.world)
    assert counts(fake) == before


def test_license_request_with_unsendable_text_changes_nothing(fake: FakeLMIF) -> None:
    box = fake.world.box_identity("Grace Hopper", policy="LICENSE")
    before = counts(fake)
    with pytest.raises(WorldError):
        fake.world.request_license(box.id, use_case="chat \ud800")
    with pytest.raises(WorldError):
        fake.world.request_license(box.id, message="\udfff")
    assert counts(fake) == before


def test_every_refusal_is_a_subclass_of_the_root_error(fake: FakeLMIF) -> None:
    for call in (
        lambda: fake.emit("box.created", data={"n": math.nan}),
        lambda: fake.emit("box.created", faults={"duplicates": 10**9}),
        lambda: fake.emit("box.created", retry_policy=RetryPolicy(delays=[0] * 5000)),
        lambda: fake.webhooks.create("http://127.0.0.1:9/", ["*"], secret="\ud800"),
        lambda: fake.world.box_identity("\ud800"),
        lambda: fake.emit("box.created", data=["not", "a", "mapping"]),  # type: ignore[arg-type]
        lambda: fake.emit("box.created", retry_policy={"delays": [0]}),  # type: ignore[arg-type]
    ):
        with pytest.raises(LMIFMockError):
            call()
    assert fake.events() == []


def test_retry_policy_errors_are_typed() -> None:
    with pytest.raises(RetryPolicyError):
        RetryPolicy(delays=[0, 8e13])


# -- an emit is all or nothing ------------------------------------------------------------------


def test_a_receiver_sees_every_delivery_of_the_event_from_its_first_attempt() -> None:
    """The event and all its deliveries are stored before the first attempt is made."""
    fake = FakeLMIF(seed=0)
    seen: list[int] = []

    def receiver(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        event_id = json.loads(environ["wsgi.input"].read())["id"]
        seen.append(len(fake.deliveries(event_id=event_id)))
        start_response("200 OK", [])
        return [b"ok"]

    for _ in range(3):
        fake.webhooks.create(receiver, ["box.created"])
    fake.emit("box.created", faults=Faults(duplicates=1))
    assert seen == [6] * 6


def test_a_batch_with_one_unsendable_event_stores_none_of_them(fake: FakeLMIF) -> None:
    with pytest.raises(EncodingError):
        fake.emit_many(["box.created", ("box.updated", {"n": math.nan}), "box.deleted"])
    assert fake.events() == []
    assert fake.deliveries() == []


class _Exploding(list[Delivery]):
    """Deliveries that fail to be read after the first, as a crash mid-write would."""

    def __iter__(self) -> Iterator[Delivery]:
        items = list.__iter__(self)
        yield next(items)
        raise OSError("disk gone")


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_store_keeps_an_event_with_its_deliveries_or_neither(kind: str, tmp_path: Any) -> None:
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "lmif.db")
    fake = FakeLMIF(seed=0, store=store)
    fake.webhooks.create("http://127.0.0.1:1/x", ["*"])
    fake.webhooks.create("http://127.0.0.1:1/y", ["*"])
    event = fake.factory.build("box.created")
    planned = fake.dispatcher._plan(event, fake.webhooks.list()[0], Faults(), RetryPolicy())
    planned += fake.dispatcher._plan(event, fake.webhooks.list()[1], Faults(), RetryPolicy())
    if kind == "sqlite":
        with pytest.raises(OSError, match="disk gone"):
            store.add_event_with_deliveries(event, _Exploding(planned))
        assert store.list_events() == []
        assert store.list_deliveries() == []
    store.add_event_with_deliveries(event, planned)
    assert [e.id for e in store.list_events()] == [event.id]
    assert [d.id for d in store.list_deliveries(event_id=event.id)] == [d.id for d in planned]


# -- the global previous_secret fault -----------------------------------------------------------


def test_global_previous_secret_never_500s_on_test_scenarios_or_dashboard(
    fake: FakeLMIF, client: Client
) -> None:
    (webhook,) = fake.webhooks.list()
    assert webhook.previous_secret is None
    put = client.put("/_mock/faults", data=b'{"signature":"previous_secret"}', headers=HEADERS)
    assert put.status_code == 200
    test = client.post(
        "/v1/lmif/webhooks/test",
        data=json.dumps({"eventType": "box.created", "webhookId": webhook.id}),
        headers=HEADERS,
    )
    assert test.status_code == 201, test.get_data()[:300]
    scenario = client.post("/_mock/scenarios/policy-tightened", headers=HEADERS)
    assert scenario.status_code == 201, scenario.get_data()[:300]
    log_in(client, KEY)
    page = client.get(f"/dashboard/webhooks/{webhook.id}").get_data(as_text=True)
    csrf = re.search(r'name=csrf value="([0-9a-f]{64})"', page)
    assert csrf is not None
    button = client.post(
        f"/dashboard/webhooks/{webhook.id}/test",
        data={"event_type": "box.created", "csrf": csrf.group(1)},
    )
    assert button.status_code == 303
    fake.clock.advance(days=31)
    assert_lists_answer(client)
    # Never rotated: nothing to sign with, so those deliveries went out correctly signed.
    delivered = fake.deliveries(webhook_id=webhook.id)
    assert len(delivered) >= 4
    assert all(d.faults.signature is None and d.status == "succeeded" for d in delivered)


def test_global_previous_secret_signs_rotated_webhooks_with_their_old_secret() -> None:
    fake = FakeLMIF(seed=0)
    rotated_receiver, plain_receiver = Recorder(), Recorder()
    rotated = fake.webhooks.create(rotated_receiver, ["*"], secret="old-secret")
    fake.webhooks.rotate_secret(rotated.id, "new-secret")
    plain = fake.webhooks.create(plain_receiver, ["*"], secret="only-secret")
    fake.default_faults = Faults(signature="previous_secret")
    fake.world.box_identity("Katherine Johnson")
    (body,) = rotated_receiver.bodies
    assert rotated_receiver.requests[0].headers["X-LMIF-Signature"] == sign(body, "old-secret")
    (plain_body,) = plain_receiver.bodies
    assert verify(plain_body, plain_receiver.requests[0].headers["X-LMIF-Signature"], plain.secret)


def test_explicit_previous_secret_on_an_unrotated_webhook_is_still_refused(
    fake: FakeLMIF, client: Client
) -> None:
    answer = client.post(
        "/_mock/events",
        data=b'{"type":"box.created","faults":{"signature":"previous_secret"}}',
        headers=HEADERS,
    )
    assert answer.status_code == 400
    assert "not rotated" in answer.get_data(as_text=True)
    assert fake.events() == []


def test_an_emit_reusing_an_event_id_sends_that_event_again_and_never_a_second_payload() -> None:
    """One event id never stands for two payloads: reusing it re-sends the stored event (what the
    forged-copies check relies on), and a different type or new data is refused before storing."""
    fake = FakeLMIF(seed=1)
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    first = fake.emit("box.created", data={"identityName": "first"})
    with pytest.raises(ConflictError, match=r"box\.created"):
        fake.emit("license.approved", event_id=first.id)
    with pytest.raises(ConflictError, match="no data"):
        fake.emit("box.created", event_id=first.id, data={"identityName": "second"})
    assert len(fake.deliveries(event_id=first.id)) == 1
    again = fake.emit("box.created", event_id=first.id, faults=Faults(signature="missing"))
    assert again.data == first.data
    assert again.body == first.body
    deliveries = fake.deliveries(event_id=first.id)
    assert [d.body for d in deliveries] == [first.body, first.body]
    assert [json.loads(body)["data"] for body in receiver.bodies] == [first.data, first.data]
    (copy,) = fake.event_copies(first.id).values()
    assert copy.body == first.body


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_two_emits_racing_with_one_new_event_id_never_send_two_payloads(
    kind: str, tmp_path: Path
) -> None:
    """Two emits name the same new event id at once (a client retrying its POST): both find the
    id free and build an event, but only the first stored may be sent; the other is refused whole
    (no event, no delivery, nothing sent) unless it is byte for byte the same event. The race is
    made certain here by letting both build before either stores."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "lmif.db")
    fake = FakeLMIF(seed=3, store=store)
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    first = fake._build("box.created", {"identityName": "first"}, False, "evt_client_retry")
    second = fake._build("box.created", {"identityName": "second"}, False, "evt_client_retry")
    fake._deliver(first, None, None)
    with pytest.raises(ConflictError, match="another payload"):
        fake._deliver(second, None, None)
    same = Event.from_envelope(json.loads(first.body))  # equal, not the same object
    fake._deliver(same, None, None)  # the very same event: a re-send, allowed
    payloads = {json.loads(body)["data"]["identityName"] for body in receiver.bodies}
    assert payloads == {"first"}
    assert len(receiver.bodies) == len(fake.deliveries(event_id="evt_client_retry")) == 2
    (stored,) = fake.events()
    assert stored.data["identityName"] == "first"
    fake.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_emits_racing_on_threads_with_one_event_id_leave_one_payload(
    kind: str, tmp_path: Path
) -> None:
    """The same over threads, as an API server meets it: rounds of two emits released together
    with one new id and different data. Whoever wins, every delivery of an id carries the one
    stored payload, and a loser got a ConflictError, never a second payload."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "lmif.db")
    fake = FakeLMIF(seed=4, store=store)
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    refused = 0
    for round_number in range(40):
        gate = threading.Barrier(2)
        outcomes: list[str] = []

        def emit(
            name: str,
            event_id: str = f"evt_round_{round_number:03d}",
            gate: threading.Barrier = gate,
            outcomes: list[str] = outcomes,
        ) -> None:
            gate.wait(30)
            try:
                fake.emit("box.created", {"identityName": name}, event_id=event_id)
                outcomes.append("sent")
            except ConflictError:
                outcomes.append("refused")

        threads = [threading.Thread(target=emit, args=(n,)) for n in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        # a second "sent" means the second emit found the first stored and re-sent it
        assert sorted(outcomes) in (["refused", "sent"], ["sent", "sent"])
        refused += outcomes.count("refused")
    by_id: dict[str, set[str]] = {}
    for body in receiver.bodies:
        envelope = json.loads(body)
        by_id.setdefault(envelope["id"], set()).add(envelope["data"]["identityName"])
    assert all(len(names) == 1 for names in by_id.values()), by_id
    for event in fake.events():
        assert by_id[event.id] == {event.data["identityName"]}
    assert refused + len(receiver.bodies) == 80
    fake.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize(
    ("one", "other"),
    [({"extra": True}, {"extra": 1}), ({"x1": 1, "x2": 2}, {"x2": 2, "x1": 1})],
    ids=["true-vs-1", "key-order"],
)
def test_payloads_equal_to_python_but_not_on_the_wire_are_two_payloads(
    kind: str, one: dict[str, Any], other: dict[str, Any], tmp_path: Path
) -> None:
    """``True == 1`` and dicts ignore key order in Python, but a receiver reads bytes: the
    second emit of the race is refused in both stores (the SQLite one compared decoded JSON)."""
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "lmif.db")
    fake = FakeLMIF(seed=5, store=store)
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    first = fake._build("box.created", one, False, "evt_same")
    second = Event.from_envelope({**json.loads(first.body), "data": {**first.data, **other}})
    for key in one:  # the same keys, in the other's order and types
        second.data.pop(key, None)  # type: ignore[attr-defined]
    second.data.update(other)  # type: ignore[attr-defined]
    assert second.data == first.data  # equal to Python...
    assert second.for_webhook(None).body != first.for_webhook(None).body  # ...not on the wire
    fake._deliver(first, None, None)
    with pytest.raises(ConflictError, match="another payload"):
        fake._deliver(second, None, None)
    assert len(receiver.bodies) == 1
    fake.close()
