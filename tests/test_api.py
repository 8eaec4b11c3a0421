"""Every route of the HTTP API and every error path, over real HTTP to a running LMIFServer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi

from lmif_mock import EVENT_TYPES, verify
from lmif_mock.http.openapi import document
from lmif_mock.http.routes import ROUTES, openapi_path
from lmif_mock.server import LMIFServer
from tests.api_client import Answer, Client
from tests.receivers import Recorder, wsgi_server


@pytest.fixture(scope="module")
def receiver_url() -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with wsgi_server(recorder) as base:
        yield base + "/hook", recorder


SPEC = document()


def conforms(answer: Answer, component: str, *, listed: bool = False) -> None:
    """The answer's data matches the OpenAPI component (so docs and behaviour agree)."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": SPEC["components"]}
    items = answer.data if listed else [answer.data]
    for item in items:
        jsonschema.Draft202012Validator(schema).validate(item)


def make_webhook(api: Client, url: str, **extra: Any) -> dict[str, Any]:
    answer = api.post("/v1/lmif/webhooks", {"url": url, "events": ["*"], **extra})
    assert answer.status == 201, answer.body
    return dict(answer.data)


# -- auth, rate limits, generic errors ---------------------------------------------------------


def test_missing_wrong_and_wrong_environment_keys(server: LMIFServer) -> None:
    for key, code in [
        (None, "UNAUTHORIZED"),
        ("lmif_test_nope", "UNAUTHORIZED"),
        ("lmif_live_abc", "WRONG_ENVIRONMENT"),
    ]:
        answer = Client(server.url, key).get("/v1/lmif/webhooks")
        assert (answer.status, answer.code) == (401, code)
        assert answer.body["meta"]["requestId"].startswith("req_")
    basic = Client(server.url, None).get(
        "/v1/lmif/webhooks", headers={"Authorization": f"Basic {server.api_key}"}
    )
    assert basic.status == 401


def test_health_needs_no_key_but_everything_else_does(server: LMIFServer) -> None:
    anonymous = Client(server.url, None)
    assert anonymous.get("/_mock/health").body == {"status": "ok"}
    for route in ROUTES:
        if route.auth:
            path = route.path.replace("<id>", "x")
            assert anonymous.call(route.method, path).status == 401, route.path


