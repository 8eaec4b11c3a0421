"""``wait_for`` / ``wait_idle`` on a real clock, from Python and over ``GET /_mock/wait`` (curl).

Real-clock tests use generous timeouts and never assert how long anything took.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lmif_mock import FakeLMIF, LMIFServer, RealClock, RetryPolicy
from lmif_mock.in_flight import InFlight
from lmif_mock.waiting import WaitError, WaitTimeout
from tests.receivers import Recorder, wsgi_server

QUICK_RETRIES = RetryPolicy(delays=[0, 0.05, 0.05, 0.05], timeout=10)
SLOW_RETRIES = RetryPolicy(delays=[0, 3600], timeout=10)


@pytest.fixture
def real_server() -> Iterator[LMIFServer]:
    with LMIFServer(clock=RealClock(), retry_policy=QUICK_RETRIES) as server:
        yield server


def test_wait_for_success_after_retries_on_a_real_clock(real_server: LMIFServer) -> None:
    receiver = Recorder([500, 503])
    webhook = real_server.webhooks.create(url=receiver, events=["box.created"])
    event = real_server.emit("box.created")
    [delivery] = real_server.wait_for(event=event, status="succeeded", timeout=30)
    assert delivery.webhook_id == webhook.id
    assert [a.status_code for a in delivery.attempts] == [500, 503, 200]
    assert len(receiver.bodies) == 3


def test_wait_for_a_number_of_attempts(real_server: LMIFServer) -> None:
    receiver = Recorder([500, 500, 500, 500])
    real_server.webhooks.create(url=receiver, events=["*"])
    real_server.emit("box.deleted")
    [delivery] = real_server.wait_for(event_type="box.deleted", attempts=2, timeout=30)
    assert delivery.attempt_count >= 2
    [failed] = real_server.wait_for(event_type="box.deleted", status="failed", timeout=30)
    assert failed.attempt_count == 4


def test_wait_for_every_delivery_of_an_event(real_server: LMIFServer) -> None:
    first, second = Recorder([500]), Recorder()
    real_server.webhooks.create(url=first, events=["*"])
    real_server.webhooks.create(url=second, events=["*"])
    event = real_server.emit("box.created")
    settled = real_server.wait_for(event=event.id, count="all", timeout=30)
    assert len(settled) == 2
    assert all(d.status == "succeeded" for d in settled)


def test_a_timed_out_wait_shows_what_it_saw() -> None:
    with LMIFServer(clock=RealClock(), retry_policy=SLOW_RETRIES) as server:
        receiver = Recorder([500])
        server.webhooks.create(url=receiver, events=["*"])
        event = server.emit("box.created")
        with pytest.raises(WaitTimeout) as caught:
            server.wait_for(event=event, status="succeeded", timeout=0.2)
    message = str(caught.value)
    delivery = server.deliveries(event_id=event.id)[0]
    assert delivery.id in message
    assert "#1 500 http_error" in message
    assert "next attempt at" in message
    assert "succeeded" in message


def test_on_a_virtual_clock_the_default_is_to_check_once() -> None:
    fake = FakeLMIF()
    fake.webhooks.create(url=Recorder([500]), events=["*"])
    event = fake.emit("box.created")
    with pytest.raises(WaitTimeout, match="pending"):
        fake.wait_for(event=event, status="succeeded")
    fake.clock.advance(minutes=1)
    [delivery] = fake.wait_for(event=event, status="succeeded")
    assert delivery.attempt_count == 2


def test_wait_idle_with_and_without_pending_retries() -> None:
    with LMIFServer(clock=RealClock(), retry_policy=SLOW_RETRIES) as server:
        server.webhooks.create(url=Recorder([500]), events=["*"])
        server.emit("box.created")
        server.wait_idle(retries=False, timeout=30)  # attempt 1 made; the retry is an hour off
        [delivery] = server.deliveries()
        assert delivery.status == "pending"
        assert delivery.attempt_count == 1
        with pytest.raises(WaitTimeout, match="1 pending deliveries"):
            server.wait_idle(timeout=0.1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"status": "done"},
        {"attempts": 0},
        {"count": 0},
        {"count": "some"},
        {"timeout": -1},
        {"timeout": 10_000},
    ],
)
def test_bad_waits_are_typed_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(WaitError):
        FakeLMIF().wait_for(**kwargs)  # type: ignore[arg-type]


def _curl(url: str, key: str) -> dict[str, object]:
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "90", "-H", f"Authorization: Bearer {key}", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    answer: dict[str, object] = json.loads(out)
    return answer


def test_long_poll_over_http_with_curl(real_server: LMIFServer) -> None:
    receiver = Recorder([500, 500])
    with wsgi_server(receiver) as receiver_url:
        created = subprocess.run(
            [
                "curl", "-sS", "-X", "POST", "-H", f"Authorization: Bearer {real_server.api_key}",
                "-H", "Content-Type: application/json", "--data",
                json.dumps({"url": receiver_url + "/hook", "events": ["*"]}),
                real_server.url + "/v1/lmif/webhooks",
            ],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        webhook_id = json.loads(created.stdout)["data"]["id"]
        real_server.emit("license.approved")
        answer = _curl(
            f"{real_server.url}/_mock/wait?webhookId={webhook_id}&until=succeeded&timeout=30",
            real_server.api_key,
        )
        data = answer["data"]
        assert isinstance(data, dict)
        assert data["met"] is True
        [delivery] = data["deliveries"]
        assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
        idle = _curl(f"{real_server.url}/_mock/wait/idle?timeout=30", real_server.api_key)
        assert idle["data"] == {"idle": True, "seen": ""}


def test_long_poll_that_times_out_says_what_it_saw() -> None:
    with LMIFServer(clock=RealClock(), retry_policy=SLOW_RETRIES) as server:
        server.webhooks.create(url=Recorder([500]), events=["*"])
        event = server.emit("box.created")
        answer = _curl(
            f"{server.url}/_mock/wait?eventId={event.id}&until=succeeded&timeout=0.1",
            server.api_key,
        )
        data = answer["data"]
        assert isinstance(data, dict)
        assert data["met"] is False
        assert "#1 500 http_error" in str(data["seen"])
        busy = _curl(f"{server.url}/_mock/wait/idle?timeout=0.1", server.api_key)
        assert busy["data"]["idle"] is False  # type: ignore[index]


def test_bad_long_poll_is_a_validation_error(real_server: LMIFServer) -> None:
    for query in ("until=done", "attempts=0", "count=x", "timeout=999", "timeout=soon"):
        answer = _curl(f"{real_server.url}/_mock/wait?{query}", real_server.api_key)
        assert answer["error"]["code"] == "VALIDATION_ERROR", query  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("count=all", "every delivery settled"),
        ("count=all&eventType=box.created", "every delivery (type=box.created) settled"),
        ("count=2&until=failed", "2 or more deliveries failed"),
        ("attempts=3", "1 or more deliveries with at least 3 attempt(s)"),
    ],
)
def test_long_poll_says_what_it_waited_for_in_plain_words(
    real_server: LMIFServer, query: str, words: str
) -> None:
    answer = _curl(f"{real_server.url}/_mock/wait?{query}&timeout=0", real_server.api_key)
    assert answer["data"]["waitedFor"] == words  # type: ignore[index]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("LMIF_MOCK_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", "wait", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_the_wait_command() -> None:
    with LMIFServer(clock=RealClock(), retry_policy=SLOW_RETRIES) as server:
        server.webhooks.create(url=Recorder([500]), events=["*"])
        event = server.emit("box.created")
        where = ("--server", server.url, "--api-key", server.api_key)
        late = _cli(*where, "--event", event.id, "--until", "succeeded", "--timeout", "0.2")
        assert late.returncode == 1
        assert "#1 500 http_error" in late.stderr
        met = _cli(*where, "--event", event.id, "--attempts", "1", "--timeout", "30")
        assert met.returncode == 0, met.stderr
        assert event.type in met.stdout
        assert _cli(*where, "--idle", "--timeout", "0.1").returncode == 1
        assert _cli(*where, "--until", "done").returncode == 2  # argparse refuses it
        assert _cli(*where, "--attempts", "0").returncode == 2  # the fake refuses it
        too_long = _cli(*where, "--timeout", "61")
        assert too_long.returncode == 2
        assert "timeout: must be between 0 and 60 seconds" in too_long.stderr  # the details
    assert _cli("--event", "evt_1").returncode == 2  # no server given


def test_long_polls_cannot_take_every_worker_of_the_server() -> None:
    """32 waiting clients once held all 32 workers, stalling every other request (health, a
    receiver's call back) for up to a minute. Now at most 8 wait; the rest are told to come back."""
    import http.client
    import threading

    from lmif_mock.http.wait_routes import MAX_CONCURRENT_WAITS

    with LMIFServer() as server:
        host, port = server.url.removeprefix("http://").split(":")
        headers = {"Authorization": f"Bearer {server.api_key}"}
        answers: list[tuple[int, dict[str, object]]] = []
        lock = threading.Lock()

        def long_poll() -> None:
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            connection.request("GET", "/_mock/wait?eventId=evt_awaited&timeout=60", headers=headers)
            response = connection.getresponse()
            with lock:
                answers.append((response.status, json.loads(response.read())))
            connection.close()

        pollers = [threading.Thread(target=long_poll) for _ in range(40)]
        for poller in pollers:
            poller.start()
        refused = 40 - MAX_CONCURRENT_WAITS
        for _ in range(3000):  # the refusals come back at once; the others hold their slots
            with lock:
                if len(answers) >= refused:
                    break
            threading.Event().wait(0.01)
        with lock:
            early = list(answers)
        assert len(early) == refused, early
        assert {status for status, _ in early} == {503}
        error = early[0][1]["error"]
        assert isinstance(error, dict)
        assert error["code"] == "TOO_MANY_WAITS"
        assert error["details"] == {"maxConcurrentWaits": MAX_CONCURRENT_WAITS, "retryAfter": 1}
        # While 8 clients still wait, everything else is answered (a bounded wait, not a timing).
        health = http.client.HTTPConnection(host, int(port), timeout=30)
        health.request("GET", "/_mock/health", headers=headers)
        assert health.getresponse().status == 200
        health.close()
        with lock:
            assert len(answers) == refused, "a long poll ended before what it waits for happened"
        # A check that does not wait needs no slot.
        check = http.client.HTTPConnection(host, int(port), timeout=30)
        check.request("GET", "/_mock/wait?eventId=evt_awaited&timeout=0", headers=headers)
        assert check.getresponse().status == 200
        check.close()
        receiver = Recorder()
        server.webhooks.create(receiver, events=["*"])
        server.emit("box.created", event_id="evt_awaited")
        for poller in pollers:
            poller.join(90)
        met = [body for status, body in answers if status == 200]
        assert len(met) == MAX_CONCURRENT_WAITS
        assert all(body["data"]["met"] for body in met)  # type: ignore[index]


def test_the_last_attempt_ending_wakes_a_waiter_at_once() -> None:
    """``wait_idle`` has no polling to fall back on: only the end of the attempt can wake it."""
    lock = threading.RLock()
    flight = InFlight(lock)
    with lock:
        flight.add("dlv_1")
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(flight.wait_idle(600)), daemon=True)
    waiter.start()
    for _ in range(3000):  # until it waits (bounded: 30 s)
        if flight.waiting:
            break
        time.sleep(0.01)
    assert flight.waiting == 1, "the waiter never started waiting"
    flight.discard("dlv_1")
    waiter.join(60)  # far below its own 600 s timeout
    assert not waiter.is_alive(), "ending the last attempt did not wake the waiter"
    assert results == [True]
    flight.discard("dlv_1")  # a second discard of the same attempt changes nothing
    assert flight.waiting == 0
    assert len(flight) == 0


