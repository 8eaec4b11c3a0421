"""Endpoint health (always) and opt-in delivery control (410, Retry-After, auto-disable), from
Python, over the control API with curl, and on the dashboard."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from lmif_mock import DeliveryControl, FakeLMIF, LMIFServer
from lmif_mock.health import DeliveryControlError
from lmif_mock.http.app import API
from lmif_mock.retry_after import parse_retry_after
from tests.dashboard_login import log_in
from tests.receivers import wsgi_server


def answering(*answers: tuple[int, dict[str, str]]) -> Callable[..., Any]:
    """A WSGI receiver answering each request with the next (status, headers); then 200."""
    queue = list(answers)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        Request(environ).get_data()  # reads Content-Length bytes (a bare read() waits for EOF)
        status, headers = queue.pop(0) if queue else (200, {})
        start_response(f"{status} X", [*headers.items(), ("Content-Length", "6")])
        return [b"answer"]

    return app


def test_health_counts_failures_in_a_row_and_when_they_began() -> None:
    fake = FakeLMIF()
    webhook = fake.webhooks.create(url=answering((500, {}), (502, {}), (500, {})), events=["*"])
    assert fake.endpoint_health(webhook.id).state == "unknown"
    start = fake.clock.now()
    fake.emit("box.created")
    fake.clock.advance(minutes=6)
    health = fake.endpoint_health(webhook.id)
    assert health.state == "failing"
    assert health.consecutive_failures == 3
    assert health.failing_since == start
    assert health.last_success_at is None
    fake.clock.advance(minutes=30)  # attempt 4 succeeds
    healthy = fake.endpoint_health(webhook.id)
    assert healthy.state == "healthy"
    assert healthy.consecutive_failures == 0
    assert healthy.failing_since is None
    assert healthy.last_success_at == start + timedelta(minutes=36)
    assert [h.webhook_id for h in fake.endpoint_health()] == [webhook.id]


def test_off_by_default_410_and_retry_after_change_nothing() -> None:
    fake = FakeLMIF()
    assert fake.delivery_control is None
    gone = fake.webhooks.create(url=answering((410, {})), events=["box.created"])
    busy = fake.webhooks.create(
        url=answering((503, {"Retry-After": "600"})), events=["box.deleted"]
    )
    fake.emit("box.created")
    fake.emit("box.deleted")
    assert fake.webhooks.get(gone.id).enabled
    [delivery] = fake.deliveries(webhook_id=busy.id)
    first = delivery.attempts[0]
    assert first.retry_after == 600  # recorded, not obeyed
    assert delivery.next_attempt_at == first.at + timedelta(minutes=1)
    assert fake.deliveries(webhook_id=gone.id)[0].status == "pending"


def test_410_gone_disables_the_endpoint_and_fails_the_delivery() -> None:
    fake = FakeLMIF()
    fake.delivery_control = DeliveryControl()
    webhook = fake.webhooks.create(url=answering((410, {})), events=["*"])
    fake.emit("box.created")
    [delivery] = fake.deliveries()
    assert delivery.status == "failed"
    assert delivery.attempt_count == 1
    assert not fake.webhooks.get(webhook.id).enabled
    health = fake.endpoint_health(webhook.id)
    assert health.state == "disabled"
    assert health.disabled_reason == "the receiver answered 410 Gone"
    assert health.disabled_at == delivery.attempts[0].at
    fake.emit("box.created")
    assert len(fake.deliveries()) == 1  # a disabled endpoint gets nothing new


def test_retry_after_postpones_the_next_attempt_up_to_the_cap() -> None:
    fake = FakeLMIF()
    fake.delivery_control = DeliveryControl(max_retry_after=timedelta(minutes=20))
    longer = fake.webhooks.create(url=answering((429, {"Retry-After": "600"})), events=["box.created"])  # fmt: skip
    capped = fake.webhooks.create(url=answering((503, {"Retry-After": "99999"})), events=["box.updated"])  # fmt: skip
    shorter = fake.webhooks.create(url=answering((503, {"Retry-After": "5"})), events=["box.deleted"])  # fmt: skip
    for event_type in ("box.created", "box.updated", "box.deleted"):
        fake.emit(event_type)
    waits = {}
    for webhook in (longer, capped, shorter):
        [delivery] = fake.deliveries(webhook_id=webhook.id)
        assert delivery.next_attempt_at is not None
        waits[webhook.id] = delivery.next_attempt_at - delivery.attempts[0].at
    assert waits == {
        longer.id: timedelta(seconds=600),
        capped.id: timedelta(minutes=20),
        shorter.id: timedelta(minutes=1),  # the schedule's own wait is longer
    }


def test_automatic_disabling_after_failures_in_a_row() -> None:
    fake = FakeLMIF()
    fake.delivery_control = DeliveryControl(disable_after_failures=3)
    webhook = fake.webhooks.create(url=answering(*[(500, {})] * 10), events=["*"])
    fake.emit("box.created")
    fake.emit("box.updated")
    assert fake.webhooks.get(webhook.id).enabled
    fake.emit("box.deleted")
    health = fake.endpoint_health(webhook.id)
    assert health.state == "disabled"
    assert health.disabled_reason == "3 failed attempts in a row"


def test_automatic_disabling_after_failing_for_a_while() -> None:
    fake = FakeLMIF()
    fake.delivery_control = DeliveryControl(disable_after=timedelta(hours=1))
    webhook = fake.webhooks.create(url=answering(*[(500, {})] * 10), events=["*"])
    fake.emit("box.created")
    fake.clock.advance(minutes=36)  # attempts at 0, 1, 6 and 36 minutes
    assert fake.webhooks.get(webhook.id).enabled
    fake.clock.advance(hours=2)  # attempt 5 at 2 h 36 min: failing for over an hour
    health = fake.endpoint_health(webhook.id)
    assert health.state == "disabled"
    assert "rule: disable_after" in str(health.disabled_reason)


def test_reset_turns_control_off_and_forgets() -> None:
    fake = FakeLMIF()
    fake.delivery_control = DeliveryControl()
    fake.webhooks.create(url=answering((410, {})), events=["*"])
    fake.emit("box.created")
    fake.reset()
    assert fake.delivery_control is None
    again = fake.webhooks.create(url=answering((410, {})), events=["*"])
    fake.emit("box.created")
    assert fake.webhooks.get(again.id).enabled


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_retry_after": 0},
        {"max_retry_after": timedelta(days=30)},
        {"disable_after_failures": 0},
        {"disable_after_failures": True},
        {"disable_after": -5},
        {"honor_gone": "yes"},
    ],
)
def test_bad_controls_are_typed_errors(kwargs: dict[str, Any]) -> None:
    with pytest.raises(DeliveryControlError):
        DeliveryControl(**kwargs)


def test_retry_after_parsing() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:02:00 GMT", now) == 120
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def _curl(*args: str) -> Any:
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "60", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def test_control_and_health_over_http_with_curl() -> None:
    with LMIFServer() as server, wsgi_server(answering((410, {}))) as receiver_url:
        auth = ["-H", f"Authorization: Bearer {server.api_key}"]
        json_body = ["-H", "Content-Type: application/json", "--data"]
        off = _curl(*auth, server.url + "/_mock/delivery-control")
        assert off["data"]["enabled"] is False
        put = _curl(*auth, "-X", "PUT", *json_body,
                    '{"enabled": true, "disableAfterFailures": 5}',
                    server.url + "/_mock/delivery-control")  # fmt: skip
        assert put["data"]["disableAfterFailures"] == 5
        assert put["data"]["honorGone"] is True
        created = _curl(*auth, *json_body,
                        json.dumps({"url": receiver_url + "/hook", "events": ["*"]}),
                        server.url + "/v1/lmif/webhooks")  # fmt: skip
        webhook_id = created["data"]["id"]
        _curl(*auth, *json_body, '{"type": "box.created"}', server.url + "/_mock/events")
        health = _curl(*auth, f"{server.url}/_mock/webhooks/{webhook_id}/health")["data"]
        assert health["state"] == "disabled"
        assert health["disabledReason"] == "the receiver answered 410 Gone"
        assert health["consecutiveFailures"] == 1
        listed = _curl(*auth, server.url + "/_mock/endpoints/health")
        assert listed["data"] == [health]
        assert listed["meta"]["total"] == 1
        missing = _curl(*auth, f"{server.url}/_mock/webhooks/wh_nope/health")
        assert missing["error"]["code"] == "NOT_FOUND"
        bad = _curl(*auth, "-X", "PUT", *json_body, '{"enabled": true, "maxRetryAfter": 0}',
                    server.url + "/_mock/delivery-control")  # fmt: skip
        assert bad["error"]["code"] == "VALIDATION_ERROR"
        assert server.delivery_control is not None  # a refused change changes nothing
        assert server.delivery_control.disable_after_failures == 5


def test_the_dashboard_shows_health() -> None:
    fake = FakeLMIF()
    fake.webhooks.create(url=answering((500, {})), events=["*"])
    fake.emit("box.created")
    client = Client(API(fake, "lmif_test_dashboard"))
    log_in(client, "lmif_test_dashboard")
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "<th>Health</th>" in page
    assert "failing since 2024-01-15T10:00:00Z (1 failures in a row)" in page


def test_a_retry_that_cannot_reach_anyone_is_refused_with_the_reason() -> None:
    """A deleted webhook's delivery: the API answers 409 saying why, records no attempt, and
    ``serve`` prints the reason instead of a retry command that could not succeed."""
    from werkzeug.test import Client

    from lmif_mock import ConflictError, FakeLMIF, LMIFServer, RetryPolicy
    from lmif_mock.commands.serve import _gave_up
    from lmif_mock.http.app import API

    fake = FakeLMIF(seed=0)
    webhook = fake.webhooks.create("http://127.0.0.1:1/gone", ["*"])
    fake.emit("box.created", retry_policy=RetryPolicy(delays=[0, 60]))
    (delivery,) = fake.deliveries()
    fake.webhooks.delete(webhook.id)
    fake.clock.advance(minutes=1)
    made = len(fake.delivery(delivery.id).attempts)
    key = "lmif_test_unretryable"
    answer = Client(API(fake, key)).post(
        f"/v1/lmif/deliveries/{delivery.id}/retry", headers={"Authorization": f"Bearer {key}"}
    )
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["details"] == {"reason": "webhook_deleted", "webhookId": webhook.id}
    assert f"its webhook {webhook.id} was deleted" in error["message"]
    assert len(fake.delivery(delivery.id).attempts) == made
    with pytest.raises(ConflictError, match="was deleted"):  # the Python API refuses it alike
        fake.retry(delivery.id)
    assert len(fake.delivery(delivery.id).attempts) == made
    with LMIFServer() as server:
        other = server.webhooks.create("http://127.0.0.1:1/gone", ["*"])
        server.emit("box.created", retry_policy=RetryPolicy(delays=[0]))
        (failed,) = server.deliveries()
        assert "retry it with:" in _gave_up(failed, server)[0]  # the webhook still exists
        server.webhooks.delete(other.id)
        [said] = _gave_up(failed, server)
        assert "no retry: its webhook" in said
        assert "python -m lmif_mock retry" not in said