def test_rate_limit_headers_and_429() -> None:
    with LMIFServer(rate_limit=3) as limited:
        client = Client(limited.url, limited.api_key)
        answers = [client.get("/v1/lmif/webhooks") for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert all(int(a.headers["X-RateLimit-Reset"]) > 1_700_000_000 for a in answers)
    details = answers[-1].body["error"]["details"]
    assert answers[-1].code == "RATE_LIMITED"
    assert set(details) == {"limit", "remaining", "resetAt", "retryAfter"}
    assert 1 <= details["retryAfter"] <= 60
    assert answers[-1].headers["Retry-After"] == str(details["retryAfter"])


def test_unknown_route_wrong_method_bad_json_media_type_and_size(
    api: Client, server: LMIFServer
) -> None:
    missing = api.get("/v1/lmif/nothing-here")
    assert (missing.status, missing.code) == (404, "NOT_FOUND")
    wrong = api.call("DELETE", "/_mock/clock")
    assert (wrong.status, wrong.code) == (405, "METHOD_NOT_ALLOWED")
    assert "GET" in wrong.headers["Allow"]
    bad = api.post("/_mock/events", raw=b'{"type": ')
    assert (bad.status, bad.code) == (400, "VALIDATION_ERROR")
    assert bad.body["error"]["details"][0]["field"] == "body"
    nan = api.post("/_mock/events", raw=b'{"type": "box.created", "data": {"x": NaN}}')
    assert nan.status == 400
    form = api.post(
        "/_mock/events", raw=b"type=box.created", headers={"Content-Type": "text/plain"}
    )
    assert (form.status, form.code) == (415, "UNSUPPORTED_MEDIA_TYPE")
    huge = api.post(
        "/_mock/events", raw=b'{"type":"box.created","data":{"x":"' + b"a" * (2 << 20) + b'"}}'
    )
    assert (huge.status, huge.code) == (413, "PAYLOAD_TOO_LARGE")
    deep = api.post("/_mock/events", raw=b"[" * 100_000 + b"]" * 100_000)
    assert deep.status == 400
    empty = api.post("/_mock/events")
    assert (empty.status, empty.code) == (400, "VALIDATION_ERROR")


_BIG = "1" + "0" * 30


@pytest.mark.parametrize(
    ("method", "path", "raw", "words"),
    [
        ("POST", "/_mock/events", b'{"type":"box.created","data":{"x":' + b"1" * 5000 + b"}}",
         "a number has 5000 digits; at most 4300 are read"),
        ("POST", "/_mock/events", b"[" * 100_000 + b"]" * 100_000,
         "nested too deeply (at most 34 levels)"),
        ("POST", "/_mock/events", b'{"a":"\xff"}', "not valid UTF-8 text (byte 0xff at position 6)"),
        ("POST", "/_mock/events", b"\xff\xfe\x00", "not valid UTF-8 text"),
        ("PUT", "/_mock/faults", b'{"delay": ' + _BIG.encode() + b"}",
         "delay is not a usable duration: too long (a duration is at most 999999999 days)"),
        ("PUT", "/_mock/retry-policy", b'{"delays": [' + _BIG.encode() + b'], "timeout": 1}',
         "too long (a duration is at most 999999999 days)"),
        ("POST", "/_mock/events", b'{"type": ', "Expecting value at line 1, column 10"),
    ],
)  # fmt: skip
def test_400_messages_say_what_is_wrong_in_the_apis_words(
    api: Client, method: str, path: str, raw: bytes, words: str
) -> None:
    answer = api.call(method, path, raw=raw)
    assert (answer.status, answer.code) == (400, "VALIDATION_ERROR")
    said = json.dumps(answer.body["error"])
    assert words in said
    for internal in ("sys.set_int_max_str_digits", "Python int", "C int", "recursion", "codec",
                     "utf-16", "utf-32", "(char "):  # fmt: skip
        assert internal not in said


# -- webhooks --------------------------------------------------------------------------------


def test_create_generates_a_secret_and_shows_it_only_then(api: Client) -> None:
    created = api.post(
        "/v1/lmif/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["box.created"]}
    )
    assert created.status == 201
    conforms(created, "WebhookWithSecret")
    assert created.data["id"].startswith("wh_")
    assert created.data["secret"].startswith("lmif_whsec_")
    fetched = api.get(f"/v1/lmif/webhooks/{created.data['id']}")
    conforms(fetched, "Webhook")
    assert "secret" not in fetched.data
    given_secret = make_webhook(api, "http://127.0.0.1:9/x", secret="mine")
    assert given_secret["secret"] == "mine"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"url", "events"}),
        ({"url": "http://127.0.0.1/x", "events": "box.created"}, {"events"}),
        ({"url": "http://127.0.0.1/x", "events": ["box.exploded"]}, {"events"}),
        ({"url": "http://127.0.0.1/x", "events": []}, {"events"}),
        ({"url": "ftp://127.0.0.1/x", "events": ["*"]}, {"url"}),
        ({"url": "http://169.254.169.254/latest", "events": ["*"]}, {"url"}),
        ({"url": 5, "events": ["*"], "enabled": "yes"}, {"url", "enabled"}),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "secret": ""}, {"secret"}),
        ({"url": "http://127.0.0.1/x", "events": ["*"], "colour": "red"}, {"colour"}),
        ([1, 2], {"body"}),
    ],
)
def test_create_validation_names_every_bad_field(api: Client, body: Any, fields: set[str]) -> None:
    answer = api.post("/v1/lmif/webhooks", body)
    assert (answer.status, answer.code) == (400, "VALIDATION_ERROR")
    assert {d["field"] for d in answer.body["error"]["details"]} == fields
    assert api.get("/v1/lmif/webhooks").body["meta"]["total"] == 0  # nothing half-created


def test_list_pagination(api: Client) -> None:
    ids = [make_webhook(api, f"http://127.0.0.1:9/{n}")["id"] for n in range(25)]
    first = api.get("/v1/lmif/webhooks")
    conforms(first, "Webhook", listed=True)
    assert [w["id"] for w in first.data] == ids[:20]
    assert first.body["meta"] == {"total": 25, "limit": 20, "offset": 0}
    last = api.get("/v1/lmif/webhooks?limit=10&offset=20")
    assert [w["id"] for w in last.data] == ids[20:]
    assert last.body["meta"] == {"total": 25, "limit": 10, "offset": 20}
    for query in ("limit=0", "limit=101", "limit=abc", "offset=-1"):
        bad = api.get(f"/v1/lmif/webhooks?{query}")
        assert (bad.status, bad.code) == (400, "VALIDATION_ERROR"), query


