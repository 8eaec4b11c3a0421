"""LMIFServer: the contract's façade, quick to start and stop, quiet, safe defaults; and the
bounded HTTP server under it (slow clients cost no threads, its own refusals are JSON)."""

from __future__ import annotations

import io
import json
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request

from lmif_mock import LMIFServer, RetryPolicy, VirtualClock, sign, verify
from lmif_mock.http.serving.arrived_request import ArrivedRequest
from lmif_mock.http.serving.bounded_server import (
    MAX_CONNECTIONS,
    REQUEST_TIMEOUT_SECONDS,
    WORKERS,
    WRITE_TIMEOUT_SECONDS,
    BoundedWSGIServer,
)
from lmif_mock.http.serving.request_framing import MAX_HEAD_BYTES
from lmif_mock.http.serving.unsent_answers import UNSENT_BUDGET_BYTES
from lmif_mock.server import ServerError
from tests.api_client import Client
from tests.raw_http import (
    address,
    allow_open_files,
    assert_error_shape,
    connect,
    exchange,
    read_answer,
)
from tests.receivers import Recorder


def test_contract_example_works_as_written() -> None:
    received = Recorder()
    with LMIFServer(clock=VirtualClock(), seed=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.api_key.startswith("lmif_test_")
        wh = server.webhooks.create(url=received, events=["box.created"], secret=None)
        assert wh.id.startswith("wh_")
        assert wh.secret
        assert wh.events == ("box.created",)
        ev = server.emit("box.created", data={"identityName": "Ada"})
        assert (ev.type, ev.data["identityName"]) == ("box.created", "Ada")
        assert ev.body == received.bodies[0]
        assert verify(ev.body, sign(ev.body, wh.secret), wh.secret)
        (delivery,) = server.deliveries(event_id=ev.id)
        assert delivery.status == "succeeded"
        attempt = delivery.attempts[0]
        assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, None)
        assert attempt.at == server.clock.now()
        assert attempt.duration >= 0
        assert server.webhooks.list() == [wh]
        assert server.webhooks.get(wh.id) == wh
        server.webhooks.update(wh.id, events=["box.deleted"])
        server.webhooks.rotate_secret(wh.id)
        server.webhooks.delete(wh.id)
        server.reset()
        assert server.deliveries() == []


def test_http_and_python_see_the_same_state() -> None:
    with LMIFServer() as server:
        client = Client(server.url, server.api_key)
        created = client.post("/v1/lmif/webhooks", {"url": "http://127.0.0.1:1/x", "events": ["*"]})
        assert server.webhooks.get(created.data["id"]).url == "http://127.0.0.1:1/x"
        event = server.emit("box.created")
        assert client.get(f"/v1/lmif/events/{event.id}").data["event"]["id"] == event.id


