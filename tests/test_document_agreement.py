"""The server reads requests as its OpenAPI document states them, route by route: which bodies may
be left out, which take none, what ``null`` means, what an ``integer`` is, which filter values
exist and which limits apply. Each test walks the document (not a list kept beside it), so a
route added later is held to the same rules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock import FakeLMIF
from lmif_mock.http.openapi import document
from lmif_mock.http.routes import ROUTES, Route, openapi_path
from lmif_mock.retry import MAX_RETRY_DELAY, MAX_TIMEOUT
from lmif_mock.scripts import ScriptError, parse
from lmif_mock.world.scenarios import SCENARIOS
from tests.in_process_api import HEADERS, api_client, fake_with_a_recorder
from tests.test_schemathesis import UNSTATED_LIMITS

DOCUMENT = document()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]


def operation(route: Route) -> dict[str, Any]:
    return dict(DOCUMENT["paths"][openapi_path(route.path)][route.method.lower()])


def body_schema(route: Route) -> dict[str, Any] | None:
    """The component the document names as ``route``'s request body, if it has one."""
    request_body = operation(route).get("requestBody")
    if request_body is None:
        return None
    name = request_body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    return dict(SCHEMAS[name])


class World:
    """A fake with one of everything a path can name, and a client of its API."""

    def __init__(self) -> None:
        self.fake: FakeLMIF = fake_with_a_recorder()
        self.fake.emit("box.created")
        made = SCENARIOS["licensed-in-time"].run(self.fake.world)
        pending = self.fake.world.detect_violation(made["boxId"], None)
        self.client = api_client(self.fake)
        self.ids = {
            "webhooks": self.fake.webhooks.list()[0].id,
            "events": self.fake.events()[0].id,
            "deliveries": self.fake.deliveries()[0].id,
            "claims": next(iter(self.fake.world.claims)),
            "boxes": made["boxId"],
            "violations": pending.id,
            "grace-periods": made["gracePeriodId"],
            "licenses": made["licenseId"],
            "request": made["requestId"],
            "license-requests": made["requestId"],
            "scenarios": "policy-tightened",
        }

    def path(self, route: Route) -> str:
        """``route``'s path with a real id (or scenario name) in place of its parameter."""
        segments = route.path.split("/")
        for at, segment in enumerate(segments):
            if segment.startswith("<"):
                segments[at] = self.ids[segments[at - 1]]
        return "/".join(segments)

    def call(self, route: Route, body: bytes | None, query: str = "") -> tuple[int, Any]:
        answer = self.client.open(
            self.path(route) + query, method=route.method, data=body, headers=HEADERS
        )
        return answer.status_code, json.loads(answer.get_data())


def problems_of(answer: Any) -> list[dict[str, str]]:
    details = answer.get("error", {}).get("details") if isinstance(answer, dict) else None
    return details if isinstance(details, list) else []


TAKING_BODIES = [r for r in ROUTES if r.method in ("POST", "PUT", "PATCH")]
WITHOUT_BODIES = [r for r in ROUTES if r.method not in ("POST", "PUT", "PATCH")]


def test_every_write_route_declares_its_body_and_no_read_route_does() -> None:
    assert all(body_schema(r) is not None for r in TAKING_BODIES)
    assert all(body_schema(r) is None for r in WITHOUT_BODIES)


# -- bodies: left out, empty, or none at all -------------------------------------------------------


@pytest.mark.parametrize("route", TAKING_BODIES, ids=lambda r: r.endpoint)
def test_a_body_may_be_left_out_exactly_where_the_document_says_so(route: Route) -> None:
    required = operation(route)["requestBody"]["required"]
    status, answer = World().call(route, None)
    body_required = {"field": "body", "message": "is required"} in problems_of(answer)
    assert body_required == required, (status, answer)


@pytest.mark.parametrize("route", WITHOUT_BODIES, ids=lambda r: r.endpoint)
def test_a_route_without_a_body_refuses_one_rather_than_ignore_it(route: Route) -> None:
    world = World()
    status, answer = world.call(route, b'{"surprise": true}')
    assert status == 400, answer
    assert problems_of(answer)[0]["field"] == "body"
    assert "takes no request body" in answer["error"]["message"]
    assert world.call(route, b"")[0] in (200, 404, 409), "an empty body is no body"


