"""Every transport against real receivers, and every way a receiver can misbehave on the wire."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lmif_mock import verify
from lmif_mock.fake import FakeLMIF
from lmif_mock.retry import RetryPolicy
from lmif_mock.transports import (
    MAX_RESPONSE_BYTES,
    HTTPTransport,
    OutgoingRequest,
    TransportError,
)
from lmif_mock.webhooks import WebhookError
from tests.receivers import Recorder, raw_server, read_request, wsgi_server

FAST = RetryPolicy(delays=[0], timeout=0.5)


def deliver_once(target: Any, path: str = "/") -> tuple[FakeLMIF, Any]:
    fake = FakeLMIF(seed=0, retry_policy=FAST)
    fake.webhooks.create(target, events=["*"], secret="k", path=path)
    event = fake.emit("box.created")
    (delivery,) = fake.deliveries(event_id=event.id)
    return fake, delivery


def test_http_delivery_to_a_real_server() -> None:
    receiver = Recorder([204])
    with wsgi_server(receiver) as base:
        fake, delivery = deliver_once(base + "/webhooks/lmif")
    assert delivery.status == "succeeded"
    assert delivery.attempts[0].status_code == 204
    assert receiver.requests[0].path == "/webhooks/lmif"
    assert verify(receiver.bodies[0], receiver.requests[0].headers["X-LMIF-Signature"], "k")
    assert receiver.requests[0].headers["User-Agent"].startswith("LMIF-Webhooks/")
    fake.close()


def test_redirects_are_failures_and_never_followed() -> None:
    followed = Recorder()

    def redirecting(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ["PATH_INFO"] == "/elsewhere":
            return followed(environ, start_response)  # type: ignore[return-value]
        start_response("302 Found", [("Location", "/elsewhere"), ("Content-Length", "0")])
        return [b""]

    with wsgi_server(redirecting) as base:
        _, delivery = deliver_once(base + "/hook")
    attempt = delivery.attempts[0]
    assert (attempt.status_code, attempt.error) == (302, "redirect")
    assert "/elsewhere" in (attempt.message or "")
    assert followed.bodies == []


def test_a_3xx_without_a_location_is_an_http_error_not_a_redirect() -> None:
    """304 Not Modified (or a 300 with nowhere to go) points nowhere: calling it a redirect to
    '' would send the reader of the attempt looking for one."""

    def not_modified(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        environ["wsgi.input"].read()
        start_response("304 Not Modified", [])
        return [b""]

    fake = FakeLMIF(seed=0)
    fake.webhooks.create(not_modified, events=["*"])
    fake.emit("box.created")
    (attempt,) = fake.deliveries()[0].attempts
    fake.close()
    assert (attempt.status_code, attempt.error, attempt.message) == (304, "http_error", "HTTP 304")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_connection_refused() -> None:
    _, delivery = deliver_once(f"http://127.0.0.1:{free_port()}/hook")
    assert delivery.attempts[0].error == "connection_refused"
    assert delivery.attempts[0].status_code is None


def _reset(conn: socket.socket) -> None:
    read_request(conn)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _garbage(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"this is not http at all\r\n\r\n")


def _close_silently(conn: socket.socket) -> None:
    read_request(conn)


def _never_answer(conn: socket.socket) -> None:
    read_request(conn)
    time.sleep(1.5)


def _answer_late(conn: socket.socket) -> None:
    read_request(conn)
    time.sleep(0.8)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def _dribble(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        conn.sendall(b"x")
        time.sleep(0.02)


def _short_body(conn: socket.socket) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    conn.close()


@pytest.mark.parametrize(
    ("behaviour", "kind"),
    [
        (_reset, "connection_reset"),
        (_short_body, "invalid_response"),
        (_garbage, "invalid_response"),
        (_close_silently, "connection_reset"),
        (_never_answer, "timeout"),
        (_answer_late, "timeout"),
        (_dribble, "timeout"),
    ],
)
def test_hostile_receivers_are_recorded_failures(
    behaviour: Callable[[socket.socket], None], kind: str
) -> None:
    with raw_server(behaviour) as url:
        started = time.monotonic()
        fake, delivery = deliver_once(url)
        elapsed = time.monotonic() - started
    assert delivery.status == "failed"
    assert delivery.attempts[0].error == kind, delivery.attempts[0].message
    assert elapsed < 5  # the timeout bounds the wait; nothing hangs
    # the dispatcher lives on: the next delivery works
    receiver = Recorder()
    fake.webhooks.create(receiver, events=["*"])
    fake.emit("box.deleted")
    assert len(receiver.bodies) == 1


def _huge_answer(status: bytes) -> Callable[[socket.socket], None]:
    size = 10 * 1024 * 1024

    def huge(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 %s\r\nContent-Length: %d\r\n\r\n" % (status, size))
        chunk = b"y" * 65536
        try:
            for _ in range(size // len(chunk)):
                conn.sendall(chunk)
        except OSError:
            pass  # the fake hung up early, as it should

    return huge


def test_nothing_is_retried_behind_the_dispatchers_back() -> None:
    connections: list[bytes] = []

    def hang_up(conn: socket.socket) -> None:
        connections.append(read_request(conn))  # and close without a word

    with raw_server(hang_up) as url:
        _, delivery = deliver_once(url)
    assert [a.error for a in delivery.attempts] == ["connection_reset"]
    assert len(connections) == 1


def test_a_2xx_with_a_huge_body_succeeds_and_keeps_an_excerpt() -> None:
    with raw_server(_huge_answer(b"200 OK")) as url:
        _, delivery = deliver_once(url)
    attempt = delivery.attempts[0]
    assert delivery.status == "succeeded"
    assert (attempt.status_code, attempt.error) == (200, None)
    assert attempt.response_excerpt == "y" * 1024
    assert attempt.duration < 5  # cut off at the cap, not read to the end


def test_a_non_2xx_with_a_huge_body_is_still_an_http_error() -> None:
    with raw_server(_huge_answer(b"500 Internal Server Error")) as url:
        _, delivery = deliver_once(url)
    assert (delivery.attempts[0].status_code, delivery.attempts[0].error) == (500, "http_error")


def test_the_answer_is_read_to_64_kib_as_the_readme_says() -> None:
    assert MAX_RESPONSE_BYTES == 64 * 1024
    with raw_server(_huge_answer(b"200 OK")) as url:
        transport = HTTPTransport()
        response = transport.send(OutgoingRequest(url, b"{}", {}), 10)
        transport.close()
    assert (response.status, response.truncated) == (200, True)
    assert response.body == b"y" * (64 * 1024)


def test_an_answer_at_the_cap_is_whole() -> None:
    body = b"z" * MAX_RESPONSE_BYTES

    def exact(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    with raw_server(exact) as url:
        transport = HTTPTransport()
        response = transport.send(OutgoingRequest(url, b"{}", {}), 10)
        transport.close()
    assert (response.body, response.truncated) == (body, False)


def test_wsgi_answers_over_the_cap_succeed_too() -> None:
    def chatty(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [])
        return [b"w" * 65536] * 40

    _, delivery = deliver_once(chatty)
    assert delivery.status == "succeeded"
    assert delivery.attempts[0].response_excerpt == "w" * 1024


def test_keep_alive_connections_are_reused() -> None:
    connections: list[int] = []

    def keep_alive(conn: socket.socket) -> None:
        connections.append(1)
        while read_request(conn):
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
            )

    with raw_server(keep_alive) as url:
        fake = FakeLMIF(seed=0, retry_policy=FAST)
        fake.webhooks.create(url, events=["*"])
        for _ in range(10):
            fake.emit("box.created")
        assert all(d.status == "succeeded" for d in fake.deliveries())
        fake.close()
    assert len(connections) == 1


def test_non_loopback_hosts_are_refused_before_any_traffic() -> None:
    fake = FakeLMIF()
    for url in (
        "http://example.invalid/hook",
        "http://10.1.2.3/hook",
        "ftp://127.0.0.1/x",
        "not a url",
    ):
        with pytest.raises(WebhookError):
            fake.webhooks.create(url, events=["*"])
    transport = HTTPTransport()
    with pytest.raises(TransportError) as caught:
        transport.send(OutgoingRequest("http://example.invalid/x", b"{}", {}), 1.0)
    assert caught.value.kind == "blocked_host"


def test_allowed_hosts_extend_the_default() -> None:
    fake = FakeLMIF(allowed_hosts=["*.example.test", "hooks.internal"])
    assert (
        fake.webhooks.create("https://a.example.test/x", events=["*"]).url
        == "https://a.example.test/x"
    )
    fake.webhooks.create("http://hooks.internal/x", events=["*"])
    with pytest.raises(WebhookError):
        fake.webhooks.create("http://evil.test/x", events=["*"])


def flask_app(gate: threading.Event | None = None) -> Flask:
    app = Flask("receiver")
    app.config["seen"] = []

    @app.post("/webhooks/lmif")
    def hook() -> tuple[str, int]:
        if gate is not None:
            gate.wait(5)
        app.config["seen"].append((request.get_data(), request.headers.get("X-LMIF-Signature")))
        return "OK", 200

    return app


def test_wsgi_in_process_flask() -> None:
    app = flask_app()
    _, delivery = deliver_once(app, path="/webhooks/lmif")
    assert delivery.status == "succeeded"
    body, signature = app.config["seen"][0]
    assert verify(body, signature, "k")
    assert delivery.body == body


def test_wsgi_wrong_path_is_a_404_failure() -> None:
    _, delivery = deliver_once(flask_app(), path="/nope")
    assert (delivery.attempts[0].status_code, delivery.attempts[0].error) == (404, "http_error")


def test_wsgi_timeout_is_enforced_in_process() -> None:
    gate = threading.Event()
    started = time.monotonic()
    _, delivery = deliver_once(flask_app(gate), path="/webhooks/lmif")
    gate.set()
    assert delivery.attempts[0].error == "timeout"
    assert time.monotonic() - started < 3


def test_wsgi_exception_is_a_500_not_a_crash() -> None:
    def broken(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raise RuntimeError("receiver bug")

    _, delivery = deliver_once(broken)
    attempt = delivery.attempts[0]
    assert (attempt.status_code, attempt.error) == (500, "http_error")
    assert "receiver bug" in attempt.response_excerpt


def starlette_app(delay: float = 0.0, fail: bool = False) -> Starlette:
    seen: list[tuple[bytes, str | None]] = []

    async def hook(request: Request) -> PlainTextResponse:
        import asyncio

        if delay:
            await asyncio.sleep(delay)
        if fail:
            raise RuntimeError("async receiver bug")
        seen.append((await request.body(), request.headers.get("x-lmif-signature")))
        return PlainTextResponse("OK", status_code=202)

    app = Starlette(routes=[Route("/webhooks/lmif", hook, methods=["POST"])])
    app.state.seen = seen
    return app


def test_asgi_in_process_starlette() -> None:
    app = starlette_app()
    _, delivery = deliver_once(app, path="/webhooks/lmif")
    assert delivery.webhook_id
    assert delivery.status == "succeeded"
    assert delivery.attempts[0].status_code == 202
    body, signature = app.state.seen[0]
    assert verify(body, signature, "k")


def test_asgi_timeout_and_exception() -> None:
    _, slow = deliver_once(starlette_app(delay=2), path="/webhooks/lmif")
    assert slow.attempts[0].error == "timeout"
    _, broken = deliver_once(starlette_app(fail=True), path="/webhooks/lmif")
    assert (broken.attempts[0].status_code, broken.attempts[0].error) == (500, "http_error")


def test_in_process_webhook_urls_name_the_app() -> None:
    fake = FakeLMIF()
    assert fake.webhooks.create(flask_app(), events=["*"], path="/w").url == "wsgi://Flask/w"
    assert fake.webhooks.create(starlette_app(), events=["*"]).url == "asgi://Starlette/"


def test_wsgi_inline_mode_is_judged_the_same_without_a_thread() -> None:
    seen_threads: list[str] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        seen_threads.append(threading.current_thread().name)
        time.sleep(0.3)
        start_response("200 OK", [])
        return [b"late"]

    fake = FakeLMIF(
        retry_policy=RetryPolicy(delays=[0], timeout=0.1), enforce_inprocess_timeout=False
    )
    fake.webhooks.create(app, ["*"])
    fake.emit("box.created")
    attempt = fake.deliveries()[0].attempts[0]
    assert seen_threads == [threading.current_thread().name]  # ran on the caller's thread
    assert (attempt.status_code, attempt.error) == (200, "timeout")  # 2xx, but too late


# -- one deadline for the whole exchange -------------------------------------------------------

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\nX-Padding: " + b"p" * 60 + b"\r\n\r\n"


def _dribbler(head: bytes, rest: bytes = b"") -> Callable[[socket.socket], None]:
    """Sends ``head`` at once, then ``rest`` a byte every 0.1 s: 20 s for 200 bytes."""

    def dribble(conn: socket.socket) -> None:
        read_request(conn)
        conn.sendall(head)
        for byte in rest:
            conn.sendall(bytes([byte]))
            time.sleep(0.1)

    return dribble


@pytest.mark.parametrize(
    "behaviour",
    [
        _dribbler(b"", _ANSWER),  # the status line itself, a byte at a time
        _dribbler(_ANSWER[:17], _ANSWER[17:] + b"x" * 40),  # headers
        _dribbler(_ANSWER, b"x" * 200),  # the body (more than it promised, never mind)
    ],
    ids=["status-line", "headers", "body"],
)
def test_a_dribbling_receiver_times_out_at_the_deadline(
    behaviour: Callable[[socket.socket], None],
) -> None:
    with raw_server(behaviour) as url:
        fake = FakeLMIF(seed=0, retry_policy=RetryPolicy(delays=[0], timeout=1))
        fake.webhooks.create(url, events=["*"])
        fake.emit("box.created")
        (delivery,) = fake.deliveries()
        fake.close()
    (attempt,) = delivery.attempts
    assert attempt.error == "timeout", attempt.message
    # It would have dribbled for 20 s; the 1 s deadline covers it all (bound kept generous).
    assert attempt.duration < 5


def test_a_slow_send_counts_against_the_deadline_too() -> None:
    """A receiver that never reads: the request body cannot be sent, and that is a timeout."""
    hold = threading.Event()

    def never_read(conn: socket.socket) -> None:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        hold.wait(30)

    with raw_server(never_read) as url:
        transport = HTTPTransport()
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            transport.send(OutgoingRequest(url, b"x" * (16 * 1024 * 1024), {}), 1)
        elapsed = time.monotonic() - started
        hold.set()
        transport.close()
    assert caught.value.kind == "timeout"
    assert elapsed < 5


# -- one webhook's slow receivers never hold up another's deliveries ---------------------------


def test_slow_receivers_on_one_webhook_leave_workers_for_the_others() -> None:
    from lmif_mock.clock import RealClock

    release = threading.Event()
    held: list[int] = []

    def hang(conn: socket.socket) -> None:
        read_request(conn)
        held.append(1)
        conn.sendall(b"HTTP/1.1 200 OK\r\n")  # then nothing more until the test is over
        release.wait(60)

    healthy = Recorder()
    with raw_server(hang) as slow_url, wsgi_server(healthy) as base:
        fake = FakeLMIF(clock=RealClock(), seed=0, retry_policy=RetryPolicy(delays=[0], timeout=60))
        try:
            fake.webhooks.create(slow_url, events=["box.created"])
            fake.webhooks.create(base + "/hook", events=["box.deleted"])
            for _ in range(10):
                fake.emit("box.created")
            deadline = time.monotonic() + 20
            while len(held) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(held) == 2, "the slow webhook did not get its quarter of the 8 workers"
            fake.emit("box.deleted")
            deadline = time.monotonic() + 20
            while not healthy.bodies and time.monotonic() < deadline:
                time.sleep(0.01)
            slow = [d for d in fake.deliveries() if d.event_type == "box.created"]
            assert healthy.bodies, "the healthy webhook got nothing while the slow one hung"
            # ...and that while every slow delivery was still waiting on its receiver, of which
            # never more than a quarter of the pool at once
            assert all(not d.attempts for d in slow)
            assert len(held) == 2
        finally:
            release.set()
            fake.close()


# -- an ASGI app that blocks its loop only blocks itself ---------------------------------------


def test_an_asgi_app_blocking_its_loop_does_not_time_out_other_apps() -> None:
    unblock = threading.Event()

    async def blocker(scope: dict[str, Any], receive: Any, send: Any) -> None:
        unblock.wait(30)  # a synchronous wait: the whole event loop stops here
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"late"})

    app = starlette_app()
    fake = FakeLMIF(seed=0, retry_policy=RetryPolicy(delays=[0], timeout=1))
    try:
        fake.webhooks.create(blocker, events=["*"])
        fake.webhooks.create(app, events=["*"], path="/webhooks/lmif")
        fake.emit("box.created")
        by_webhook = {d.webhook_id: d for d in fake.deliveries()}
        blocked, fine = (by_webhook[w.id] for w in fake.webhooks.list())
        assert blocked.attempts[0].error == "timeout"
        assert fine.status == "succeeded", fine.attempts[0].message
        # The blocked app's next delivery gets a fresh loop instead of queueing on the stuck one.
        second = fake.emit("box.deleted")
        assert [d.status for d in fake.deliveries(event_id=second.id)] == ["failed", "succeeded"]
    finally:
        unblock.set()
        fake.close()


def test_the_asgi_timeout_is_the_one_future_result_raises() -> None:
    """``Future.result(timeout)`` raises ``concurrent.futures.TimeoutError``, which is not the
    built-in ``TimeoutError`` before Python 3.11; the transport must catch that one."""
    import asyncio
    import concurrent.futures

    from lmif_mock.transports import ASGITransport

    async def never(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(30)

    class Futures310Timeout(Exception):  # what concurrent.futures.TimeoutError is on 3.10
        pass

    original = concurrent.futures.Future.result

    def result_as_on_310(self: Any, timeout: float | None = None) -> Any:
        try:
            return original(self, timeout)
        except TimeoutError:
            raise Futures310Timeout() from None

    transport = ASGITransport(never)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(concurrent.futures, "TimeoutError", Futures310Timeout)
        patch.setattr(concurrent.futures.Future, "result", result_as_on_310)
        with pytest.raises(TransportError) as caught:
            transport.send(OutgoingRequest("/", b"{}", {}), 0.2)
    transport.close()
    assert caught.value.kind == "timeout"


# -- HTTPS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1 (made with the openssl CLI)."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", key, "-out", cert, "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def _tls_server(
    certificate: tuple[str, str], behaviour: Callable[[socket.socket], None]
) -> Callable[[socket.socket], None]:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)

    def serve(conn: socket.socket) -> None:
        with context.wrap_socket(conn, server_side=True) as secure:
            behaviour(secure)

    return serve


def _trusting(certificate: tuple[str, str]) -> Any:
    import ssl

    return ssl.create_default_context(cafile=certificate[0])


def _ok(conn: socket.socket) -> None:
    while read_request(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def test_https_delivery_checks_the_certificate(certificate: tuple[str, str]) -> None:
    with raw_server(_tls_server(certificate, _ok)) as url:
        https = url.replace("http://", "https://")
        trusting = HTTPTransport(tls=_trusting(certificate))
        answers = [trusting.send(OutgoingRequest(https, b"{}", {}), 5) for _ in range(3)]
        assert [(a.status, a.body) for a in answers] == [(200, b"ok")] * 3
        by_name = https.replace("127.0.0.1", "localhost")
        assert trusting.send(OutgoingRequest(by_name, b"{}", {}), 5).status == 200
        trusting.close()
        default = HTTPTransport()  # the system's CAs do not know this certificate
        with pytest.raises(TransportError) as caught:
            default.send(OutgoingRequest(https, b"{}", {}), 5)
        default.close()
    assert caught.value.kind == "connection_error"
    assert "TLS" in caught.value.message


def test_a_stalled_tls_handshake_is_a_timeout(certificate: tuple[str, str]) -> None:
    release = threading.Event()

    def silent(conn: socket.socket) -> None:
        release.wait(30)  # accepts the connection, never answers the ClientHello

    with raw_server(silent) as url:
        transport = HTTPTransport(tls=_trusting(certificate))
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            transport.send(OutgoingRequest(url.replace("http://", "https://"), b"{}", {}), 1)
        elapsed = time.monotonic() - started
        release.set()
    assert caught.value.kind == "timeout"
    assert elapsed < 5


def test_a_slow_name_lookup_counts_against_the_deadline() -> None:
    release = threading.Event()

    def slow_dns(host: str, port: int) -> list[Any]:
        release.wait(30)
        return []

    transport = HTTPTransport(resolver=slow_dns)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        transport.send(OutgoingRequest("http://localhost:9/", b"{}", {}), 1)
    elapsed = time.monotonic() - started
    release.set()
    assert caught.value.kind == "timeout"
    assert elapsed < 5


def test_the_connection_idle_longest_makes_room_for_a_new_one() -> None:
    opened: dict[int, int] = {}

    def counting(index: int) -> Callable[[socket.socket], None]:
        def keep_alive(conn: socket.socket) -> None:
            opened[index] = opened.get(index, 0) + 1
            while read_request(conn):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

        return keep_alive

    with (
        raw_server(counting(0)) as first,
        raw_server(counting(1)) as second,
        raw_server(counting(2)) as third,
    ):
        transport = HTTPTransport(max_idle=2)
        for url in (first, second, third, third, second, first):
            assert transport.send(OutgoingRequest(url, b"{}", {}), 5).status == 200
        transport.close()
    # third made room by evicting first (idle longest); second and third were reused
    assert opened == {0: 2, 1: 1, 2: 1}