def _port_outside_the_ephemeral_range() -> int:
    """A free port below the kernel's ephemeral range: one that port 0 hands out could be taken
    by any other test's outgoing connection in the instant between a stop and the next start
    (seen as "Address already in use" on a busy machine), a port below the range cannot."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.Random().sample(range(max(1024, low - 8000), low), 200):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


def test_stop_frees_the_port_and_start_again_works() -> None:
    # How fast this is belongs to the benchmarks (bench_delivery), not to an assertion here.
    port = _port_outside_the_ephemeral_range()
    for _ in range(3):
        server = LMIFServer(port=port).start()  # the same port as the server just stopped
        assert server.port == port
        assert Client(server.url, server.api_key).get("/_mock/health").status == 200
        server.stop()
        assert not server.running
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as every server does
        probe.bind(("127.0.0.1", port))
        probe.listen()  # nothing listens there any more


def test_url_before_start_and_port_in_use() -> None:
    server = LMIFServer()
    with pytest.raises(ServerError, match="not running"):
        _ = server.url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(ServerError, match="cannot listen"):
            LMIFServer(port=taken.getsockname()[1]).start()


def test_live_environment_keys_and_bad_environment() -> None:
    with LMIFServer(environment="live") as live:
        assert live.api_key.startswith("lmif_live_")
        answer = Client(live.url, "lmif_test_x").get("/v1/lmif/webhooks")
        assert answer.code == "WRONG_ENVIRONMENT"
    with pytest.raises(ServerError):
        LMIFServer(environment="staging")


def test_quiet_by_default() -> None:
    code = (
        "from lmif_mock import LMIFServer\n"
        "import urllib3\n"
        "with LMIFServer() as s:\n"
        "    for path in ('/_mock/health', '/nope', '/v1/lmif/webhooks'):\n"
        "        urllib3.request('GET', s.url + path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert out.stderr == ""


def test_retry_policy_and_reset_keep_the_thread_and_port() -> None:
    with LMIFServer(retry_policy=RetryPolicy(delays=[0, 5])) as server:
        port = server.port
        server.retry_policy = RetryPolicy.no_retries()
        server.reset()
        assert server.retry_policy == RetryPolicy(delays=[0, 5])
        assert server.port == port
        assert Client(server.url, server.api_key).get("/_mock/health").status == 200


# -- the bounded server (issue 12, "The fake's own server") ----------------------------------

HALF_SENT = b"GET /v1/lmif/webhooks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Never-Finished: "


@contextmanager
def bounded(app: Any, **options: Any) -> Iterator[tuple[BoundedWSGIServer, str]]:
    server = BoundedWSGIServer("127.0.0.1", 0, app, max_body_bytes=1000, **options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def body_length_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers 200 with the number of body bytes it read."""
    answer = str(len(Request(environ).get_data())).encode()
    start_response("200 OK", [("Content-Length", str(len(answer)))])
    return [answer]


def test_slowloris_holds_no_threads_and_the_api_still_answers() -> None:
    allow_open_files(4000)
    slow: list[socket.socket] = []
    with LMIFServer() as server:
        assert server._server is not None
        before = threading.active_count()
        try:
            for _ in range(1500):
                sock = connect(server.url)
                sock.sendall(HALF_SENT)
                slow.append(sock)
            answer = Client(server.url, server.api_key).get("/v1/lmif/webhooks")
            assert (answer.status, answer.body["data"]) == (200, [])
            # Werkzeug's threaded server had started a thread per connection here (1,500).
            assert threading.active_count() <= before + 1  # the one worker that answered
            assert server._server.open_connections <= MAX_CONNECTIONS
            # The oldest half-sent requests were closed to make room, with the JSON error shape.
            assert_error_shape(read_answer(slow[0]), 503, "TOO_MANY_CONNECTIONS")
        finally:
            for sock in slow:
                sock.close()


def test_a_head_over_64_kib_is_a_json_431() -> None:
    with LMIFServer() as server:
        one_big = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"
        error = assert_error_shape(exchange(server.url, one_big), 431, "HEADERS_TOO_LARGE")
        assert error["details"]["limit"] == MAX_HEAD_BYTES
        many = (
            b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n"
            + b"X-Many: aaaaaaaaaa\r\n" * 4000
            + b"\r\n"
        )
        assert_error_shape(exchange(server.url, many), 431, "HEADERS_TOO_LARGE")
        # Just under the limit is still a normal request.
        fits = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 60_000 + b"\r\n\r\n"
        assert exchange(server.url, fits).json() == {"status": "ok"}


def test_refusals_of_the_server_itself_are_the_api_error_shape() -> None:
    with LMIFServer() as server:
        long_line = b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"
        assert_error_shape(exchange(server.url, long_line), 414, "URI_TOO_LONG")
        garbage = b"THIS IS NOT HTTP\r\n\r\n"
        assert_error_shape(exchange(server.url, garbage), 400, "BAD_REQUEST")
        bad_version = b"GET /_mock/health HTTP/1.x\r\n\r\n"
        assert_error_shape(exchange(server.url, bad_version), 400, "BAD_REQUEST")
        http2 = b"GET /_mock/health HTTP/2.0\r\n\r\n"
        assert_error_shape(exchange(server.url, http2), 505, "HTTP_VERSION_NOT_SUPPORTED")
        too_many = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"
        assert_error_shape(exchange(server.url, too_many), 431, "HEADERS_TOO_LARGE")