EMPTY_BODIED = [r for r in TAKING_BODIES if r.request == "Empty"]


@pytest.mark.parametrize("route", EMPTY_BODIED, ids=lambda r: r.endpoint)
def test_a_route_taking_no_fields_takes_an_empty_object_and_refuses_any_field(
    route: Route,
) -> None:
    assert SCHEMAS["Empty"] == {**SCHEMAS["Empty"], "properties": {}, "additionalProperties": False}
    world = World()
    status, answer = world.call(route, b'{"keepWebhooks": true}')
    assert (status, problems_of(answer)[0]["field"]) == (400, "keepWebhooks"), answer
    assert world.call(route, b"{}")[0] in (200, 201, 409)


def test_reset_with_a_field_it_does_not_know_forgets_nothing() -> None:
    world = World()
    reset = next(r for r in ROUTES if r.endpoint == "mock_reset")
    assert world.call(reset, b'{"keepWebhooks": true}')[0] == 400
    assert world.fake.webhooks.list() != []
    assert world.call(reset, b"{}") == (200, {"data": {"reset": True}})
    assert world.fake.webhooks.list() == []


def test_an_appeal_without_a_body_is_what_the_document_allows() -> None:
    world = World()
    appeal = next(r for r in ROUTES if r.endpoint == "appeal_violation")
    assert operation(appeal)["requestBody"]["required"] is False
    status, answer = world.call(appeal, None)
    assert (status, answer["data"]["status"]) == (200, "appealed")


# -- null ------------------------------------------------------------------------------------------


