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
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.exchanges import MAX_RESPONSE_BYTES, TransportError
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
    if raw and b"\n\n" not in raw and b"\n\r\n" not in raw:
        # Stricter than http.client on purpose: a head cut off by the close is a failure.
        with pytest.raises(TransportError, match="before the end of the answer's head"):
            read_answer(receive, cap)
        return raw
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
    # "one" and "two" share a connection, dropped after the junk; "three" and "four" were not
    # plain, so each connection is closed after it; "five" has its own
    assert len(accepted) == 4


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


_HOSTILE_HEADS = {
    "100 plain lines": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-%d: v\r\n" % i for i in range(100))
    + b"Content-Length: 2\r\n\r\nok",
    "24 lines then a folded one": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-%d:   v\r\n" % i for i in range(24))
    + b" folded\r\nContent-Length: 2\r\n\r\nok",
    "a head over 64 KiB": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-%d: " % i + b"a" * 4500 + b"\r\n" for i in range(25))
    + b"Content-Length: 2\r\n\r\nok",
    "65,000 blanks then a stray CR": b"HTTP/1.1 200 OK\r\nX:"
    + b" " * 65000
    + b"\r\r\nContent-Length: 2\r\n\r\nok",
    "65,000 tabs then a stray CR": b"HTTP/1.1 200 OK\r\nX:"
    + b"\t" * 65000
    + b"\r\r\nContent-Length: 2\r\n\r\nok",
    "65,000 mixed blanks then a stray CR": b"HTTP/1.1 200 OK\r\nX:"
    + b" \t" * 32500
    + b"\r\r\nContent-Length: 2\r\n\r\nok",
    "13 lines of blanks then a bad line": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-%d:   v\r\n" % i for i in range(13))
    + b"Bad line\r\n\r\n",
}

_READ_ALL_HOSTILE = """
import http.client, io, sys
from lmif_mock.plain_answers import read_answer
from lmif_mock.http_heads import QuickResponse
from tests.test_plain_answers import _HOSTILE_HEADS

class Bytes:
    def __init__(self, raw): self.raw = raw
    def makefile(self, mode): return io.BufferedReader(io.BytesIO(self.raw))

for name, raw in _HOSTILE_HEADS.items():
    pieces = iter([raw[:100], raw[100:]])
    read = read_answer(lambda size: next(pieces, b""), 65536)
    answer = QuickResponse(Bytes(raw), method="POST")
    try:
        answer.begin()
    except http.client.HTTPException:
        pass
    print(name, type(read).__name__, flush=True)
"""


def test_hostile_heads_are_read_in_linear_time() -> None:
    """Heads built to make an ambiguous pattern backtrack (many header lines then a bad one, a
    head over 64 KiB, a long run of blanks): the quick reader and the head parser finish at once.
    Run in a process of its own with a bound 500 times what they take on a loaded machine: the
    old patterns held the GIL for minutes (2**100 tries for the first head; 40 s for the blanks),
    which no in-process timeout could have stopped."""
    done = subprocess.run(
        [sys.executable, "-c", _READ_ALL_HOSTILE],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert [line.split()[0] for line in done.stdout.splitlines()] == [
        name.split()[0] for name in _HOSTILE_HEADS
    ]
    for raw in _HOSTILE_HEADS.values():  # and each reads as http.client reads it
        _check(raw, [100], MAX_RESPONSE_BYTES)


def _answer_then_close(answers: list[bytes]) -> tuple[int, threading.Thread]:
    """A raw listener on 127.0.0.1 giving each connection's request the next of ``answers``,
    then closing that connection."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        with listener:
            for answer in answers:
                conn, _ = listener.accept()
                with conn:
                    conn.settimeout(30)
                    request = b""
                    while not request.endswith(b"{}"):
                        request += conn.recv(65536)
                    conn.sendall(answer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def test_odd_answers_are_judged_as_the_provider_s_client_would() -> None:
    """Interim 1xx answers are skipped (http.client skips only 100); a head cut off by the close
    and a negative chunk size are invalid answers (http.client took the first as a 200 and
    raised a ValueError for the second, recorded as a connection error); a garbage status line
    is quoted in part, not whole."""
    answers = [
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        + _plain(b"final"),
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nok\r\n0\r\n\r\n",
        b"garbage" * 9000 + b"\r\n\r\n",
    ]
    port, thread = _answer_then_close(answers)
    policy = HostPolicy()
    client = KeepAliveClient(policy)
    url = policy.parse(f"http://127.0.0.1:{port}/hook")
    outcomes: list[tuple[str, object]] = []
    for _ in answers:
        try:
            answer = client.post(url, b"{}", {"Content-Type": "application/json"}, 30)
            outcomes.append(("answer", (answer.status, answer.body)))
        except TransportError as exc:
            outcomes.append((exc.kind, len(exc.message)))
    client.close()
    thread.join(30)
    assert outcomes[0] == ("answer", (200, b"final"))
    assert [kind for kind, _ in outcomes[1:]] == ["invalid_response"] * 4
    assert all(isinstance(size, int) and size < 500 for _, size in outcomes[1:]), outcomes
