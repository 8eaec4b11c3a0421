"""The HTTP client polls briefly for an answer before sleeping, only where that cannot hurt.

What the polling did is read from its counters (exchanges polled, hits, misses), never from how
long anything took; receivers are raw listeners on 127.0.0.1 that answer when the test says so.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from lmif_mock.answer_polling import (
    _FIRST_PAUSE,
    _MISS_COST,
    _MOST_CREDIT,
    CAN_SPIN,
    AnswerPolling,
)
from lmif_mock.hosts import HostPolicy
from lmif_mock.http_client import KeepAliveClient

_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@contextmanager
def _receiver(before_answer: Callable[[int], None]) -> Iterator[int]:
    """A keep-alive listener answering each request once ``before_answer(n)`` returns."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(30)
            number = 0
            while not stop.is_set():
                request = b""
                while not request.endswith(b"{}"):
                    got = conn.recv(65536)
                    if not got:
                        return
                    request += got
                before_answer(number)
                number += 1
                conn.sendall(_ANSWER)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        listener.close()
        thread.join(30)


def _post(client: KeepAliveClient, port: int) -> bytes:
    url = client.policy.parse(f"http://127.0.0.1:{port}/hook")
    return client.post(url, b"{}", {"Content-Type": "application/json"}, 30).body


def _polling(client: KeepAliveClient) -> AnswerPolling:
    (connection,) = [c for kept in client._idle.values() for c in kept]
    return connection.polling


needs_two_cores = pytest.mark.skipif(not CAN_SPIN, reason="one core: nothing polls here")


@needs_two_cores
def test_only_the_main_thread_polls() -> None:
    """``serve``'s workers and a real clock's lanes sleep at once: polling threads would only
    compete with each other. The main thread (a test's) polls."""
    with _receiver(lambda number: None) as port:
        client = KeepAliveClient(HostPolicy())
        elsewhere = threading.Thread(target=lambda: [_post(client, port) for _ in range(3)])
        elsewhere.start()
        elsewhere.join(30)
        assert _polling(client).polled == 0
        assert _post(client, port) == b"ok"  # now from the main thread
        assert _polling(client).polled == 1
        client.close()


@needs_two_cores
def test_answers_that_miss_the_window_pause_the_polling_for_longer_and_longer() -> None:
    """A window without an answer uses up the starting credit: the origin is not polled for the
    next 16 exchanges, then (missing again) 32; answers within the window earn credit back,
    and only a full credit forgets the backoff."""
    one, other = socket.socketpair()
    with one, other:
        polling, poller = AnswerPolling(), select.poll()
        poller.register(one, select.POLLIN)

        def exchange(answered: bool) -> None:
            if answered:
                other.sendall(b"HTTP/1.1 200 OK")
            polling.wait_briefly(poller, time.monotonic() + 30)
            if answered:
                one.recv(100)

        exchange(answered=False)  # nothing arrives: the window runs out
        assert (polling.polled, polling.missed) == (1, 1)
        for _ in range(_FIRST_PAUSE):  # paused: not polled at all
            exchange(answered=False)
        assert polling.polled == 1
        exchange(answered=False)  # missed again: a pause twice as long
        for _ in range(2 * _FIRST_PAUSE):
            exchange(answered=False)
        assert polling.polled == 2
        for _ in range(_MOST_CREDIT):  # answers in time: credit back, up to full
            exchange(answered=True)
        assert (polling.polled, polling.hits) == (2 + _MOST_CREDIT, _MOST_CREDIT)
        polled = polling.polled
        while polling.polled == polled or not polling._pause:  # misses use the credit up
            polled = polling.polled
            exchange(answered=False)
        assert polling.missed == 2 + _MOST_CREDIT // _MISS_COST
        assert polling._pause == _FIRST_PAUSE  # full credit forgot the backoff


@needs_two_cores
def test_answers_in_time_only_every_other_exchange_still_pause_the_polling() -> None:
    """A receiver in a thread of this process answers within the window only now and then (when
    it gets the interpreter): hits and misses taking turns must not keep the polling going."""
    one, other = socket.socketpair()
    with one, other:
        polling, poller = AnswerPolling(), select.poll()
        poller.register(one, select.POLLIN)
        for number in range(8):
            answered = number % 2 == 0
            if answered:
                other.sendall(b"x")
            polling.wait_briefly(poller, time.monotonic() + 30)
            if answered:
                one.recv(10)
        assert polling.polled < 8
        assert polling._pause > 0


@needs_two_cores
def test_polling_never_runs_past_the_exchange_s_deadline() -> None:
    one, other = socket.socketpair()
    with one, other:
        polling = AnswerPolling()
        poller = select.poll()
        poller.register(one, select.POLLIN)
        polling.wait_briefly(poller, time.monotonic() - 1)  # the deadline has passed: no polling
        assert (polling.polled, polling.hits, polling.missed) == (0, 0, 0)
        other.sendall(b"x")
        polling.wait_briefly(poller, time.monotonic() + 30)
        assert (polling.polled, polling.hits, polling.missed) == (1, 1, 0)


def test_what_polling_learnt_is_kept_per_origin_not_per_connection() -> None:
    """A receiver that closes every connection (an HTTP/1.0 server such as werkzeug's
    development server) must not be polled afresh on each new one: connections to one origin
    share its polling state; another origin has its own."""
    policy = HostPolicy()
    client = KeepAliveClient(policy)
    here = policy.parse("http://127.0.0.1:8001/a")
    also_here = policy.parse("http://127.0.0.1:8001/b")
    elsewhere = policy.parse("http://127.0.0.1:8002/a")
    first, second = client._checkout(here), client._checkout(also_here)
    assert first is not second
    assert first.polling is second.polling
    assert client._checkout(elsewhere).polling is not first.polling
    client.close()