def test_get_update_delete_and_404s(api: Client) -> None:
    hook = make_webhook(api, "http://127.0.0.1:9/a")
    updated = api.call(
        "PATCH", f"/v1/lmif/webhooks/{hook['id']}", {"events": ["box.deleted"], "enabled": False}
    )
    assert (updated.data["events"], updated.data["enabled"]) == (["box.deleted"], False)
    moved = api.call("PATCH", f"/v1/lmif/webhooks/{hook['id']}", {"url": "http://localhost:9/b"})
    assert moved.data["url"] == "http://localhost:9/b"
    refused = api.call("PATCH", f"/v1/lmif/webhooks/{hook['id']}", {"url": "http://example.com/"})
    assert refused.status == 400
    deleted = api.call("DELETE", f"/v1/lmif/webhooks/{hook['id']}")
    assert deleted.data == {"id": hook["id"], "deleted": True}
    for method, path in [
        ("GET", f"/v1/lmif/webhooks/{hook['id']}"),
        ("PATCH", f"/v1/lmif/webhooks/{hook['id']}"),
        ("DELETE", f"/v1/lmif/webhooks/{hook['id']}"),
        ("POST", f"/v1/lmif/webhooks/{hook['id']}/rotate-secret"),
        ("GET", f"/v1/lmif/webhooks/{hook['id']}/deliveries"),
        ("GET", "/v1/lmif/events/evt_nope"),
        ("POST", "/v1/lmif/events/evt_nope/resend"),
        ("GET", "/v1/lmif/deliveries/dlv_nope"),
        ("POST", "/v1/lmif/deliveries/dlv_nope/retry"),
    ]:
        answer = api.call(method, path, {"events": ["*"]} if method == "PATCH" else None)
        assert (answer.status, answer.code) == (404, "NOT_FOUND"), path


def test_rotate_secret_and_deliveries_signed_with_the_new_one(
    api: Client, receiver_url: tuple[str, Recorder]
) -> None:
    url, recorder = receiver_url
    hook = make_webhook(api, url)
    rotated = api.post(f"/v1/lmif/webhooks/{hook['id']}/rotate-secret")
    conforms(rotated, "WebhookWithSecret")
    assert rotated.data["secret"] != hook["secret"]
    api.post("/_mock/events", {"type": "box.created"})
    body, request = recorder.bodies[-1], recorder.requests[-1]
    assert verify(body, request.headers["X-LMIF-Signature"], rotated.data["secret"])
    chosen = api.post(f"/v1/lmif/webhooks/{hook['id']}/rotate-secret", {"secret": "chosen"})
    assert chosen.data["secret"] == "chosen"


def test_send_test_event_by_endpoint_or_id(api: Client, receiver_url: tuple[str, Recorder]) -> None:
    url, recorder = receiver_url
    hook = make_webhook(api, url, events=["license.approved"])
    before = len(recorder.bodies)
    sent = api.post("/v1/lmif/webhooks/test", {"eventType": "box.created", "endpoint": url})
    assert sent.status == 201
    conforms(sent, "Emitted")
    assert sent.data["event"]["type"] == "box.created"  # sent though not subscribed: a test
    assert [d["status"] for d in sent.data["deliveries"]] == ["succeeded"]
    by_id = api.post(
        "/v1/lmif/webhooks/test", {"eventType": "grace_period.ending", "webhookId": hook["id"]}
    )
    assert by_id.status == 201
    assert len(recorder.bodies) == before + 2
    unknown = api.post(
        "/v1/lmif/webhooks/test", {"eventType": "box.created", "endpoint": "http://127.0.0.1:1/x"}
    )
    assert (unknown.status, unknown.code) == (404, "NOT_FOUND")
    neither = api.post("/v1/lmif/webhooks/test", {"eventType": "box.nope"})
    assert {d["field"] for d in neither.body["error"]["details"]} == {"eventType", "endpoint"}


