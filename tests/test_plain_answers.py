"""The quick answer reader agrees with ``http.client``, or hands every byte it read over to it.

``read_answer`` takes a plain answer off the socket in one go; anything else must go to
``http.client`` with nothing lost. Over generated answers (plain, odd, cut short, with bytes
after the body), delivered to the reader split at arbitrary points: when it answers, the stdlib
reads the same status, headers and body, and agrees the connection may be kept; when it declines,
what it returns is exactly the bytes it consumed, in order.
"""

from __future__ import annotations

import http.client
import io
import select
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.exchanges import MAX_RESPONSE_BYTES
from lmif_mock.hosts import HostPolicy
from lmif_mock.http_client import KeepAliveClient
from lmif_mock.plain_answers import PlainAnswer, read_answer

_CAP = 64


class _Bytes:
    """What ``http.client`` needs of a socket: a file over fixed bytes."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(io.BytesIO(self.raw))


def _stdlib(raw: bytes, cap: int = _CAP) -> tuple[object, ...]:
    """What ``http.client`` makes of ``raw`` as the answer to a POST, or its error."""
    answer = http.client.HTTPResponse(_Bytes(raw), method="POST")  # type: ignore[arg-type]
    try:
        answer.begin()
        if answer.length is not None and answer.length > cap:
            return ("long",)
        body = answer.read()
    except (http.client.HTTPException, ValueError) as exc:
        return ("error", type(exc))
    headers = {name.lower(): value for name, value in answer.msg.items()}
    return (answer.status, headers, body, answer.will_close)


def _receiver(raw: bytes, cuts: list[int]) -> tuple[Callable[[int], bytes], list[int]]:
    """A ``recv`` giving ``raw`` in the pieces ``cuts`` makes (never more than asked), then EOF;
    and a list holding how many bytes it has given."""
    pieces: Iterator[bytes] = iter(
        raw[start:end] for start, end in zip([0, *cuts], [*cuts, len(raw)], strict=True)
    )
    given = [0]
    pending = [b""]

    def receive(size: int) -> bytes:
        if not pending[0]:
            pending[0] = next(pieces, b"")
            while pending[0] == b"" and given[0] < len(raw):
                pending[0] = next(pieces, b"")
        chunk, pending[0] = pending[0][:size], pending[0][size:]
        given[0] += len(chunk)
        return chunk

    return receive, given


def _check(raw: bytes, cuts: list[int], cap: int = _CAP) -> PlainAnswer | bytes:
    """Give ``raw`` to the quick reader in the pieces ``cuts`` makes and hold it to the rule:
    what it takes, ``http.client`` reads alike (and would keep the connection only as it does);
    what it declines, it returns byte for byte."""
    receive, given = _receiver(raw, [cut for cut in cuts if 0 < cut < len(raw)])
    read = read_answer(receive, cap)
    if isinstance(read, PlainAnswer):
        expected = _stdlib(raw, cap)
        assert len(expected) == 4, f"the quick reader took what http.client refuses: {expected}"
        status, headers, body, will_close = expected
        assert (read.status, read.headers, read.body) == (status, headers, body)
        # Kept only if http.client would keep it and nothing was read past the body.
        body_end = raw.index(b"\r\n\r\n") + 4 + len(read.body)
        assert read.reusable == (not will_close and given[0] == body_end)
    else:
        assert read == raw[: given[0]]  # exactly what was taken, for http.client to read first
    return read


_REASONS = st.sampled_from(["OK", "", " ", "No Content", "Accepted \xe9", "x\ry"])
_STATUS_LINES = st.builds(
    lambda v, s, r, e: f"{v} {s}{' ' + r if r is not None else ''}{e}",
    st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1", " HTTP/1.1"]),
    st.sampled_from(["200", "200", "201", "204", "304", "404", "500", "100", "2000", "99"]),
    st.none() | _REASONS,
    st.sampled_from(["\r\n", "\r\n", "\n"]),
)
#: Names that decide how an answer is read come often, and twice in one head now and then
#: (``http.client`` goes by the first).
_NAMES = st.sampled_from(
    ["Content-Length", "Content-Length", "content-length", "Connection", "Connection",
     "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Content-Type", "X-A", "Bad Name", ""]
)  # fmt: skip
_VALUES = ["0", "2", "5", "65", " 3", "3 ", "+3", "3_0", "-1", "close", "keep-alive",
           "Keep-Alive, Close", "chunked", "text/plain", "\xe9t\xe9", ""]  # fmt: skip
_SPACES = st.sampled_from(["", " ", "\t"])
_ENDS = st.sampled_from(["\r\n", "\r\n", "\r\n", "\n"])


@st.composite
def _answers(draw: st.DrawFn) -> bytes:
    body = draw(st.binary(max_size=80))
    values = st.sampled_from([str(len(body))] * 4 + _VALUES)
    lines = draw(st.lists(
        st.builds(lambda n, sp, v, e: f"{n}:{sp}{v}{e}", _NAMES, _SPACES, values, _ENDS)
        | st.sampled_from([" folded\r\n", "no colon\r\n"]),
        max_size=6,
    ))  # fmt: skip
    end = draw(st.sampled_from(["\r\n", "\r\n", "\n", ""]))
    head = draw(_STATUS_LINES) + "".join(lines) + end
    return head.encode("latin-1") + body + draw(st.sampled_from([b"", b"", b"HTTP/1.1 2"]))


@settings(max_examples=2000, deadline=None)
@given(raw=_answers(), cuts=st.lists(st.integers(1, 200), max_size=4))
def test_the_quick_reader_agrees_with_http_client_or_hands_every_byte_over(
    raw: bytes, cuts: list[int]
) -> None:
    _check(raw, sorted(set(cuts)))


def _plain(body: bytes = b"ok", extra: bytes = b"", head: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{head}\r\n".encode() + body + extra


@pytest.mark.parametrize(
    "raw",
    [_plain(), _plain(b""), _plain(b"x" * 5000), _plain(head="Connection: close\r\n"),
     b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.0 200 OK\r\nKeep-Alive: 5\r\nContent-Length: 1\r\n\r\nk",
     b"HTTP/1.0 200 OK\r\nProxy-Connection: keep-alive\r\nContent-Length: 0\r\n\r\n",
     b"HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",  # no body, whatever the length says
     b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"],
)  # fmt: skip
def test_plain_answers_are_taken_whole_even_a_byte_at_a_time(raw: bytes) -> None:
    read = _check(raw, list(range(1, len(raw))), MAX_RESPONSE_BYTES)
    assert isinstance(read, PlainAnswer)


@pytest.mark.parametrize(
    "raw",
    [
        _plain(extra=b"HTTP/1.1 200 OK\r\n"),  # something after the body: not reusable
        b"HTTP/1.1 100 Continue\r\n\r\n" + _plain(),  # interim answer: http.client's
        b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",  # bare LF: http.client's
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nok",  # cut short
        b"HTTP/1.1 200 OK\r\n\r\nuntil the end",  # no length: read to the end
        _plain(b"x" * (MAX_RESPONSE_BYTES + 1)),  # longer than the cap
    ],
)
def test_answers_that_are_not_plain_leave_nothing_behind(raw: bytes) -> None:
    read = _check(raw, [len(raw) // 2], MAX_RESPONSE_BYTES)
    assert not isinstance(read, PlainAnswer) or not read.reusable


def _serve(answers: list[bytes]) -> tuple[int, list[int], threading.Thread]:
    """A raw listener on 127.0.0.1 answering each request on a connection with the next of
    ``answers``; returns its port, the connections it accepted (a list it fills), its thread."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []
    queue = list(answers)

    def run() -> None:
        with listener:
            while queue:
                conn, _ = listener.accept()
                accepted.append(1)
                with conn:
                    conn.settimeout(30)
                    while queue:
                        request = b""
                        while b"\r\n\r\n" not in request:
                            got = conn.recv(65536)
                            if not got:
                                break
                            request += got
                        if not got:
                            break
                        head, _, rest = request.partition(b"\r\n\r\n")
                        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                        while len(rest) < length:
                            rest += conn.recv(65536)
                        conn.sendall(queue.pop(0))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], accepted, thread


