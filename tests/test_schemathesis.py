"""schemathesis against the fake's own OpenAPI document: no 5xx, and every answer fits the
document (status codes, content type, response schemas)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lmif_mock import EVENT_TYPES, FakeLMIF
from lmif_mock.http.app import API
from lmif_mock.http.openapi import document
from lmif_mock.http.openapi.strictness import strict
from lmif_mock.http.validation import MAX_STRING_LENGTH

KEY = "lmif_test_schemathesis"
fake = FakeLMIF(seed=0)
fake.webhooks.create("http://127.0.0.1:1/x", ["*"])
schema = schemathesis.openapi.from_dict(document("http://127.0.0.1"))
schema.app = API(fake, KEY)  # called in-process over WSGI, no socket
schema.app.max_long_poll = 0.01  # the /_mock/wait long polls answer at once here

#: What the server says when it refuses a request for something the document should have stated
#: (an unknown field, an empty string, a number out of range or past a cap, a null, a fraction):
#: a schema-valid request that gets one of these shows the document looser than the server.
#: A fault script refused for a rule its pattern cannot say (first <= last, a delay's length,
#: 'arrive with' a later attempt), which the document states in the field's description.
SCRIPT_RULES = "script: "
UNSTATED_LIMITS = ("unknown field", "must be a non-empty string", "must be between",
                   "at most", "(the cap)", "cannot be null", "must be a whole number",
                   "must be positive", "more than 0", "takes no request body")  # fmt: skip


@schemathesis.check
def not_refused_for_what_the_schema_allows(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if response.status_code != 400 or negative:  # a case meant to break the schema may be refused
        return None
    details = response.json()["error"]["details"]
    for problem in details if isinstance(details, list) else []:
        said = str(problem.get("message", ""))
        if said.startswith(SCRIPT_RULES):
            continue  # its syntax is the pattern; the rest is in words (scripts.SCRIPT_SYNTAX)
        if any(limit in said for limit in UNSTATED_LIMITS):
            raise AssertionError(
                f"the document allowed what the server refused: {problem} "
                f"(query {case.query}, body {case.body!r})"
            )
    return None


CHECKS = [
    not_refused_for_what_the_schema_allows,
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms(case: schemathesis.Case[Any]) -> None:
    """Derandomized so CI is repeatable; the ``slow`` run below explores at random."""
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=CHECKS)


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_long_random_run(case: schemathesis.Case[Any]) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, checks=CHECKS)


def test_the_cases_really_reached_the_app() -> None:
    operation = schema.find_operation_by_label("POST /_mock/events")
    assert operation is not None
    case = operation.Case(body={"type": "box.created"})
    response = case.call(headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 201
    assert fake.events()[-1].type == "box.created"


def test_request_bodies_state_unknown_fields_and_string_lengths_as_the_server_reads_them() -> None:
    components = schema.raw_schema["components"]["schemas"]
    create = components["WebhookCreate"]
    assert create["additionalProperties"] is False
    url = create["properties"]["url"]
    assert (url["minLength"], url["maxLength"]) == (1, MAX_STRING_LENGTH)
    assert "additionalProperties" not in components["Emit"]["properties"]["data"]  # free-form
    # The server agrees at both ends of what the document allows for the URL.
    headers = {"Authorization": f"Bearer {KEY}"}
    operation = schema.find_operation_by_label("POST /v1/lmif/webhooks")
    assert operation is not None
    longest = "http://127.0.0.1:1/" + "a" * (MAX_STRING_LENGTH - len("http://127.0.0.1:1/"))
    for url_text, status in ((longest, 201), (longest + "a", 400), ("", 400)):
        answer = operation.Case(body={"url": url_text, "events": ["*"]}).call(headers=headers)
        assert answer.status_code == status, answer.text
    unknown = operation.Case(body={"url": longest, "events": ["*"], "colour": "red"})
    assert unknown.call(headers=headers).json()["error"]["details"][0]["field"] == "colour"


def test_strict_tightens_each_place_once_even_where_the_tables_share_a_dict() -> None:
    shared = {"type": "string"}
    loose = {"type": "object", "properties": {"a": shared, "b": {"type": "array", "items": shared}}}
    tight = strict(loose)
    assert tight["properties"]["a"]["minLength"] == 1
    assert tight["properties"]["b"]["items"] == {"type": "string"}  # list items stay as written
    assert shared == {"type": "string"}  # the table itself is untouched


@pytest.mark.parametrize(
    ("label", "field", "base", "item"),
    [
        ("POST /v1/lmif/webhooks", "events", {"url": "http://127.0.0.1:1/x"}, None),
        ("POST /v1/lmif/claims", "variations", {"name": "Ada Lovelace"}, "Ada"),
        ("POST /v1/lmif/events/{id}/resend", "webhookIds", {}, "wh_none"),
    ],
)
def test_list_fields_state_the_most_items_the_server_takes(
    label: str, field: str, base: dict[str, Any], item: str | None
) -> None:
    """The document's ``maxItems`` is the server's own cap: one item more is refused for it."""
    operation = schema.find_operation_by_label(label)
    assert operation is not None
    method, path = label.split(" ")
    request_body = schema.raw_schema["paths"][path][method.lower()]["requestBody"]
    name = request_body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    most = schema.raw_schema["components"]["schemas"][name]["properties"][field]["maxItems"]
    headers = {"Authorization": f"Bearer {KEY}"}
    kinds = ["*", *sorted(EVENT_TYPES)]
    too_many = kinds + kinds[:1] if item is None else [item] * (most + 1)
    assert len(too_many) == most + 1
    body: dict[str, Any] = {**base, field: too_many}
    answer = operation.Case(body=body, path_parameters={"id": "evt_none"}).call(headers=headers)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["details"][0]["field"] == field
    assert f"at most {most}" in answer.json()["error"]["details"][0]["message"]