def test_the_wait_command_asks_again_while_every_long_poll_slot_is_taken() -> None:
    """A 503 TOO_MANY_WAITS is not the end of a ``wait``: it says so, asks again after the
    Retry-After within its own timeout, and is met once a slot frees."""
    import argparse
    import http.client
    import io
    import threading

    from lmif_mock.commands import wait as wait_command
    from lmif_mock.http.wait_routes import MAX_CONCURRENT_WAITS

    with LMIFServer() as server:
        host, port = server.url.removeprefix("http://").split(":")
        headers = {"Authorization": f"Bearer {server.api_key}"}

        def get(timeout: int) -> int:
            connection = http.client.HTTPConnection(host, int(port), timeout=120)
            connection.request(
                "GET", f"/_mock/wait?eventId=evt_x&timeout={timeout}", headers=headers
            )
            status = connection.getresponse().status
            connection.close()
            return status

        def hold() -> None:
            # A holder refused while a probe below briefly had a slot asks again, so all the
            # slots end up held (without this the suite once hung: 7 holders, probes forever).
            while get(60) == 503:
                threading.Event().wait(0.01)

        holders = [threading.Thread(target=hold) for _ in range(MAX_CONCURRENT_WAITS)]
        for holder in holders:
            holder.start()
        for _ in range(600):  # until the slots are all taken (a probe is refused)
            if get(1) == 503:
                break
        else:
            pytest.fail("the long-poll slots never filled")
        parser = argparse.ArgumentParser()
        wait_command.add_arguments(parser)
        args = parser.parse_args(
            ["--server", server.url, "--api-key", server.api_key, "--event", "evt_x",
             "--timeout", "50"]
        )  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        codes: list[int] = []
        waiter = threading.Thread(target=lambda: codes.append(wait_command.run(args, out, err)))
        waiter.start()
        for _ in range(3000):
            if "asking again" in err.getvalue():
                break
            threading.Event().wait(0.01)
        assert "TOO_MANY_WAITS" in err.getvalue() or "already waiting" in err.getvalue()
        server.webhooks.create(Recorder(), events=["*"])
        server.emit("box.created", event_id="evt_x")
        waiter.join(60)
        for holder in holders:
            holder.join(60)
        assert codes == [0], err.getvalue()
        assert "met" in out.getvalue()
