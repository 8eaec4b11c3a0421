"""The delivery allowlist: one strict URL parse, checked again on the address each connection uses.

These tests never send traffic off loopback: where an outside address is involved, the resolver or
the dialer is replaced, so the decision is observed without a packet leaving. The proof against
real sockets on a non-loopback address is in ``test_netns.py``.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.test import Client

from lmif_mock import FakeLMIF
from lmif_mock.dialing import dial
from lmif_mock.hosts import BlockedHostError, HostPolicy, IPAddress
from lmif_mock.http.app import API
from lmif_mock.transports import HTTPTransport, OutgoingRequest, TransportError
from lmif_mock.webhook_url import InvalidWebhookURL, parse_webhook_url
from lmif_mock.webhooks import WebhookError
from tests.receivers import raw_server, read_request
from tests.test_dashboard import KEY as DASHBOARD_KEY
from tests.test_dashboard import login as dashboard_login

#: Every trick of the issue, with a port so the namespace test can aim them at its listener.
TRICKS = [
    "http://10.0.0.1\\@127.0.0.1:{port}/",
    "http://127.0.0.1\\@10.0.0.1:{port}/",
    "http://127.0.0.1:{port}@10.0.0.1:{port}/",
    "http://user:pass@10.0.0.1:{port}/",
    "http://127.0.0.1@10.0.0.1:{port}/",
    "http://10.0.0.1:{port}\\@127.0.0.1/",
    "http://[::ffff:10.0.0.1]:{port}/",
    "http://[::ffff:a00:1]:{port}/",
    "http://167772161:{port}/",
    "http://0x0a000001:{port}/",
    "http://0xa.0.0.1:{port}/",
    "http://012.0.0.1:{port}/",
    "http://10.1:{port}/",
    "http://10.0.1:{port}/",
    "http://10.0.0.1.:{port}/",
    "http://10.0.0.1:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
    "http://10%2e0%2e0%2e1:{port}/",
    "http://10.0.0.1%00.localhost:{port}/",
    "http:\\\\10.0.0.1:{port}/",
    "http:/10.0.0.1:{port}/",
    "HTTP://10.0.0.1:{port}/",
    " http://10.0.0.1:{port}/",
    "http://10.0.0.1 :{port}/",
    "http://[::1]@10.0.0.1:{port}/",
    "http://[::1%25lo]:{port}/",
]


def test_every_trick_is_refused_when_the_webhook_is_created() -> None:
    fake = FakeLMIF()
    for trick in TRICKS:
        url = trick.format(port=8080)
        with pytest.raises(WebhookError):
            fake.webhooks.create(url, events=["*"])
    assert fake.webhooks.list() == []


def test_refusals_say_why() -> None:
    policy = HostPolicy()
    expected = {
        "http://10.0.0.1\\@127.0.0.1/": "backslash",
        "http://user:pw@127.0.0.1/": "credentials",
        "http://167772161/": "four decimal numbers",
        "http://0x7f000001/": "four decimal numbers",
        "http://127.0.0.01/": "four decimal numbers",
        "http://example.com/": "not allowed",
        "ftp://127.0.0.1/": "http:// or https://",
        "http://127.0.0.1:99999/": "out of range",
        "http:///x": "no host",
        "http://[::1/": "unclosed",
    }
    for url, words in expected.items():
        with pytest.raises(BlockedHostError, match=re.escape(words)):
            policy.check_url(url)


def test_the_front_doors_refuse_the_backslash_trick() -> None:
    fake = FakeLMIF()
    api = Client(API(fake, "lmif_test_k"))
    auth = {"Authorization": "Bearer lmif_test_k"}
    trick = "http://10.0.0.1\\@127.0.0.1:8080/"
    created = api.post("/v1/lmif/webhooks", json={"url": trick, "events": ["*"]}, headers=auth)
    assert created.status_code == 400
    assert "backslash" in json.dumps(created.json)
    good = api.post(
        "/v1/lmif/webhooks", json={"url": "http://127.0.0.1:8080/", "events": ["*"]}, headers=auth
    )
    assert good.status_code == 201
    webhook_id = good.json["data"]["id"] if good.json else None
    patched = api.patch(f"/v1/lmif/webhooks/{webhook_id}", json={"url": trick}, headers=auth)
    assert patched.status_code == 400
    assert [w.url for w in fake.webhooks.list()] == ["http://127.0.0.1:8080/"]


def test_the_dashboard_refuses_the_tricks() -> None:
    fake = FakeLMIF()
    client = Client(API(fake, DASHBOARD_KEY))
    token = dashboard_login(client)
    for trick in ("http://10.0.0.1\\@127.0.0.1:8080/", "http://[::ffff:10.0.0.1]:8080/"):
        form = {"url": trick, "events": "*", "csrf": token}
        answer = client.post("/dashboard/webhooks", data=form)
        assert answer.status_code == 400
        assert "not" in answer.get_data(as_text=True)
    assert fake.webhooks.list() == []


LMIF = (sys.executable, "-m", "lmif_mock")


def test_trigger_to_and_forward_to_refuse_the_tricks() -> None:
    for trick in ("http://10.0.0.1\\@127.0.0.1:9/", "http://0x0a000001:9/"):
        trigger = subprocess.run(
            [*LMIF, "trigger", "box.created", "--to", trick, "--secret", "s"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert trigger.returncode == 2, trigger.stderr
        assert "error:" in trigger.stderr
        served = subprocess.run(
            [*LMIF, "serve", "--port", "0", "--forward-to", trick],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert served.returncode == 2, served.stderr
        assert "--forward-to" in served.stderr


def test_what_is_accepted_parses_as_expected() -> None:
    cases = {
        "http://127.0.0.1:8080/hook?a=1#frag": ("http", "127.0.0.1", 8080, "/hook?a=1"),
        "https://LOCALHOST./x": ("https", "localhost", 443, "/x"),
        "http://[::1]/": ("http", "::1", 80, "/"),
        "http://[::ffff:127.0.0.1]:81": ("http", "::ffff:7f00:1", 81, "/"),
        "http://localhost?q": ("http", "localhost", 80, "/?q"),
        "http://ip6-localhost:9/": ("http", "ip6-localhost", 9, "/"),
    }
    policy = HostPolicy()
    for url, (scheme, host, port, target) in cases.items():
        parsed = policy.parse(url)
        assert (parsed.scheme, parsed.host, parsed.port, parsed.target) == (
            scheme,
            host,
            port,
            target,
        )


def test_allowed_hosts_exact_wildcard_and_addresses() -> None:
    policy = HostPolicy(["*.example.test", "hooks.internal", "10.0.0.7", "[fd00::7]"])
    for url in (
        "https://example.test/x",
        "https://a.b.example.test/x",
        "http://hooks.internal/x",
        "http://10.0.0.7:9/x",
        "http://[::ffff:10.0.0.7]/x",
        "http://[fd00::7]/",
    ):
        policy.check_url(url)
    for url in (
        "http://evil.test/x",
        "http://example.test.evil/x",
        "http://xexample.test/x",
        "http://10.0.0.8/x",
        "http://hooks.internal.evil/x",
    ):
        with pytest.raises(BlockedHostError):
            policy.check_url(url)


# -- at connect time ---------------------------------------------------------------------------


class Wire:
    """A resolver and a dialer standing in for DNS and the network: records every address a
    connection is opened to, and really connects only to loopback (the tests' receivers)."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = {name: list(rounds) for name, rounds in answers.items()}
        self.dialed: list[str] = []

    def resolve(self, host: str, port: int) -> list[IPAddress]:
        rounds = self.answers[host]
        current = rounds.pop(0) if len(rounds) > 1 else rounds[0]
        return [ipaddress.ip_address(a) for a in current]

    def dial(self, address: IPAddress, port: int, timeout: float) -> socket.socket:
        self.dialed.append(str(address))
        if not address.is_loopback:
            raise ConnectionRefusedError("(the test network reaches loopback only)")
        return dial(address, port, timeout)


@contextmanager
def closing_receiver() -> Iterator[tuple[int, list[bytes]]]:
    """A receiver on 127.0.0.1 that answers 200 and closes, so every send connects anew."""
    seen: list[bytes] = []

    def answer(conn: socket.socket) -> None:
        seen.append(read_request(conn))
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with raw_server(answer) as url:
        yield int(urlsplit(url).port or 0), seen


def send(transport: HTTPTransport, url: str) -> int | str:
    try:
        return transport.send(OutgoingRequest(url, b"{}", {}), 5).status
    except TransportError as exc:
        return exc.kind


def test_a_name_is_checked_by_what_it_resolves_to_on_every_connection() -> None:
    wire = Wire({"localhost.localdomain": [["127.0.0.1"], ["10.0.0.1"], ["127.0.0.1"]]})
    transport = HTTPTransport(resolver=wire.resolve, dialer=wire.dial)
    with closing_receiver() as (port, seen):
        url = f"http://localhost.localdomain:{port}/hook"
        assert [send(transport, url) for _ in range(3)] == [200, "blocked_host", 200]
    transport.close()
    assert wire.dialed == ["127.0.0.1", "127.0.0.1"]  # never 10.0.0.1
    assert len(seen) == 2


def test_only_the_permitted_addresses_of_a_name_are_dialed() -> None:
    wire = Wire({"ip6-localhost": [["10.0.0.1", "::ffff:10.0.0.2", "127.0.0.1"]]})
    transport = HTTPTransport(resolver=wire.resolve, dialer=wire.dial)
    with closing_receiver() as (port, seen):
        assert send(transport, f"http://ip6-localhost:{port}/") == 200
    transport.close()
    assert wire.dialed == ["127.0.0.1"]
    assert len(seen) == 1


def test_a_named_host_may_go_wherever_it_resolves() -> None:
    wire = Wire({"hooks.internal": [["10.9.9.9"]]})
    transport = HTTPTransport(HostPolicy(["hooks.internal"]), resolver=wire.resolve,
                              dialer=wire.dial)  # fmt: skip
    assert send(transport, "http://hooks.internal/x") == "connection_refused"
    assert wire.dialed == ["10.9.9.9"]


def test_a_mapped_loopback_address_is_dialed_as_plain_ipv4() -> None:
    wire = Wire({})
    transport = HTTPTransport(resolver=wire.resolve, dialer=wire.dial)
    with closing_receiver() as (port, seen):
        assert send(transport, f"http://[::ffff:127.0.0.1]:{port}/") == 200
    transport.close()
    assert wire.dialed == ["127.0.0.1"]
    assert len(seen) == 1


def test_an_address_allowed_by_name_is_refused_when_a_name_resolves_there() -> None:
    """``allowed_hosts=["10.0.0.7"]`` permits that address, and so any name resolving to it."""
    wire = Wire({"localhost": [["10.0.0.7"]]})
    transport = HTTPTransport(HostPolicy(["10.0.0.7"]), resolver=wire.resolve, dialer=wire.dial)
    assert send(transport, "http://localhost/") == "connection_refused"
    assert wire.dialed == ["10.0.0.7"]
    strict = HTTPTransport(resolver=wire.resolve, dialer=wire.dial)
    assert send(strict, "http://localhost/") == "blocked_host"
    assert wire.dialed == ["10.0.0.7"]


# -- property: the decision and the connection agree -------------------------------------------

_HOSTS = st.sampled_from(
    [
        "127.0.0.1", "10.0.0.1", "localhost", "localhost.", "LocalHost", "ip6-localhost",
        "localhost.localdomain", "hooks.internal", "a.example.test", "example.test.evil",
        "[::1]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[::]", "0.0.0.0", "167772161",
        "0x7f000001", "0177.0.0.1", "127.1", "2130706433", "[fe80::1%25eth0]", "10.0.0.1.",
        "evil.test", "xn--nxasmq6b.test", "127.0.0.1.nip.io", "_srv.localhost",
    ]
)  # fmt: skip
_JUNK = st.sampled_from(["", "@", "\\", "\\@", ":", "%2e", "#", "?", "/", "..", " ", "%00"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    """Webhook URLs, about half of them well formed, the rest with one or more tricks in."""
    tricky = draw(st.booleans())
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "ftp", "http:", ""]) if tricky
                  else st.sampled_from(["http", "https"]))  # fmt: skip
    userinfo = draw(st.sampled_from(["", "u@", "u:p@", "10.0.0.1@", "10.0.0.1\\@", "[::1]@"]))
    host = draw(_HOSTS)
    port = draw(st.sampled_from(["", ":80", ":8080", ":0", ":99999", ":x", ":"]) if tricky
                else st.sampled_from(["", ":80", ":8080"]))  # fmt: skip
    path = draw(st.sampled_from(["", "/", "/hook", "/a?b=c", "?q", "#f", "/\\@10.0.0.1"]))
    pieces = [f"{scheme}://", userinfo if tricky else "", host, port, path]
    if tricky:
        splice = draw(st.integers(min_value=1, max_value=len(pieces)))
        pieces.insert(splice, "".join(draw(st.lists(_JUNK, min_size=1, max_size=3))))
    return "".join(pieces)