def test_webhook_deliveries_filtered_by_status(api: Client) -> None:
    hook = make_webhook(api, "http://127.0.0.1:1/refused")
    api.post("/_mock/events", {"type": "box.created"})
    pending = api.get(f"/v1/lmif/webhooks/{hook['id']}/deliveries?status=pending")
    conforms(pending, "Delivery", listed=True)
    assert len(pending.data) == 1
    assert pending.data[0]["attempts"][0]["error"] == "connection_refused"
    assert api.get(f"/v1/lmif/webhooks/{hook['id']}/deliveries?status=succeeded").data == []
    assert api.get(f"/v1/lmif/webhooks/{hook['id']}/deliveries?status=lost").status == 400


# -- events and deliveries ------------------------------------------------------------------


def test_events_list_get_resend_and_delivery_retry(
    api: Client, receiver_url: tuple[str, Recorder]
) -> None:
    url, recorder = receiver_url
    make_webhook(api, url)
    emitted = api.post(
        "/_mock/events", {"type": "violation.detected", "data": {"identityName": "Ada"}}
    )
    event_id = emitted.data["event"]["id"]
    listed = api.get("/v1/lmif/events?type=violation.detected")
    conforms(listed, "Event", listed=True)
    assert [e["id"] for e in listed.data] == [event_id]
    assert api.get("/v1/lmif/events?type=box.created").data == []
    fetched = api.get(f"/v1/lmif/events/{event_id}")
    assert fetched.data["event"]["data"]["identityName"] == "Ada"
    delivery_id = fetched.data["deliveries"][0]["id"]
    one = api.get(f"/v1/lmif/deliveries/{delivery_id}")
    conforms(one, "Delivery")
    assert one.data["payload"].encode() == recorder.bodies[-1]
    resent = api.post(f"/v1/lmif/events/{event_id}/resend")
    assert resent.status == 201
    assert recorder.bodies[-1] == recorder.bodies[-2]
    retried = api.post(f"/v1/lmif/deliveries/{delivery_id}/retry")
    assert [a["trigger"] for a in retried.data["attempts"]] == ["scheduled", "manual"]
    bad_resend = api.post(f"/v1/lmif/events/{event_id}/resend", {"webhookIds": ["wh_none"]})
    assert bad_resend.status == 404


# -- control API -----------------------------------------------------------------------------


def test_emit_with_faults_and_unknown_types(
    api: Client, receiver_url: tuple[str, Recorder]
) -> None:
    url, recorder = receiver_url
    make_webhook(api, url)
    before = len(recorder.bodies)
    dup = api.post("/_mock/events", {"type": "box.created", "faults": {"duplicates": 2}})
    assert dup.status == 201
    assert len(dup.data["deliveries"]) == 3
    assert len(recorder.bodies) == before + 3
    assert api.post("/_mock/events", {"type": "avatar.teleported"}).status == 400
    odd = api.post("/_mock/events", {"type": "avatar.teleported", "allowUnknown": True})
    assert odd.data["event"]["type"] == "avatar.teleported"
    for bad in (
        {"type": "box.created", "faults": {"duplicates": -1}},
        {"type": "box.created", "faults": {"signature": "forged"}},
        {"type": "box.created", "faults": "all"},
        {"type": "box.created", "retryPolicy": {"delays": []}},
        {"type": "box.created", "data": [1]},
        {"type": "box.created", "faults": {"signature": "previous_secret"}},
        {"type": "box.created", "webhookIds": ["wh_none"]},
    ):
        answer = api.post("/_mock/events", bad)
        assert answer.status in (400, 404), bad
        assert answer.body["error"]["code"] in ("VALIDATION_ERROR", "NOT_FOUND")


def test_batch_emit_shuffled_and_its_errors(
    api: Client, receiver_url: tuple[str, Recorder]
) -> None:
    url, recorder = receiver_url
    make_webhook(api, url)
    before = len(recorder.bodies)
    specs = [{"type": t} for t in EVENT_TYPES]
    batch = api.post("/_mock/events/batch", {"events": specs, "shuffle": True})
    assert batch.status == 201
    assert [e["event"]["type"] for e in batch.data] == list(EVENT_TYPES)
    arrived = [json.loads(b)["type"] for b in recorder.bodies[before:]]
    assert sorted(arrived) == sorted(EVENT_TYPES)
    assert arrived != list(EVENT_TYPES)
    bad = api.post(
        "/_mock/events/batch", {"events": [{"type": "box.created"}, {"type": "nope"}, {}]}
    )
    assert {d["field"] for d in bad.body["error"]["details"]} == {
        "events[1].type",
        "events[2].type",
    }
    assert api.post("/_mock/events/batch", {"events": []}).status == 400


