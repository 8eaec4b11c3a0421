"""A receiver that accepts and never answers must not stall the fake's own API.

An outside tester sent 40 parallel emits while the webhook pointed at such a receiver: all 32
workers of the fake were held for the attempt timeout and ``GET /_mock/health`` took 42 s. Now the
requests that may wait on a receiver hold at most half the workers; past that they are refused at
once (503 RECEIVERS_BUSY, Retry-After) without changing anything, and everything else is answered.
Every check here is over real HTTP on 127.0.0.1 with bounded polling, never a timed assertion.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import urllib3
from werkzeug.test import Client

from lmif_mock import FakeLMIF, LMIFServer, VirtualClock
from lmif_mock.clock import Clock, RealClock
from lmif_mock.http.app import API
from lmif_mock.http.receiver_share import (
    MAX_CONCURRENT_DELIVERING,
    NEVER_DELIVER,
    ReceiverShare,
    may_deliver,
)
from lmif_mock.http.routes import ROUTES
from lmif_mock.http.serving.server_limits import WORKERS
from lmif_mock.http.wait_routes import MAX_CONCURRENT_WAITS
from tests.dashboard_login import log_in
from tests.in_process_api import HEADERS, KEY
from tests.receivers import raw_server, read_request

PARALLEL = 40
_POOL = urllib3.PoolManager(retries=False, maxsize=PARALLEL + 8, block=False)


@dataclass
class HangingReceiver:
    """Accepts, reads the request, and answers 200 only once ``back`` is set (or never)."""

    back: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    held: int = 0

    def __call__(self, conn: socket.socket) -> None:
        read_request(conn)
        with self.lock:
            self.held += 1
        self.back.wait(300)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")


def _call(
    server: LMIFServer, method: str, path: str, body: object = None
) -> urllib3.BaseHTTPResponse:
    headers = {"Authorization": f"Bearer {server.api_key}", "Content-Type": "application/json"}
    payload = None if body is None else json.dumps(body).encode()
    return _POOL.request(
        method, server.url + path, body=payload, headers=headers,
        timeout=urllib3.Timeout(connect=30, read=300),
    )  # fmt: skip


def _until(condition: Callable[[], bool], what: str, tries: int = 6000) -> None:
    """Poll ``condition`` (every 10 ms, 60 s at most) or fail saying what never happened."""
    for _ in range(tries):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"never happened within the bounded wait: {what}")


@contextmanager
def _parallel(
    server: LMIFServer, count: int, method: str, path: str, body: object, release: threading.Event
) -> Iterator[list[tuple[int, dict[str, object], str | None]]]:
    """``count`` requests at once on their own threads; yields the answers as they come."""
    answers: list[tuple[int, dict[str, object], str | None]] = []
    lock = threading.Lock()

    def one() -> None:
        response = _call(server, method, path, body)
        with lock:
            answers.append(
                (response.status, json.loads(response.data), response.headers.get("Retry-After"))
            )

    threads = [threading.Thread(target=one, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        yield answers
    finally:
        release.set()  # also when a check failed: the threads end instead of hanging
        for thread in threads:
            thread.join(300)


def _assert_busy(answer: tuple[int, dict[str, object], str | None]) -> None:
    status, body, retry_after = answer
    assert status == 503, answer
    error = body["error"]
    assert isinstance(error, dict)
    assert error["code"] == "RECEIVERS_BUSY", answer
    assert error["details"] == {"maxConcurrent": MAX_CONCURRENT_DELIVERING, "retryAfter": 1}
    assert retry_after == "1"


def test_the_share_leaves_workers_for_everything_else() -> None:
    """Half the workers for requests on receivers, 8 for long polls: a quarter always free."""
    assert MAX_CONCURRENT_DELIVERING + MAX_CONCURRENT_WAITS < WORKERS
    assert WORKERS - MAX_CONCURRENT_DELIVERING - MAX_CONCURRENT_WAITS >= 4


def test_only_routes_that_may_deliver_take_a_slot() -> None:
    endpoints = {route.endpoint for route in ROUTES}
    assert endpoints >= NEVER_DELIVER, sorted(NEVER_DELIVER - endpoints)
    delivering = {route.endpoint for route in ROUTES if may_deliver(route)}
    assert {
        "mock_emit", "mock_emit_batch", "test_webhook", "resend_event", "retry_delivery",
        "run_scenario", "mock_advance", "world_violation", "create_box", "world_approve",
    } <= delivering  # fmt: skip
    assert not any(route.method == "GET" for route in ROUTES if may_deliver(route))
    assert {"mock_reset", "mock_rotate_key", "mock_put_policy", "create_webhook"} <= (
        endpoints - delivering
    )
    # Every change to the world may publish what other changes queued, so each takes a slot
    # (claims and avatars emit nothing themselves; they were exempt, and could then deliver).
    assert {"create_claim", "update_claim", "delete_claim", "world_reject_claim",
            "world_avatar"} <= delivering  # fmt: skip


def test_a_refusal_past_the_cap_is_not_counted_against_the_rate_limit() -> None:
    """A client told RECEIVERS_BUSY and asking again after Retry-After must not run into a 429
    for it: the refusal comes before the request is counted (an outside tester used up a
    sandbox minute's quota with 503s)."""
    fake = FakeLMIF(seed=0)
    api = API(fake, KEY)
    api.receiver_share = ReceiverShare(0)  # every slot taken
    client = Client(api)

    def remaining() -> int:
        answer = client.get("/v1/lmif/webhooks", headers=HEADERS)
        assert answer.status_code == 200
        return int(answer.headers["X-RateLimit-Remaining"])

    before = remaining()
    for _ in range(5):
        refused = client.post("/v1/lmif/licenses/request", json={}, headers=HEADERS)
        assert refused.status_code == 503, refused.get_data(as_text=True)
        assert refused.get_json()["error"]["code"] == "RECEIVERS_BUSY"
    assert remaining() == before - 1  # the one GET in between, and nothing for the five 503s
    fake.close()


@pytest.mark.parametrize("clock", [RealClock, VirtualClock], ids=["real", "virtual"])
def test_a_hanging_receiver_cannot_stall_the_api(clock: Callable[[], Clock]) -> None:
    """40 emits to a receiver that never answers: 16 wait on it, 24 are refused at once and
    store nothing; health, reads and control answer meanwhile; when the receiver comes back
    every accepted emit is recorded whole and succeeds, and emitting works again."""
    receiver = HangingReceiver()
    with raw_server(receiver) as url, LMIFServer(clock=clock()) as server:
        server.webhooks.create(url, events=["*"])
        # The attack's policy: an attempt may wait an hour on the receiver.
        assert (
            _call(server, "PUT", "/_mock/retry-policy", {"delays": [0], "timeout": 3600}).status
            == 200
        )
        refused = PARALLEL - MAX_CONCURRENT_DELIVERING
        with _parallel(
            server, PARALLEL, "POST", "/_mock/events", {"type": "box.created"}, receiver.back
        ) as answers:
            _until(lambda: len(answers) >= refused, f"{refused} emits refused at once")
            _until(lambda: receiver.held >= 1, "the receiver holding an attempt")
            early = list(answers)
            assert len(early) == refused, early  # the others are still held by the receiver
            for answer in early:
                _assert_busy(answer)
            # Everything that does not wait on a receiver is answered while they are held.
            assert _call(server, "GET", "/_mock/health").status == 200
            assert _call(server, "GET", "/_mock/clock").status == 200
            assert _call(server, "GET", "/v1/lmif/webhooks").status == 200
            assert _call(server, "PUT", "/_mock/faults", {}).status == 200
            assert _POOL.request("GET", server.url + "/dashboard/login", timeout=30).status == 200
            # Another request that may deliver is refused at once, and changes nothing.
            _assert_busy(_answer(_call(server, "POST", "/_mock/clock/advance", {"seconds": 1})))
            _assert_busy(_answer(_call(server, "POST", "/_mock/scenarios/grace-period-expires")))
            events = _call(server, "GET", "/v1/lmif/events?limit=1")
            assert json.loads(events.data)["meta"]["total"] <= MAX_CONCURRENT_DELIVERING
            receiver.back.set()  # the receiver comes back
        accepted = [body for status, body, _ in answers if status == 201]
        statuses = sorted({status for status, _, _ in answers})
        assert statuses == [201, 503], statuses  # never a 500
        assert len(accepted) == MAX_CONCURRENT_DELIVERING
        server.wait_idle(timeout=60) if isinstance(server.clock, RealClock) else None
        # Nothing half-stored: exactly the accepted events, each delivered once, succeeded.
        stored = server.deliveries()
        accepted_ids = {body["data"]["event"]["id"] for body in accepted}  # type: ignore[index]
        assert {d.event_id for d in stored} == accepted_ids
        assert len(stored) == len(accepted_ids)
        assert all(d.status == "succeeded" and len(d.attempts) == 1 for d in stored), stored
        # The slots were all given back: emitting works again.
        assert _call(server, "POST", "/_mock/events", {"type": "box.created"}).status == 201


def _answer(response: urllib3.BaseHTTPResponse) -> tuple[int, dict[str, object], str | None]:
    return response.status, json.loads(response.data), response.headers.get("Retry-After")


def _succeeding(environ: dict[str, object], start_response: Callable[..., object]) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


def test_the_dashboard_forms_that_deliver_share_the_cap() -> None:
    """A test event sent from the dashboard while the share is taken: a 503 page, nothing sent."""
    with LMIFServer(clock=VirtualClock()) as server:
        webhook = server.webhooks.create(_succeeding, events=["*"])
        client = Client(server.api)
        log_in(client, server.api_key)
        match = re.search(r'name=csrf value="([0-9a-f]{64})"', client.get("/dashboard/").text)
        assert match is not None
        csrf = match.group(1)
        share = server.api.receiver_share
        taken = [share.try_take() for _ in range(share.size)]
        assert all(taken)
        try:
            busy = client.post(
                f"/dashboard/webhooks/{webhook.id}/test",
                data={"csrf": csrf, "event_type": "box.created"},
            )
            assert busy.status_code == 503
            assert busy.headers["Retry-After"] == "1"
            assert "already waiting on webhook receivers" in busy.get_data(as_text=True)
            assert server.deliveries() == []
            # Pages that do not deliver are served as usual.
            assert client.get(f"/dashboard/webhooks/{webhook.id}").status_code == 200
        finally:
            for _ in taken:
                share.give_back()
        sent = client.post(
            f"/dashboard/webhooks/{webhook.id}/test",
            data={"csrf": csrf, "event_type": "box.created"},
        )
        assert sent.status_code == 303
        assert len(server.deliveries()) == 1


@pytest.mark.parametrize(
    ("command", "extra"),
    [("trigger", ["box.created"]), ("scenario", ["grace-period-expires"])],
)
def test_cli_commands_say_so_and_ask_again_while_receivers_are_busy(
    command: str, extra: list[str]
) -> None:
    """``trigger`` / ``scenario`` meeting RECEIVERS_BUSY: one line, then asked again after the
    Retry-After; it works once a slot frees (the refusal changed nothing, so asking is safe)."""
    import argparse
    import importlib
    import io

    module = importlib.import_module(f"lmif_mock.commands.{command}")
    with LMIFServer(clock=VirtualClock()) as server:
        server.webhooks.create(_succeeding, events=["*"])
        share = server.api.receiver_share
        taken = [share.try_take() for _ in range(share.size)]
        assert all(taken)
        tries: list[bool] = []
        take = share.try_take

        def counted_take() -> bool:
            tries.append(took := take())
            return took

        share.try_take = counted_take  # type: ignore[method-assign]
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        args = parser.parse_args([*extra, "--server", server.url, "--api-key", server.api_key])
        out, err = io.StringIO(), io.StringIO()
        codes: list[int] = []
        runner = threading.Thread(target=lambda: codes.append(module.run(args, out, err)))
        runner.start()
        try:
            _until(lambda: "asking again" in err.getvalue(), "the busy line on stderr")
            _until(lambda: len(tries) >= 3, "two more tries while every slot is taken")
            assert server.deliveries() == []  # refused before anything was done
        finally:
            for _ in taken:
                share.give_back()
        runner.join(60)
        assert codes == [0], (out.getvalue(), err.getvalue())
        busy_lines = [line for line in err.getvalue().splitlines() if "asking again" in line]
        assert len(busy_lines) == 1, err.getvalue()  # one line however many tries
        assert busy_lines[0].endswith("already waiting on webhook receivers; ask again shortly; "
                                      "asking again every 1 s for up to 30 s")  # fmt: skip
        assert server.deliveries() != []


def test_a_reset_works_while_an_advance_waits_on_a_receiver_that_never_answers() -> None:
    """Control stays available: the reset once waited for the advance, i.e. for the receiver.
    The advance, once its receiver answers, moves the reset clock no further and records
    nothing into the fresh state."""
    calls: list[int] = []
    back = threading.Event()

    def fails_then_hangs(conn: socket.socket) -> None:
        read_request(conn)
        calls.append(1)
        if len(calls) > 1:
            back.wait(300)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK")
        else:
            conn.sendall(b"HTTP/1.1 500 Down\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with raw_server(fails_then_hangs) as url, LMIFServer(clock=VirtualClock()) as server:
        server.webhooks.create(url, events=["*"])
        start = server.clock.now()
        assert _call(server, "POST", "/_mock/events", {"type": "box.created"}).status == 201
        advanced: list[int] = []
        advancing = threading.Thread(
            target=lambda: advanced.append(
                _call(server, "POST", "/_mock/clock/advance", {"minutes": 2}).status
            )
        )
        advancing.start()
        try:
            _until(lambda: len(calls) == 2, "the retry reaching the hanging receiver")
            assert _call(server, "POST", "/_mock/reset").status == 200
            assert server.clock.now() == start
            assert server.deliveries() == []
        finally:
            back.set()
            advancing.join(60)
        assert advanced == [200]
        assert server.clock.now() == start  # the old advance did not move the fresh clock
        assert server.deliveries() == []  # nor record its attempt into the fresh state
        assert _call(server, "POST", "/_mock/events", {"type": "box.created"}).status == 201


def test_the_openapi_document_states_the_503_where_it_can_come() -> None:
    from lmif_mock.http.openapi import document
    from lmif_mock.http.routes import openapi_path

    paths = document("http://127.0.0.1")["paths"]
    for route in ROUTES:
        responses = paths[openapi_path(route.path)][route.method.lower()]["responses"]
        if may_deliver(route):
            busy = responses["503"]
            assert "RECEIVERS_BUSY" in busy["description"], route.endpoint
            assert busy["headers"]["Retry-After"]["required"] is True
        elif route.endpoint not in ("mock_wait", "mock_wait_idle"):
            assert "503" not in responses, route.endpoint
