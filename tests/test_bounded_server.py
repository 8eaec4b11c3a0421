"""Defects found in the bounded server while splitting it (issue 14), each pinned by a test.

The server's documented behaviour is tested in ``test_server.py``; these are the paths a reviewer
found where a connection, an answer or a worker could be lost.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.raw_http import assert_error_shape, connect, read_answer
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