def test_clock_advance_runs_retries(api: Client) -> None:
    hook = make_webhook(api, "http://127.0.0.1:1/refused")
    api.post("/_mock/events", {"type": "box.created"})
    clock = api.get("/_mock/clock")
    conforms(clock, "Clock")
    assert clock.data["type"] == "virtual"
    assert clock.data["now"] == "2024-01-15T10:00:00Z"
    assert clock.data["nextDueAt"] == "2024-01-15T10:01:00Z"
    advanced = api.post("/_mock/clock/advance", {"hours": 1, "minutes": 30})
    assert advanced.data["now"] == "2024-01-15T11:30:00Z"
    (delivery,) = api.get(f"/v1/lmif/webhooks/{hook['id']}/deliveries").data
    assert [a["at"] for a in delivery["attempts"]] == [
        "2024-01-15T10:00:00Z",
        "2024-01-15T10:01:00Z",
        "2024-01-15T10:06:00Z",
        "2024-01-15T10:36:00Z",
    ]
    assert api.post("/_mock/clock/advance", {"hours": -1}).status == 400
    assert api.post("/_mock/clock/advance", {"days": "two"}).status == 400


def test_reset_policy_and_default_faults(api: Client, server: LMIFServer) -> None:
    assert api.get("/_mock/retry-policy").data == {
        "delays": [0.0, 60.0, 300.0, 1800.0, 7200.0, 28800.0, 86400.0],
        "timeout": 30.0,
    }
    put = api.call("PUT", "/_mock/retry-policy", {"delays": [0, 10], "timeout": 5})
    assert put.data == {"delays": [0.0, 10.0], "timeout": 5.0}
    assert server.retry_policy.max_attempts == 2
    bad_policies: list[dict[str, Any]] = [
        {"delays": []},
        {"delays": [-1]},
        {"timeout": 0},
        {"delays": [0] * 101},
        {"x": 1},
    ]
    for bad in bad_policies:
        assert api.call("PUT", "/_mock/retry-policy", bad).status == 400, bad
    faults = api.call("PUT", "/_mock/faults", {"duplicates": 1})
    assert faults.data["duplicates"] == 1
    assert api.get("/_mock/faults").data["duplicates"] == 1
    assert api.call("PUT", "/_mock/faults", {"typo": 1}).status == 400
    make_webhook(api, "http://127.0.0.1:1/x")
    assert len(api.post("/_mock/events", {"type": "box.created"}).data["deliveries"]) == 2
    assert api.post("/_mock/reset").data == {"reset": True}
    assert api.get("/_mock/faults").data["duplicates"] == 0
    assert api.get("/_mock/retry-policy").data["timeout"] == 30.0
    assert api.get("/v1/lmif/webhooks").data == []
    listed = api.get("/_mock/deliveries")
    assert listed.data == []
    assert listed.body["meta"]["total"] == 0


# -- OpenAPI ---------------------------------------------------------------------------------


def test_openapi_document_validates_and_covers_every_route(api: Client) -> None:
    served = api.get("/openapi.json").body
    validate_openapi(served)
    assert served["servers"][0]["url"] == api.base
    declared = {(openapi_path(r.path), r.method.lower()) for r in ROUTES}
    documented = {(path, method) for path, ops in served["paths"].items() for method in ops}
    assert declared == documented


# -- never a 500 ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    route=st.sampled_from([r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]),
    body=json_values | st.fixed_dictionaries({"type": st.sampled_from(EVENT_TYPES)}, optional={
        "data": json_values, "faults": json_values, "events": json_values, "url": json_values,
    }),
)  # fmt: skip
def test_any_json_body_gets_a_json_answer_below_500(
    server: LMIFServer, route: Any, body: Any
) -> None:
    client = Client(server.url, server.api_key)
    answer = client.call(route.method, route.path.replace("<id>", "wh_x"), body)
    assert answer.status < 500, answer.body
    if answer.status >= 400:
        assert set(answer.body) == {"error", "meta"}