def test_over_loopback_every_kind_of_answer_reads_as_before_and_bad_connections_are_dropped() -> (
    None
):
    answers = [
        _plain(b"one"),
        _plain(b"two", extra=b"junk after the body"),  # the connection must not be reused
        b"HTTP/1.1 200 OK\nContent-Length: 5\n\nthree",  # bare LF: read by http.client
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nfour\r\n0\r\n\r\n",
        _plain(b"five"),
    ]
    port, accepted, thread = _serve(answers)
    policy = HostPolicy()
    client = KeepAliveClient(policy)
    url = policy.parse(f"http://127.0.0.1:{port}/hook")
    bodies = [client.post(url, b"{}", {"Content-Type": "application/json"}, 30).body
              for _ in answers]  # fmt: skip
    client.close()
    thread.join(30)
    assert bodies == [b"one", b"two", b"three", b"four", b"five"]
    # one connection for "one" and "two" (dropped after the junk), one for the rest
    assert len(accepted) == 2


@pytest.mark.parametrize("while_idle", ["closes", "writes out of turn"])
def test_a_connection_the_receiver_spoiled_while_idle_is_not_used_again(while_idle: str) -> None:
    """The receiver answers, then (while the connection sits idle in the client's pool) closes it
    or writes to it unasked: the next POST must go over a new connection and succeed, not fail
    on the spoiled one."""
    listener = socket.create_server(("127.0.0.1", 0))
    spoiled = threading.Event()
    accepted: list[int] = []

    def run() -> None:
        with listener:
            for number in range(2):
                conn, _ = listener.accept()
                accepted.append(number)
                with conn:
                    conn.settimeout(30)
                    request = b""
                    while not request.endswith(b"{}"):
                        request += conn.recv(65536)
                    conn.sendall(_plain(b"first" if number == 0 else b"second"))
                    if number == 0:
                        if while_idle == "writes out of turn":
                            conn.sendall(b"HTTP/1.1 200 OK\r\n")
                        else:
                            conn.shutdown(socket.SHUT_WR)
                    spoiled.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    policy = HostPolicy()
    client = KeepAliveClient(policy)
    url = policy.parse(f"http://127.0.0.1:{listener.getsockname()[1]}/hook")
    first = client.post(url, b"{}", {"Content-Type": "application/json"}, 30)
    assert spoiled.wait(30)
    # What the receiver did reaches this side's kernel in a moment (on a busy machine, later
    # than the receiver's call returns): wait for it, so the check sees the spoiled connection.
    # (Bytes written out of turn may have come with the answer: then nothing was kept.)
    for kept in client._idle.values():
        for idle in kept:
            assert idle.guarded is not None
            ready = select.select([idle.guarded.sock], [], [], 30)[0]
            assert ready, "what the receiver did never arrived"
    second = client.post(url, b"{}", {"Content-Type": "application/json"}, 30)
    client.close()
    thread.join(30)
    assert (first.body, second.body, accepted) == (b"first", b"second", [0, 1])
