"""Every parser of outside input, fuzzed: nothing but its own clear error ever escapes.

By default each runs a few hundred examples; ``pytest -m slow`` runs the long fuzz, 100,000
examples each (about a minute per parser on these machines).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from lmif_mock import FakeLMIF, Faults, RetryPolicy, verify
from lmif_mock.commands.trigger import UsageError, parse_overrides
from lmif_mock.faults import FaultError
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.http.app import API
from lmif_mock.http.routes import ROUTES
from lmif_mock.retry import RetryPolicyError
from lmif_mock.timestamps import parse_timestamp
from lmif_mock.webhooks import WebhookError, check_events, check_secret
from tests.dashboard_login import log_in
from tests.receivers import Recorder

COUNTS = [
    pytest.param(300, id="quick"),
    pytest.param(100_000, id="long", marks=pytest.mark.slow),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=4)
    ),
    max_leaves=12,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=15,
)


def fuzz(strategy: st.SearchStrategy[Any], check: Callable[[Any], None], examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        check(value)

    run()


def expect(allowed: tuple[type[BaseException], ...], call: Callable[[], object]) -> None:
    """Run ``call``; its own clear errors are fine, anything else fails the fuzz."""
    with contextlib.suppress(*allowed):
        call()


@pytest.mark.parametrize("examples", COUNTS)
def test_verify_never_raises(examples: int) -> None:
    fuzz(
        st.tuples(values, values | st.text(), values | st.lists(st.text())),
        lambda v: (
            (_ for _ in ()).throw(AssertionError(v)) if verify(*v) not in (True, False) else None
        ),
        examples,
    )


@pytest.mark.parametrize("examples", COUNTS)
def test_faults_from_json_only_raise_fault_errors(examples: int) -> None:
    keys = st.sampled_from(
        [
            "duplicates",
            "concurrent_duplicates",
            "drop_after_response",
            "delay",
            "signature",
            "layout",
            "x",
        ]
    )
    fuzz(
        st.dictionaries(keys, values, max_size=6) | values,
        lambda v: expect((FaultError,), lambda: Faults.from_dict(v)),
        examples,
    )


@pytest.mark.parametrize("examples", COUNTS)
def test_retry_policy_from_json_only_raises_its_error(examples: int) -> None:
    fuzz(
        st.dictionaries(st.sampled_from(["delays", "timeout", "x"]), values, max_size=3) | values,
        lambda v: expect((RetryPolicyError,), lambda: RetryPolicy.from_seconds(v)),
        examples,
    )


@pytest.mark.parametrize("examples", COUNTS)
def test_url_checks_only_raise_blocked_host(examples: int) -> None:
    urls = st.text(max_size=60) | st.builds(
        lambda scheme, host, rest: f"{scheme}://{host}{rest}",
        st.sampled_from(["http", "https", "ftp", "", "HTTP"]),
        st.text(max_size=25),
        st.text(max_size=15),
    )
    policy = HostPolicy(["*.example.test"])
    fuzz(urls, lambda u: expect((BlockedHostError,), lambda: policy.check_url(u)), examples)


@pytest.mark.parametrize("examples", COUNTS)
def test_webhook_fields_only_raise_webhook_errors(examples: int) -> None:
    def check(v: tuple[Any, Any]) -> None:
        expect((WebhookError,), lambda: check_events(v[0]))
        expect((WebhookError,), lambda: check_secret(v[1]))

    fuzz(st.tuples(values | st.lists(st.text(max_size=25)), values), check, examples)


@pytest.mark.parametrize("examples", COUNTS)
def test_timestamps_only_raise_value_error(examples: int) -> None:
    fuzz(
        st.text(max_size=40), lambda t: expect((ValueError,), lambda: parse_timestamp(t)), examples
    )


@pytest.mark.parametrize("examples", COUNTS)
def test_cli_overrides_only_raise_usage_errors(examples: int) -> None:
    fuzz(
        st.tuples(st.lists(st.text(max_size=30), max_size=4), st.none() | st.text(max_size=40)),
        lambda v: expect((UsageError,), lambda: parse_overrides(*v)),
        examples,
    )


@pytest.fixture(scope="module")
def client() -> Client:
    fake = FakeLMIF(seed=0)
    fake.webhooks.create("http://127.0.0.1:1/x", ["*"])
    app = API(fake, "lmif_test_fuzz")
    app.max_long_poll = 0.01  # fuzzed /_mock/wait?timeout=60 must not hold the run
    return Client(app)


@pytest.mark.parametrize("examples", COUNTS)
def test_api_never_answers_500_or_html(examples: int, client: Client) -> None:
    paths = st.sampled_from(
        [r.path.replace("<id>", "x").replace("<name>", "x") for r in ROUTES]
    ) | st.text(max_size=30).map(lambda p: "/" + p.replace("?", ""))
    requests = st.tuples(
        st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        paths,
        json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=60),
        st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", ""]),
        st.sampled_from(["Bearer lmif_test_fuzz", "Bearer lmif_live_x", "", "Basic x"]),
    )

    def check(req: tuple[str, str, bytes, str, str]) -> None:
        method, path, body, content_type, auth = req
        headers = {"Authorization": auth} if auth else {}
        if content_type:
            headers["Content-Type"] = content_type
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code < 500, (req, response.get_data()[:300])
        if method != "HEAD":
            assert response.mimetype == "application/json"
            json.loads(response.get_data())

    fuzz(requests, check, examples // 10)


# -- junk sequences: never a 5xx, and a refusal changes nothing ---------------------------------

#: Bodies that once answered 500 or stored half an operation (issue 13), as raw JSON text.
_DEEP = '{"a":' * 600 + "1" + "}" * 600
_E, _W = "/_mock/events", "/v1/lmif/webhooks"
HOSTILE = [
    ("POST", _E, b'{"type":"box.created","data":{"n":1e400}}'),
    ("POST", _E, b'{"type":"box.created","data":{"n":NaN}}'),
    ("POST", _E, b'{"type":"box.created","data":{"s":"\\ud800"}}'),
    ("POST", _E, b'{"type":"box.created","data":' + _DEEP.encode() + b"}"),
    ("POST", _E, b'{"type":"box.created","faults":{"delay":8e13}}'),
    ("POST", _E, b'{"type":"box.created","faults":{"duplicates":200000}}'),
    ("POST", _E, b'{"type":"box.created","faults":{"concurrent_duplicates":3000}}'),
    ("POST", _E, b'{"type":"box.created","faults":{"signature":"previous_secret"}}'),
    ("POST", _E, b'{"type":"box.created","retryPolicy":{"delays":[0' + b",0" * 4999 + b"]}}"),
    ("POST", _E + "/batch", b'{"events":[{"type":"box.created"},{"type":"box.created","data":{"n":1e400}}]}'),
    ("POST", _W, b'{"url":"http://127.0.0.1:9/\\ud800","events":["*"]}'),
    ("POST", _W, b'{"url":"http://127.0.0.1:9/","events":["*"],"secret":"\\ud800"}'),
    ("POST", "/_mock/world/boxes", b'{"identityName":"\\ud800 Star"}'),
    ("POST", "/_mock/world/avatars", b'{"name":"Bot \\udbff"}'),
    ("PUT", "/_mock/faults", b'{"signature":"previous_secret"}'),
    ("PUT", "/_mock/retry-policy", b'{"delays":[0,1e400]}'),
    ("POST", "/_mock/clock/advance", b'{"days":1e400}'),
    ("POST", "/_mock/clock/advance", b'{"hours":35}'),
    ("POST", _W + "/test", b'{"eventType":"box.created","endpoint":"wsgi://Recorder/"}'),
    ("POST", "/_mock/scenarios/policy-tightened", b""),
    ("POST", "/v1/lmif/boxes", b'{"identityName":"Ada Lovelace","policy":"LICENSE"}'),
]  # fmt: skip
_FIELDS = st.sampled_from(
    [
        "type", "data", "faults", "retryPolicy", "allowUnknown", "webhookIds", "url", "events",
        "secret", "enabled", "identityName", "policy", "name", "boxId", "avatarId", "tier",
        "useCase", "acceptGuidelines", "delays", "timeout", "duplicates", "delay", "signature",
        "days", "hours", "eventType", "endpoint", "webhookId", "confidence", "userCount",
    ]
)  # fmt: skip
_ODD_VALUES = st.sampled_from(
    ["\ud800", "box.created", "*", "http://127.0.0.1:1/x", "MONETIZE", "creator", "previous_secret"]
)
_junk_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12) | _ODD_VALUES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_FIELDS, inner, max_size=5),
    max_leaves=12,
)
_bodies = st.dictionaries(_FIELDS, _junk_json, max_size=6).map(
    lambda v: json.dumps(v, allow_nan=True).encode("utf-8", "surrogatepass")
) | st.binary(max_size=40)
_PATHS = [r.path.replace("<name>", "policy-tightened") for r in ROUTES]
LIST_PATHS = [
    r.path for r in ROUTES if r.method == "GET" and "<" not in r.path and "openapi" not in r.path
]


def _ids(fake: FakeLMIF) -> list[str]:
    """Every id the fake holds now, so junk also lands on real webhooks, deliveries, boxes..."""
    world = fake.world
    return [
        "x",
        *(w.id for w in fake.webhooks.list()),
        *(e.id for e in fake.events()),
        *(d.id for d in fake.deliveries()),
        *world.boxes, *world.claims, *world.violations, *world.grace_periods,
        *world.licenses, *world.requests,
    ]  # fmt: skip


def _state(fake: FakeLMIF) -> tuple[Any, ...]:
    world = fake.world
    return (
        len(fake.webhooks.list()),
        len(fake.events()),
        len(fake.deliveries()),
        sum(len(d.attempts) for d in fake.deliveries()),
        fake.clock.now(),
        fake.default_faults,
        fake.retry_policy,
        *(len(table) for table in (world.boxes, world.avatars, world.violations)),
        *(len(table) for table in (world.licenses, world.requests, world.claims)),
    )


@settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(
    st.lists(
        st.tuples(st.sampled_from(HOSTILE), st.integers(0, 50)).map(lambda h: (*h[0], h[1]))
        | st.tuples(
            st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
            st.sampled_from(_PATHS),
            _bodies,
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_junk_requests_never_5xx_and_refusals_change_nothing(
    requests: list[tuple[str, str, bytes, int]],
) -> None:
    fake = FakeLMIF(seed=0)
    fake.webhooks.create(Recorder(), ["*"])
    app = API(fake, "lmif_test_junk")
    app.max_long_poll = 0.01  # junk aimed at /_mock/wait?timeout=60 must not hold the run
    client = Client(app)
    headers = {"Authorization": "Bearer lmif_test_junk", "Content-Type": "application/json"}
    for method, template, body, pick in requests:
        ids = _ids(fake)
        path = template.replace("<id>", ids[pick % len(ids)])
        before = _state(fake)
        answer = client.open(path, method=method, data=body, headers=headers)
        assert answer.status_code < 500, (method, path, body[:200], answer.get_data()[:300])
        if answer.status_code >= 400:
            assert _state(fake) == before, (method, path, body[:200], answer.get_data()[:300])
    for path in LIST_PATHS:
        listed = client.get(path, headers=headers)
        assert listed.status_code == 200, (path, listed.get_data()[:300])
        json.loads(listed.get_data())
    log_in(client, "lmif_test_junk")
    pages = ["/dashboard/"]
    pages += [f"/dashboard/webhooks/{w.id}" for w in fake.webhooks.list()]
    pages += [f"/dashboard/events/{e.id}" for e in fake.events()]
    for page in pages:
        shown = client.get(page)
        assert shown.status_code == 200, (page, shown.get_data()[:300])


_any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_hostile_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _any_text,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(_any_text | st.integers(), inner, max_size=3)
        | st.frozensets(st.integers(), max_size=2)
    ),
    max_leaves=10,
)


@pytest.mark.parametrize("examples", COUNTS)
def test_data_passing_the_check_always_encodes(examples: int) -> None:
    """What check_json_value lets through, encode sends; all else is an EncodingError."""
    from datetime import datetime, timezone

    from lmif_mock import EncodingError, Event
    from lmif_mock.events import check_json_value

    def check(value: Any) -> None:
        try:
            check_json_value({"v": value}, max_depth=4)
        except EncodingError:
            return
        body = Event("evt_x", "box.created", datetime.now(timezone.utc), {"v": value}).body
        assert json.loads(body)["data"]["v"] == value

    fuzz(_hostile_values, check, examples)


_py_junk = values | _hostile_values | st.sampled_from(["box.created", "*", "\ud800", "x" * 300])


@pytest.mark.parametrize("examples", COUNTS)
def test_python_calls_with_junk_raise_only_typed_errors_and_change_nothing(examples: int) -> None:
    from lmif_mock import LMIFMockError

    fake = FakeLMIF(seed=0)
    fake.webhooks.create(Recorder(), ["*"])
    box = fake.world.box_identity("Ada Lovelace", policy="LICENSE")
    calls: list[Callable[[Any], object]] = [
        lambda v: fake.emit(v),
        lambda v: fake.emit("box.created", data=v),
        lambda v: fake.emit("box.created", faults=v),
        lambda v: fake.emit("box.created", retry_policy=v),
        lambda v: fake.emit("box.created", event_id=v),
        lambda v: fake.emit("box.created", webhook_ids=v),
        lambda v: fake.emit(v, allow_unknown=True),
        lambda v: fake.emit_many(v),
        lambda v: fake.webhooks.create(v, ["*"]),
        lambda v: fake.webhooks.create("http://127.0.0.1:1/", v),
        lambda v: fake.webhooks.create("http://127.0.0.1:1/", ["*"], v),
        lambda v: fake.retry(v),
        lambda v: fake.resend(v),
        lambda v: fake.world.box_identity(v),
        lambda v: fake.world.box_identity("Grace Hopper", policy=v),
        lambda v: fake.world.box_identity("Grace Hopper", royalty_rate=v),
        lambda v: fake.world.box_identity("Grace Hopper", revenue_types=v),
        lambda v: fake.world.add_avatar(v),
        lambda v: fake.world.add_avatar("Bot", user_count=v),
        lambda v: fake.world.detect_violation(box.id, confidence=v),
        lambda v: fake.world.detect_violation(v),
        lambda v: fake.world.request_license(box.id, tier=v),
        lambda v: fake.world.request_license(box.id, use_case=v),
        lambda v: fake.world.request_license(box.id, estimated_users=v),
        lambda v: fake.world.request_license(box.id, message=v),
        lambda v: fake.world.update_box(box.id, policy=v),
        lambda v: fake.world.resolve_violation(v),
        lambda v: fake.clock.advance(v),
    ]

    def check(choice: tuple[int, Any]) -> None:
        index, value = choice
        before = _state(fake)
        try:
            calls[index](value)
        except LMIFMockError:
            assert _state(fake) == before, (index, value)

    fuzz(st.tuples(st.integers(0, len(calls) - 1), _py_junk), check, examples)