def test_clock_state_and_pending_count(api: Client, server: LMIFServer) -> None:
    make_webhook(api, "http://127.0.0.1:1/refused")
    api.post("/_mock/events", {"type": "box.created"})
    assert api.get("/_mock/clock").data["pendingCount"] == 1
    server.clock.advance(timedelta(days=2))
    assert api.get("/_mock/clock").data["pendingCount"] == 0


def test_advancing_the_clock_past_9999_is_a_400(api: Client) -> None:
    for _ in range(100):  # 100 years a step: year 9999 is reached in under 80 steps
        answer = api.post("/_mock/clock/advance", {"days": 36600})
        if answer.status != 200:
            break
    assert (answer.status, answer.code) == (400, "VALIDATION_ERROR")
    assert "9999" in answer.body["error"]["message"]


def test_key_rotation_grace_then_expired_and_revocation(api: Client, server: LMIFServer) -> None:
    old = server.api_key
    rotated = api.post("/_mock/keys/rotate")
    assert rotated.status == 201
    new = rotated.data["apiKey"]
    assert new.startswith("lmif_test_")
    assert new != old
    assert server.api_key == new
    assert rotated.data["previousKey"] == old
    assert rotated.data["previousKeyValidUntil"] == "2024-01-16T10:00:00Z"
    assert Client(server.url, old).get("/v1/lmif/webhooks").status == 200  # still within 24 h
    server.clock.advance(hours=24)
    expired = Client(server.url, old).get("/v1/lmif/webhooks")
    assert (expired.status, expired.code) == (401, "KEY_EXPIRED")
    assert expired.body["error"]["message"] == "API key has expired"
    newer = (
        Client(server.url, new)
        .post("/_mock/keys/rotate", {"apiKey": "lmif_test_chosen"})
        .data["apiKey"]
    )
    assert newer == "lmif_test_chosen"
    current = Client(server.url, newer)
    assert current.post("/_mock/keys/revoke", {"apiKey": new}).data == {"revoked": True}
    revoked = Client(server.url, new).get("/v1/lmif/webhooks")
    assert (revoked.status, revoked.code) == (401, "KEY_REVOKED")
    assert revoked.body["error"]["details"] == "This key was revoked on 2024-01-16T10:00:00Z"
    assert current.post("/_mock/keys/revoke", {"apiKey": newer}).status == 409  # rotate first
    assert current.post("/_mock/keys/revoke", {"apiKey": "lmif_test_never"}).status == 404
    assert current.post("/_mock/keys/rotate", {"apiKey": "lmif_live_x"}).status == 400
    server.reset()
    assert server.api_key == old  # a reset fake starts with its first key again
    assert Client(server.url, old).get("/v1/lmif/webhooks").status == 200


def test_an_event_shows_each_webhooks_copy(api: Client, receiver_url: tuple[str, Recorder]) -> None:
    url, _ = receiver_url
    first = make_webhook(api, url + "/a")
    second = make_webhook(api, url + "/b")
    emitted = api.post("/_mock/events", {"type": "box.created", "faults": {"duplicates": 1}})
    fetched = api.get(f"/v1/lmif/events/{emitted.data['event']['id']}")
    conforms(fetched, "Emitted")
    assert fetched.data["event"]["meta"]["webhookId"] is None
    copies = fetched.data["copies"]
    assert [c["webhookId"] for c in copies] == [first["id"], second["id"]]
    by_webhook: dict[str, list[str]] = {}
    for delivery in fetched.data["deliveries"]:
        by_webhook.setdefault(delivery["webhookId"], []).append(delivery["id"])
    for copy in copies:
        assert copy["deliveryIds"] == by_webhook[copy["webhookId"]]
        assert len(copy["deliveryIds"]) == 2  # the original and its duplicate
        assert copy["envelope"]["meta"]["webhookId"] == copy["webhookId"]
        assert {k: v for k, v in copy["envelope"].items() if k != "meta"} == {
            k: v for k, v in fetched.data["event"].items() if k != "meta"
        }
        sent = api.get(f"/v1/lmif/deliveries/{copy['deliveryIds'][0]}").data["payload"]
        assert json.loads(sent) == copy["envelope"]
    assert emitted.data["copies"] == copies