#: What the stand-in DNS says each name resolves to (names not listed do not resolve).
_DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "ip6-localhost": ["::1"],
    "localhost.localdomain": ["10.0.0.1"],  # a hosts file without it, a DNS that answers
    "hooks.internal": ["10.0.0.9"],
    "a.example.test": ["10.0.0.10"],
    "_srv.localhost": ["10.0.0.11"],
}


@given(urls())
@settings(max_examples=400, deadline=None)
def test_the_policy_decides_exactly_where_the_client_connects(url: str) -> None:
    policy = HostPolicy(["hooks.internal", "*.example.test"])
    dialed: list[str] = []

    def resolver(host: str, port: int) -> list[IPAddress]:
        if host not in _DNS:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return [ipaddress.ip_address(a) for a in _DNS[host]]

    def dialer(address: IPAddress, port: int, timeout: float) -> socket.socket:
        dialed.append(str(address))
        raise ConnectionRefusedError("not really connecting")

    transport = HTTPTransport(policy, resolver=resolver, dialer=dialer)
    try:
        accepted = policy.parse(url)
    except BlockedHostError:
        accepted = None
    outcome = send(transport, url)
    if accepted is None:
        # refused up front: the client does not even resolve, let alone connect
        assert (outcome, dialed) == ("blocked_host", [])
        return
    # The one parse is unambiguous: the standard library reads the same host and port.
    split = urlsplit(url)
    assert split.hostname is not None
    assert ipaddress.ip_address(split.hostname) == accepted.address if accepted.address else (
        split.hostname.rstrip(".") == accepted.host
    )  # fmt: skip
    assert (split.port or {"http": 80, "https": 443}[accepted.scheme]) == accepted.port
    # Where it connects is exactly what the policy permits of what the host is.
    if accepted.address is not None:
        candidates = [accepted.address]
    else:
        candidates = [ipaddress.ip_address(a) for a in _DNS.get(accepted.host, [])]
    permitted = [
        str(a.ipv4_mapped if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped else a)
        for a in candidates
        if policy.permits_connection(accepted, a)
    ]
    assert dialed == permitted
    for address in dialed:
        ip = ipaddress.ip_address(address)
        assert ip.is_loopback or policy.permits_name(accepted.host)
    if not candidates:
        assert outcome == "connection_error"
    elif not permitted:
        assert outcome == "blocked_host"
    else:
        assert outcome == "connection_refused"


def test_parse_errors_are_the_package_error() -> None:
    with pytest.raises(InvalidWebhookURL):
        parse_webhook_url("http://[::1")
    assert issubclass(InvalidWebhookURL, ValueError)