def nullable(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    return (
        kinds == "null"
        or (isinstance(kinds, list) and "null" in kinds)
        or None in schema.get("enum", [])
        or any(nullable(part) for part in schema.get("anyOf", []) + schema.get("oneOf", []))
    )


NULL_CASES = [
    pytest.param(route, name, nullable(field), id=f"{route.endpoint}.{name}")
    for route in TAKING_BODIES
    for name, field in (body_schema(route) or {}).get("properties", {}).items()
]


@pytest.mark.parametrize(("route", "name", "allowed"), NULL_CASES)
def test_null_is_refused_naming_the_field_unless_the_document_says_nullable(
    route: Route, name: str, allowed: bool
) -> None:
    status, answer = World().call(route, json.dumps({name: None}).encode())
    about_null = [p for p in problems_of(answer) if p["field"] == name and "null" in p["message"]]
    if allowed:
        assert about_null == [], answer
    else:
        assert status == 400, answer
        assert about_null, answer


@pytest.mark.parametrize(
    ("endpoint", "body", "field"),
    [
        ("world_box", {"identityName": "Ada", "policy": "OPEN",
                       "policyConfig": {"royaltyRate": None}}, "policyConfig.royaltyRate"),
        ("create_box", {"claimId": "claim_x", "policy": "OPEN",
                        "policyConfig": {"nsfw": None}}, "policyConfig.nsfw"),
        ("create_claim", {"name": "Ada", "referenceImages": None}, "referenceImages"),
        ("create_claim", {"name": "Ada", "referenceImages": [{"url": "https://x.test/a.png",
                                                              "isPrimary": None}]},
         "referenceImages[0].isPrimary"),
        ("mock_emit_batch", {"events": None}, "events"),
        ("mock_emit_batch", {"events": [{"type": "box.created", "data": None}]},
         "events[0].data"),
    ],
)  # fmt: skip
def test_null_inside_a_body_is_refused_too(endpoint: str, body: dict[str, Any], field: str) -> None:
    world = World()
    before = (len(world.fake.events()), len(world.fake.world.claims))
    route = next(r for r in ROUTES if r.endpoint == endpoint)
    status, answer = world.call(route, json.dumps(body).encode())
    assert status == 400, answer
    assert any(p["field"] == field and "null" in p["message"] for p in problems_of(answer)), answer
    assert (len(world.fake.events()), len(world.fake.world.claims)) == before


def test_a_nullable_field_takes_null_as_its_documented_meaning() -> None:
    world = World()
    control = next(r for r in ROUTES if r.endpoint == "mock_put_control")
    body = {"enabled": True, "maxRetryAfter": None, "disableAfter": None}
    status, answer = world.call(control, json.dumps(body).encode())
    assert status == 200, answer
    assert (answer["data"]["maxRetryAfter"], answer["data"]["disableAfter"]) == (3600, None)


# -- integers ----------------------------------------------------------------------------------


def test_an_integer_field_takes_a_whole_number_written_with_a_fraction() -> None:
    world = World()
    avatar = next(r for r in ROUTES if r.endpoint == "world_avatar")
    assert SCHEMAS["AvatarCreate"]["properties"]["userCount"]["type"] == "integer"
    status, answer = world.call(avatar, b'{"name": "Ada AI", "userCount": 5.0}')
    assert (status, answer["data"]["userCount"]) == (201, 5)
    assert isinstance(answer["data"]["userCount"], int)
    status, answer = world.call(avatar, b'{"name": "Ada AI", "userCount": 5.5}')
    assert (status, problems_of(answer)[0]["field"]) == (400, "userCount")
    control = next(r for r in ROUTES if r.endpoint == "mock_put_control")
    status, answer = world.call(control, b'{"enabled": true, "disableAfterFailures": 3.0}')
    assert (status, answer["data"]["disableAfterFailures"]) == (200, 3)


def test_fault_counts_take_a_whole_number_written_with_a_fraction() -> None:
    world = World()
    faults = next(r for r in ROUTES if r.endpoint == "mock_put_faults")
    assert SCHEMAS["Faults"]["properties"]["duplicates"]["type"] == "integer"
    status, answer = world.call(faults, b'{"duplicates": 2.0}')
    assert (status, answer["data"]["duplicates"]) == (200, 2)
    assert world.call(faults, b'{"duplicates": 2.5}')[0] == 400
    assert world.fake.default_faults.duplicates == 2


@pytest.mark.parametrize(
    ("query", "status"),
    [("limit=5", 200), ("limit=5.0", 200), ("limit=5.5", 400), ("limit=+5", 400),
     ("limit=5_0", 400), ("limit=%205", 400), ("offset=0.00", 200), ("offset=-0", 200)],
)  # fmt: skip
def test_an_integer_query_value_is_read_as_json_schema_reads_integers(
    query: str, status: int
) -> None:
    world = World()
    listing = next(r for r in ROUTES if r.endpoint == "list_events")
    answer = world.call(listing, None, "?" + query)
    assert answer[0] == status, answer
    if status == 200 and query.startswith("limit"):
        assert answer[1]["meta"]["limit"] == 5


# -- filters -----------------------------------------------------------------------------------

ENUM_FILTERS = [
    pytest.param(route, parameter["name"], parameter["schema"]["enum"],
                 id=f"{route.endpoint}.{parameter['name']}")
    for route in ROUTES
    for parameter in operation(route).get("parameters", [])
    if parameter["in"] == "query" and "enum" in parameter["schema"]
]  # fmt: skip


@pytest.mark.parametrize(("route", "name", "allowed"), ENUM_FILTERS)
def test_a_filter_value_outside_its_enum_is_a_400_naming_the_values_allowed(
    route: Route, name: str, allowed: list[str]
) -> None:
    world = World()
    status, answer = world.call(route, None, f"?{name}=bogus")
    assert status == 400, answer
    (problem,) = problems_of(answer)
    assert problem["field"] == name
    assert all(repr(value) in problem["message"] for value in allowed), problem
    for value in allowed:  # and every value the document lists is taken
        assert world.call(route, None, f"?{name}={value}")[0] == 200, value


def test_each_list_s_status_filter_offers_that_resource_s_own_states() -> None:
    world = World()
    claims = next(r for r in ROUTES if r.endpoint == "list_claims")
    (status,) = [p for p in operation(claims)["parameters"] if p["name"] == "status"]
    assert status["schema"]["enum"] == ["pending", "verified", "rejected"]
    verified = world.call(claims, None, "?status=verified&limit=100")[1]["data"]
    assert verified
    assert {c["status"] for c in verified} == {"verified"}


# -- limits ------------------------------------------------------------------------------------


def test_the_retry_policy_s_limits_are_stated_and_are_the_server_s() -> None:
    policy = SCHEMAS["RetryPolicy"]["properties"]
    longest = policy["delays"]["items"]["maximum"]
    assert longest == MAX_RETRY_DELAY.total_seconds()
    assert policy["timeout"]["maximum"] == MAX_TIMEOUT.total_seconds()
    world = World()
    put = next(r for r in ROUTES if r.endpoint == "mock_put_policy")
    at_the_limits = {"delays": [0, longest], "timeout": policy["timeout"]["maximum"]}
    assert world.call(put, json.dumps(at_the_limits).encode())[0] == 200
    shortest = {"delays": [0], "timeout": policy["timeout"]["minimum"]}
    assert world.call(put, json.dumps(shortest).encode())[0] == 200
    for beyond in ({"delays": [0, longest + 1]}, {"timeout": policy["timeout"]["maximum"] + 1}):
        status, answer = world.call(put, json.dumps(beyond).encode())
        assert status == 400, answer
        # ...in words the schemathesis run's check recognises as a limit the server enforces
        said = problems_of(answer)[0]["message"]
        assert any(limit in said for limit in UNSTATED_LIMITS), said


def test_each_unit_of_an_advance_may_be_at_its_stated_maximum_together() -> None:
    world = World()
    advance = next(r for r in ROUTES if r.endpoint == "mock_advance")
    limits = {name: field["maximum"] for name, field in SCHEMAS["Advance"]["properties"].items()}
    status, answer = world.call(advance, json.dumps(limits).encode())
    assert status == 200, answer


def test_delivery_control_durations_are_refused_alike_whether_it_is_on_or_off() -> None:
    world = World()
    control = next(r for r in ROUTES if r.endpoint == "mock_put_control")
    fields = SCHEMAS["DeliveryControlUpdate"]["properties"]
    assert fields["disableAfter"]["minimum"] == fields["maxRetryAfter"]["minimum"] > 0
    for enabled in (True, False):
        for name in ("disableAfter", "maxRetryAfter"):
            body = json.dumps({"enabled": enabled, name: 0}).encode()
            assert world.call(control, body)[0] == 400, (enabled, name)
            least = json.dumps({"enabled": enabled, name: fields[name]["minimum"]}).encode()
            assert world.call(control, least)[0] == 200, (enabled, name)


def test_an_unknown_policy_config_field_is_refused_as_the_document_says() -> None:
    world = World()
    boxes_before = len(world.fake.world.boxes)
    route = next(r for r in ROUTES if r.endpoint == "world_box")
    config = SCHEMAS["WorldBoxCreate"]["properties"]["policyConfig"]
    assert config["additionalProperties"] is False
    body = {"identityName": "Ada", "policy": "OPEN", "policyConfig": {"colour": "red"}}
    status, answer = world.call(route, json.dumps(body).encode())
    assert (status, problems_of(answer)[0]["field"]) == (400, "policyConfig.colour"), answer
    body["policyConfig"] = {"royaltyRate": 1.5}
    assert world.call(route, json.dumps(body).encode())[0] == 400
    assert len(world.fake.world.boxes) == boxes_before
    body["policyConfig"] = {"royaltyRate": 0.25}
    status, answer = world.call(route, json.dumps(body).encode())
    assert (status, answer["data"]["policyConfig"]["royaltyRate"]) == (201, 0.25)


# -- what a schemathesis sweep of a running server found -----------------------------------------


def document_accepts(component: str, body: Any) -> bool:
    """Whether the document's ``component`` schema takes ``body`` (JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator

    root = {"components": DOCUMENT["components"], "$ref": f"#/components/schemas/{component}"}
    return bool(Draft202012Validator(root).is_valid(body))


VALID_USAGE = {"period": "2024-02"}
SWEEP_CASES = [
    ("create_claim", "ClaimCreate", {"name": "Ada", "variations": ["Ada L."]}, True),
    ("create_claim", "ClaimCreate", {"name": "Ada", "variations": [""]}, False),
    ("update_claim", "ClaimUpdate", {"variations": ["", "Ada"]}, False),
    ("create_claim", "ClaimCreate", {"name": "\x1e"}, False),
    ("create_claim", "ClaimCreate", {"name": "\x85 \u3000"}, False),
    ("create_claim", "ClaimCreate", {"name": "\ufeffAda"}, True),
    ("world_avatar", "AvatarCreate", {"name": "\x1f"}, False),
    ("report_usage", "UsageReport", {**VALID_USAGE, "subscribers": 10**12}, True),
    ("report_usage", "UsageReport", {**VALID_USAGE, "subscribers": 10**12 + 1}, False),
    ("report_usage", "UsageReport", {**VALID_USAGE, "messages": 10**15 + 1}, False),
    ("report_usage", "UsageReport", {**VALID_USAGE, "revenue": 1e12}, True),
    ("report_usage", "UsageReport", {**VALID_USAGE, "revenue": 1.5e12}, False),
    ("world_deny", "Deny", {"reason": "tier_unavailable"}, True),
    ("world_deny", "Deny", {"reason": "because"}, False),
    ("test_webhook", "WebhookTest", {"eventType": "box.created"}, False),
    ("mock_emit", "Emit", {"type": "box.created"}, True),
    ("mock_emit", "Emit", {"type": "custom.thing"}, False),
    ("mock_emit", "Emit", {"type": "custom.thing", "allowUnknown": True}, True),
    ("mock_emit", "Emit", {"type": "custom.thing", "allowUnknown": False}, False),
    ("mock_rotate_key", "KeyRotate", {"apiKey": "lmif_test_chosen-key_1"}, True),
    ("mock_rotate_key", "KeyRotate", {"apiKey": "lmif_test_with space"}, False),
    ("mock_rotate_key", "KeyRotate", {"apiKey": "lmif_live_other_env"}, False),
    ("mock_rotate_key", "KeyRotate", {"apiKey": "lmif_test_"}, False),
    ("create_webhook", "WebhookCreate", {"url": "0", "events": ["*"]}, False),
    ("create_webhook", "WebhookCreate", {"url": "http://127.0.0.1:9/x", "events": ["*"]}, True),
    ("update_webhook", "WebhookUpdate", {"url": "ftp://127.0.0.1/x"}, False),
]


@pytest.mark.parametrize(
    ("endpoint", "component", "body", "valid"),
    SWEEP_CASES,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(SWEEP_CASES)],
)
def test_the_document_and_the_server_take_and_refuse_the_same_bodies(
    endpoint: str, component: str, body: dict[str, Any], valid: bool
) -> None:
    route = next(r for r in ROUTES if r.endpoint == endpoint)
    assert body_schema(route) is not None
    assert document_accepts(component, body) is valid
    world = World()
    if endpoint == "update_claim":  # a pending claim, whose fields may change
        world.ids["claims"] = world.fake.world.create_claim("Ada Pending").id
    if endpoint == "world_deny":  # a pending request to deny
        box = world.fake.world.box_identity("Pending Star", policy="LICENSE")
        pending = world.fake.world.request_license(box.id, tier="creator", use_case="chat")
        world.ids["license-requests"] = pending.id
    status, answer = world.call(route, json.dumps(body).encode())
    assert (status < 300) is valid, answer
    if not valid:
        assert status == 400, answer


SCRIPT_SCHEMA = SCHEMAS["Faults"]["properties"]["script"]
#: Why ``parse`` may refuse a script the document's pattern takes: the rules no regex can say.
SEMANTIC_ONLY = ("first <= last", "at most 100%", "more than 0%", "a delay is at most", "later")


@settings(max_examples=60, deadline=None)
@given(st.from_regex(SCRIPT_SCHEMA["pattern"]).filter(lambda t: len(t) <= 500))
def test_a_script_the_document_s_pattern_takes_is_refused_only_for_what_no_pattern_can_say(
    text: str,
) -> None:
    refusal = ""
    try:
        parse(text)
    except ScriptError as exc:
        refusal = str(exc)
    assert not refusal or any(rule in refusal for rule in SEMANTIC_ONLY), refusal


@pytest.mark.parametrize(
    "text",
    ["1-2: drop; 3: ok", "1: delay 40s; 2: arrive with 3", "1+: drop 30%", "1: lose 50%, delay 2h",
     " 2 : ok ;; 3-4:drop", "1-100: ok"],
)  # fmt: skip
def test_every_script_the_server_reads_matches_the_document_s_pattern(text: str) -> None:
    parse(text)
    assert re.fullmatch(SCRIPT_SCHEMA["pattern"], text)
    assert len(text) <= SCRIPT_SCHEMA["maxLength"]


@pytest.mark.parametrize("text", ["0", "0: ok", "1 -2: ok", "101: ok", "1: ok: drop", "1:", "x"])
def test_a_script_the_pattern_refuses_the_server_refuses(text: str) -> None:
    assert not re.fullmatch(SCRIPT_SCHEMA["pattern"], text)
    with pytest.raises(ScriptError):
        parse(text)