def test_a_request_that_never_finishes_gets_a_json_408_and_no_worker() -> None:
    with bounded(body_length_app, request_timeout=0.5) as (server, url), connect(url) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
        error = assert_error_shape(read_answer(sock), 408, "REQUEST_TIMEOUT")
        assert error["details"] == {"limitSeconds": 0.5}
        assert server.worker_threads == 0


def test_bodies_arriving_slowly_hold_no_worker() -> None:
    with bounded(body_length_app, workers=1) as (server, url):
        slow = [connect(url) for _ in range(20)]
        try:
            for sock in slow:
                sock.sendall(
                    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
                )
            wait_until(lambda: server.arriving_requests == 20)
            prompt = exchange(url, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
            assert (prompt.status, prompt.body) == (200, b"3")
            assert server.arriving_requests == 20  # still with the loop, not with the worker
            slow[0].sendall(b"y" * 90)  # one of them finishes: it is answered in full
            assert read_answer(slow[0]).body == b"100"
            assert server.worker_threads == 1
        finally:
            for sock in slow:
                sock.close()


def test_connections_beyond_the_cap_get_a_json_503() -> None:
    release = threading.Event()

    def held(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        release.wait(30)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    with bounded(held, max_connections=2, workers=1) as (server, url):
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        first, second = connect(url), connect(url)
        try:
            first.sendall(request)  # being answered
            second.sendall(request)  # queued for the one worker
            wait_until(lambda: server.open_connections == 2 and server.worker_threads == 1)
            error = assert_error_shape(exchange(url, request), 503, "TOO_MANY_CONNECTIONS")
            assert error["details"] == {"limit": 2}
            release.set()
            assert read_answer(first).body == read_answer(second).body == b"done"
        finally:
            release.set()
            first.close()
            second.close()


def test_expect_continue_and_chunked_bodies() -> None:
    with LMIFServer() as server:
        body = json.dumps({"type": "box.created"}).encode()
        head = (
            f"POST /_mock/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Expect: 100-continue\r\n\r\n"
        ).encode()
        with connect(server.url) as sock:
            sock.sendall(head)
            assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
            sock.sendall(body)
            sock.settimeout(30)
            rest = b""
            while chunk := sock.recv(65536):
                rest += chunk
        assert rest.startswith(b"HTTP/1.1 201 "), rest[:200]  # and no second 100 Continue
        chunked = head.replace(
            f"Content-Length: {len(body)}\r\nExpect: 100-continue".encode(),
            b"Transfer-Encoding: chunked",
        )
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:]))
        answer = exchange(server.url, chunked + chunks + b"0\r\n\r\n")
        assert answer.status == 201
        assert len(server.events()) == 2


