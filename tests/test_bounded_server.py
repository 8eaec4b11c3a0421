"""Defects found in the bounded server while splitting it (issue 14), each pinned by a test.

The server's documented behaviour is tested in ``test_server.py``; these are the paths a reviewer
found where an answer was lost or replaced, a worker was held or lost, the loop spun, or a
failed start left the port listening.
"""

from __future__ import annotations

import errno
import selectors
import socket
import threading
from typing import Any

import pytest

from lmif_mock.http.serving.bounded_server import BoundedWSGIServer
from lmif_mock.http.serving.lingering_close import LingeringClose
from lmif_mock.http.serving.loop_sockets import LoopSockets
from lmif_mock.http.serving.request_intake import IntakeLimits, RequestIntake
from tests.raw_http import assert_error_shape, connect, exchange, read_answer
from tests.test_server import body_length_app, bounded


def test_an_app_raising_still_answers_500_to_a_client_that_kept_sending() -> None:
    """The app raising before returning its answer left the worker waiting, until the request's
    deadline, for request bytes nobody would read; werkzeug's 500 was then never written."""
    entered = threading.Event()
    more_sent = threading.Event()

    def raising(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.set()
        assert more_sent.wait(30)
        raise RuntimeError("the application broke")

    with bounded(raising, request_timeout=3600) as (_server, url), connect(url) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert entered.wait(30), "the request never reached the app"
        sock.sendall(b"bytes after the request that nothing reads")
        more_sent.set()
        answer = read_answer(sock, timeout=30)
    assert answer.status == 500


def test_a_body_a_worker_waits_for_in_vain_gets_the_json_408_like_any_other() -> None:
    """Past the loop's buffer budget a worker reads the rest of a body. When that rest did not
    arrive in time the client got whatever the app made of a "disconnected" client (the API: a
    400; a bare app: werkzeug's HTML 500), not the 408 the README promises."""
    with (
        bounded(body_length_app, buffer_budget=10, request_timeout=1.0) as (_server, url),
        connect(url) as sock,
    ):
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"a" * 20)
        answer = read_answer(sock)
    error = assert_error_shape(answer, 408, "REQUEST_TIMEOUT")
    assert error["details"] == {"limitSeconds": 1.0}


class _OutOfDescriptors:
    """A listening socket whose ``accept`` fails as it does when the process has no descriptor
    left: the waiting connection stays queued, so the listener stays readable."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.accepts = 0

    def fileno(self) -> int:
        return self.listener.fileno()

    def accept(self) -> tuple[socket.socket, Any]:
        self.accepts += 1
        raise OSError(errno.EMFILE, "Too many open files")


def test_out_of_descriptors_with_nothing_to_close_pauses_accepting_instead_of_spinning() -> None:
    """With every connection held by a worker, ``accept`` failing for want of descriptors left
    the listener watched and readable: the loop woke at once, failed again, and spun a core
    (slowing the very workers whose finishing would free a descriptor)."""
    sockets = LoopSockets()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        waiting = socket.create_connection(listener.getsockname()[:2], timeout=30)
        try:
            sockets.register(listener, selectors.EVENT_READ)
            assert sockets.ready(30) == [listener]
            failing = _OutOfDescriptors(listener)
            intake = RequestIntake(
                failing,  # type: ignore[arg-type]
                sockets,
                LingeringClose(sockets),
                IntakeLimits(1000, 8, 3600.0, 1000),
                open_connections=lambda: 0,
                hand_over=lambda arrived: None,
            )
            intake.accept()
            assert failing.accepts == 1
            assert sockets.ready(0) == [], "the listener is still watched: the loop would spin"
            resume = intake.next_deadline()
            assert resume is not None
            intake.expire(resume)
            resumed = [watched.fileno() for watched in sockets.ready(30)]
            assert resumed == [listener.fileno()], "accepting never resumed"
        finally:
            waiting.close()
            sockets.close_selector()


def test_a_server_that_fails_to_start_after_binding_releases_its_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Binding came first and the loop's wake-up pair second: when that failed (out of
    descriptors) the error left the port bound and listening, taking connections nobody would
    ever answer, for as long as anything kept the error."""
    ports: list[int] = []

    class Listening(BoundedWSGIServer):
        def server_activate(self) -> None:
            super().server_activate()
            ports.append(self.socket.getsockname()[1])

    def out_of_descriptors(*args: Any, **kwargs: Any) -> tuple[socket.socket, socket.socket]:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(socket, "socketpair", out_of_descriptors)
    with pytest.raises(OSError, match="Too many open files") as failed:
        Listening("127.0.0.1", 0, body_length_app, max_body_bytes=1000)
    monkeypatch.undo()
    assert failed.value.errno == errno.EMFILE  # the error is kept, and with it the server
    (port,) = ports
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=30).close()


def test_an_app_calling_sys_exit_costs_one_answer_not_a_worker_for_good() -> None:
    """``SystemExit`` is not an ``Exception``: it ended the worker's thread, which still counted
    against ``workers``, so with one worker nothing was ever answered again."""

    def exits_on_request(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] == "/exit":
            raise SystemExit(3)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    with bounded(exits_on_request, workers=1) as (server, url):
        with connect(url) as sock:
            sock.sendall(b"GET /exit HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(30)
            assert sock.recv(1) == b"", "the request was not dropped"
        answer = exchange(url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (answer.status, answer.body) == (200, b"ok")
        assert server.worker_threads == 1
