"""The README's "Deliveries, retries and faults" sentences about caps and refusals, one test each.

Each cap is checked at its limit (accepted) where that is cheap, and one past it (refused with a
4xx whose message or details name the cap, nothing stored). Over HTTP through the API's WSGI app, in
Python through the typed errors.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client

from lmif_mock import (
    EncodingError,
    FakeLMIF,
    FaultError,
    Faults,
    LMIFMockError,
    RetryPolicy,
    RetryPolicyError,
)
from lmif_mock.http.app import API
from tests.in_process_api import HEADERS, KEY, api_client, fake_with_a_recorder
from tests.receivers import Recorder

fake = pytest.fixture(fake_with_a_recorder)
client = pytest.fixture(api_client)


def refused(client: Client, method: str, path: str, body: Any, cap: str) -> None:
    answer = client.open(path, method=method, data=json.dumps(body), headers=HEADERS)
    assert answer.status_code == 400, answer.get_data()[:300]
    error = json.loads(answer.get_data())["error"]
    assert error["code"] == "VALIDATION_ERROR"
    # The message is the provider's documented "Invalid request"; details name the field and cap.
    said = json.dumps([error["message"], error.get("details")])
    assert cap in said, said
    assert "(the cap)" in said, said


def emitted(client: Client, body: Any) -> dict[str, Any]:
    answer = client.post("/_mock/events", data=json.dumps(body), headers=HEADERS)
    assert answer.status_code == 201, answer.get_data()[:300]
    return json.loads(answer.get_data())["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("name", "cap"),
    [("duplicates", 100), ("concurrent_duplicates", 32), ("drop_after_response", 100)],
)
def test_fault_counts_are_capped(fake: FakeLMIF, client: Client, name: str, cap: int) -> None:
    refused(
        client,
        "POST",
        "/_mock/events",
        {"type": "box.created", "faults": {name: cap + 1}},
        f"at most {cap}",
    )
    with pytest.raises(FaultError, match=f"at most {cap} \\(the cap\\)"):
        Faults.from_dict({name: cap + 1})
    assert fake.events() == []
    made = emitted(client, {"type": "box.created", "faults": {name: cap}})
    copies = {"duplicates": cap, "concurrent_duplicates": cap}.get(name, 0)
    assert len(made["deliveries"]) == 1 + copies


def test_delay_is_capped_at_366_days(fake: FakeLMIF, client: Client) -> None:
    refused(
        client,
        "POST",
        "/_mock/events",
        {"type": "box.created", "faults": {"delay": 366 * 86400 + 1}},
        "366 days",
    )
    assert fake.events() == []
    made = emitted(client, {"type": "box.created", "faults": {"delay": 366 * 86400}})
    assert made["deliveries"][0]["attempts"] == []


def test_retry_policy_attempts_delays_and_timeout_are_capped(
    fake: FakeLMIF, client: Client
) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"delays": [0] * 101}, "at most 100 attempts"),
        ({"delays": [0] * 5000}, "at most 100 attempts"),
        ({"delays": [0, 366 * 86400 + 1]}, "366 days"),
        ({"delays": [0], "timeout": 3601}, "3600 s"),
    ]
    for body, cap in cases:
        refused(client, "PUT", "/_mock/retry-policy", body, cap)
        refused(client, "POST", "/_mock/events", {"type": "box.created", "retryPolicy": body}, cap)
        with pytest.raises(RetryPolicyError, match="the cap"):
            RetryPolicy.from_seconds(body)
    assert fake.events() == []
    at_cap = {"delays": [0] * 99 + [366 * 86400], "timeout": 3600}
    put = client.put("/_mock/retry-policy", data=json.dumps(at_cap), headers=HEADERS)
    assert put.status_code == 200
    assert fake.retry_policy.max_attempts == 100
    assert fake.retry_policy.timeout == timedelta(hours=1)


def test_one_emit_or_batch_makes_at_most_10000_deliveries() -> None:
    fake = FakeLMIF(seed=0)
    for index in range(100):
        fake.webhooks.create(f"http://127.0.0.1:1/{index}", ["*"])
    client = Client(API(fake, KEY))
    # 100 webhooks x (1 + 100 duplicates) = 10,100 deliveries
    refused(
        client, "POST", "/_mock/events", {"type": "box.created", "faults": {"duplicates": 100}},
        "at most 10000",
    )  # fmt: skip
    with pytest.raises(FaultError, match="at most 10000 per emit"):
        fake.emit("box.created", faults=Faults(duplicates=100))
    # 50 + 50 duplicates on 100 webhooks: each event alone is under the cap, the batch is not
    batch = {"events": [{"type": "box.created"}] * 2, "faults": {"duplicates": 50}}
    refused(client, "POST", "/_mock/events/batch", batch, "at most 10000")
    with pytest.raises(FaultError, match="at most 10000"):
        fake.emit_many(["box.created", "box.created"], faults=Faults(duplicates=50))
    assert fake.events() == []
    assert fake.deliveries() == []


def test_a_batch_holds_at_most_1000_events(fake: FakeLMIF, client: Client) -> None:
    refused(
        client,
        "POST",
        "/_mock/events/batch",
        {"events": [{"type": "box.created"}] * 1001},
        "at most 1000",
    )
    assert fake.events() == []


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels):
        value = {"a": value}
    return value


def test_event_data_nests_at_most_32_levels(fake: FakeLMIF, client: Client) -> None:
    refused(
        client, "POST", "/_mock/events", {"type": "box.created", "data": nested(33)}, "32 levels"
    )
    with pytest.raises(EncodingError, match="32 levels \\(the cap\\)"):
        fake.emit("box.created", data=nested(33))
    assert fake.events() == []
    made = emitted(client, {"type": "box.created", "data": nested(32)})
    assert made["event"]["data"]["a"] == nested(31)


def test_a_request_body_is_at_most_1_mib(fake: FakeLMIF, client: Client) -> None:
    body = json.dumps({"type": "box.created", "data": {"pad": "x" * (1024 * 1024)}})
    answer = client.post("/_mock/events", data=body, headers=HEADERS)
    assert answer.status_code == 413
    assert json.loads(answer.get_data())["error"]["details"] == {"limit": 1024 * 1024}
    assert fake.events() == []


def test_bad_input_is_refused_before_anything_is_stored(fake: FakeLMIF, client: Client) -> None:
    """README: `1e400`, NaN, a lone surrogate and data nested too deep; 400 / LMIFMockError."""
    for raw in (
        b'{"type":"box.created","data":{"n":1e400}}',
        b'{"type":"box.created","data":{"n":NaN}}',
        b'{"type":"box.created","data":{"s":"\\ud800"}}',
        b'{"type":"box.created","data":' + json.dumps(nested(40)).encode() + b"}",
    ):
        answer = client.post("/_mock/events", data=raw, headers=HEADERS)
        assert answer.status_code == 400, raw
    for data in ({"n": float("inf")}, {"n": float("nan")}, {"s": "\ud800"}, nested(40)):
        with pytest.raises(LMIFMockError):
            fake.emit("box.created", data=data)
    assert fake.events() == []
    assert fake.deliveries() == []


def test_global_faults_are_never_refused_as_they_ride_on_world_events() -> None:
    fake = FakeLMIF(seed=0, enforce_inprocess_timeout=False)
    receiver = Recorder()
    for _ in range(101):
        fake.webhooks.create(receiver, ["box.created"])
    fake.default_faults = Faults(duplicates=99)  # 101 x 100 = 10,100 deliveries per event
    box = fake.world.box_identity("Ada Lovelace")
    assert box.id in fake.world.boxes
    (event,) = fake.events()
    assert len(fake.deliveries(event_id=event.id)) == 10_100
    assert len(receiver.bodies) == 10_100