def wait_until(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_documented_limits_are_the_defaults() -> None:
    """The numbers README's Security section states."""
    assert (MAX_CONNECTIONS, WORKERS, REQUEST_TIMEOUT_SECONDS) == (256, 32, 10.0)
    assert (WRITE_TIMEOUT_SECONDS, UNSENT_BUDGET_BYTES) == (10.0, 256 * 1024 * 1024)
    assert MAX_HEAD_BYTES == 64 * 1024
    with LMIFServer() as server:
        assert server._server is not None
        assert server._server.max_connections == MAX_CONNECTIONS
        assert server._server.workers == WORKERS
        assert server._server.request_timeout == REQUEST_TIMEOUT_SECONDS
        assert server._server.write_timeout == WRITE_TIMEOUT_SECONDS
        assert server._server.unsent_budget.limit == UNSENT_BUDGET_BYTES
        assert server._server.max_body_bytes == server.api.max_body_bytes == 1024 * 1024


def test_workers_are_capped() -> None:
    release = threading.Event()

    def held(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        release.wait(30)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with bounded(held) as (server, url):
        waiting = [connect(url) for _ in range(WORKERS + 8)]
        try:
            for sock in waiting:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: server.open_connections == len(waiting))
            wait_until(lambda: server.worker_threads == WORKERS)
            release.set()
            assert {read_answer(sock).body for sock in waiting} == {b"ok"}
            assert server.worker_threads == WORKERS
        finally:
            release.set()
            for sock in waiting:
                sock.close()


def chunked_post(server: LMIFServer, path: str, body: bytes, chunk: int = 64 * 1024) -> bytes:
    """A raw HTTP/1.1 POST of ``body`` as JSON with ``Transfer-Encoding: chunked``."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {server.api_key}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    parts = [body[at : at + chunk] for at in range(0, len(body), chunk)]
    return head + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


def test_a_chunked_body_over_the_cap_is_a_json_413_never_a_prefix() -> None:
    limit = 1024 * 1024
    with LMIFServer() as server:
        padded = b'{"type":"box.created"}' + b" " * (3 * limit)
        error = assert_error_shape(
            exchange(server.url, chunked_post(server, "/_mock/events", padded)),
            413,
            "PAYLOAD_TOO_LARGE",
        )
        assert error["details"] == {"limit": limit}
        long_string = json.dumps({"type": "box.created", "data": {"x": "y" * (2 * limit)}})
        answer = exchange(server.url, chunked_post(server, "/_mock/events", long_string.encode()))
        assert_error_shape(answer, 413, "PAYLOAD_TOO_LARGE")
        assert server.events() == []  # nothing was acted on
        fits = b'{"type":"box.created"}'
        fits += b" " * (limit - len(fits))  # exactly at the cap: accepted
        assert exchange(server.url, chunked_post(server, "/_mock/events", fits)).status == 201
        assert len(server.events()) == 1


def test_the_api_refuses_an_unsized_body_over_the_cap_whichever_server_feeds_it() -> None:
    """A chunked body the loop could not hold reaches the API as a stream with no length: the
    API must still refuse it whole (413) rather than act on its first ``max_body_bytes``."""
    fake = LMIFServer(max_body_bytes=100)
    try:

        def post(body: bytes) -> tuple[str, dict[str, Any]]:
            builder = EnvironBuilder(
                path="/_mock/events",
                method="POST",
                headers=[("Authorization", f"Bearer {fake.api_key}")],
                content_type="application/json",
                input_stream=io.BytesIO(body),
            )
            environ = builder.get_environ()
            del environ["CONTENT_LENGTH"]
            environ["wsgi.input_terminated"] = True  # as werkzeug's server sets for chunked
            answer, status, _ = run_wsgi_app(fake.api, environ)
            return status, json.loads(b"".join(answer))

        status, body = post(b'{"type":"box.created"}' + b" " * 500)
        assert (status, body["error"]["code"]) == (
            "413 REQUEST ENTITY TOO LARGE",
            "PAYLOAD_TOO_LARGE",
        )
        exact = b'{"type":"box.created"}'
        status, _ = post(exact + b" " * (100 - len(exact)))
        assert status.startswith("201")
        assert len(fake.events()) == 1
    finally:
        fake.close()


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /_mock/health\r\n\r\n", id="http-0.9"),
        pytest.param(b"GET /_mock/health\r\n", id="http-0.9-no-blank-line"),
        pytest.param(
            b"POST /_mock/events HTTP/1.1\r\nHost: x\r\nContent-Length: 22\r\nContent-Length: 5\r\n\r\n",
            id="conflicting-lengths",
        ),
        pytest.param(
            b"POST /_mock/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            id="duplicate-length",
        ),
        pytest.param(
            b"POST /_mock/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", id="negative"
        ),
        pytest.param(
            b"POST /_mock/events HTTP/1.1\r\nHost: x\r\nContent-Length: +22\r\n\r\n", id="signed"
        ),
        pytest.param(
            b"POST /_mock/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Length: 22\r\n\r\n0\r\n\r\n",
            id="chunked-and-length",
        ),
    ],
)
def test_ambiguous_framing_is_a_json_400_and_the_connection_closes(request_bytes: bytes) -> None:
    with LMIFServer() as server:
        key = f"Authorization: Bearer {server.api_key}\r\n".encode()
        with connect(server.url) as sock:
            sock.sendall(request_bytes.replace(b"HTTP/1.1\r\n", b"HTTP/1.1\r\n" + key, 1))
            answer = read_answer(sock)  # reads until the server closes the connection
        error = assert_error_shape(answer, 400, "BAD_REQUEST")
        assert error["details"]["reason"]
        assert answer.headers["connection"] == "close"
        assert server.events() == []


def test_an_http_0_9_request_line_reaching_the_handler_still_gets_a_status_line() -> None:
    """Defence in depth: if the loop's check were bypassed, werkzeug's handler would answer a
    bare body with no status line; the handler refuses it in the JSON shape instead."""
    with bounded(body_length_app) as (server, _url):
        handler_class = server.RequestHandlerClass
        reader, writer = socket.socketpair()
        try:
            arrived = ArrivedRequest(
                writer, ("127.0.0.1", 1), b"GET /\r\n\r\n", time.monotonic() + 30
            )
            handler_class(arrived, arrived.address, server)
            writer.shutdown(socket.SHUT_WR)
            answer = read_answer(reader)
        finally:
            reader.close()
            writer.close()
    assert_error_shape(answer, 400, "BAD_REQUEST")


BIG_ANSWER = bytes(range(256)) * (6 * 1024 * 1024 // 256)  # 6 MiB, shared by every answer


def big_or_health_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """``/big`` answers 6 MiB (like a long transcript); anything else a small health answer."""
    body = BIG_ANSWER if environ["PATH_INFO"] == "/big" else b'{"status":"ok"}'
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


def non_reader(url: str) -> socket.socket:
    """A client that asks for the big answer with a tiny receive buffer, and never reads."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(address(url))
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock


def test_clients_that_never_read_their_answers_hold_no_worker() -> None:
    # with a minute to write each answer, a server whose workers wait on these clients would
    # not answer anyone else for minutes: the health check's 10 s bound would fail at once
    with bounded(big_or_health_app, workers=4, write_timeout=60) as (server, url):
        attackers = []
        try:
            for _ in range(40):
                attackers.append(non_reader(url))
            wait_until(lambda: server.unsent_answers >= 40)
            health = exchange(url, b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)
            assert (health.status, health.body) == (200, b'{"status":"ok"}')
            assert server.open_connections >= 40  # the attack still holds its connections
            assert server.worker_threads <= 4
        finally:
            for sock in attackers:
                sock.close()


def test_a_slow_reader_still_gets_the_whole_answer_from_the_loop() -> None:
    with bounded(big_or_health_app, workers=1) as (server, url):
        with non_reader(url) as sock:
            wait_until(lambda: server.unsent_answers == 1)  # the worker has moved on
            assert read_answer(sock).body == BIG_ANSWER
        wait_until(lambda: server.unsent_budget.held == 0)


def test_a_client_that_stops_reading_is_dropped_after_the_write_timeout() -> None:
    with bounded(big_or_health_app, workers=1, write_timeout=0.5) as (server, url):
        with non_reader(url):
            wait_until(lambda: server.unsent_answers == 1)
            wait_until(lambda: server.open_connections == 0)
        assert server.unsent_budget.held == 0


def test_past_the_unsent_budget_workers_write_the_rest_themselves() -> None:
    """Memory for unread answers is capped: past it, the answer is written as before."""
    with bounded(big_or_health_app, workers=1, unsent_budget=1024) as (server, url):
        with non_reader(url) as sock:
            assert read_answer(sock).body == BIG_ANSWER
        assert server.unsent_answers == 0
        assert server.unsent_budget.held == 0
