"""Safe defaults: loopback only, a key on every route but health, secrets kept out of sight."""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path

import pytest

from lmif_mock import FakeLMIF, LMIFServer, RetryPolicy
from lmif_mock.cli import build_parser
from lmif_mock.commands.serve import DEFAULT_PORT
from tests.api_client import Client
from tests.processes import served
from tests.raw_http import allow_open_files, connect
from tests.receivers import Recorder, wsgi_server

SECRET = "lmif_whsec_do_not_leak_me_0123456789"


def test_binds_loopback_by_default() -> None:
    with LMIFServer() as server:
        assert server.host == "127.0.0.1"
        assert server._server is not None
        assert server._server.socket.getsockname()[0] == "127.0.0.1"
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port) == ("127.0.0.1", DEFAULT_PORT)


def test_not_reachable_on_other_interfaces() -> None:
    addresses = {
        str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    }
    others = [a for a in addresses if not a.startswith("127.")]
    if not others:
        pytest.skip("this machine has no non-loopback IPv4 address to try")
    with LMIFServer() as server, socket.socket() as probe:
        probe.settimeout(1)
        assert probe.connect_ex((others[0], server.port)) != 0


def test_secrets_never_in_reprs_errors_or_api_reads() -> None:
    with LMIFServer() as server:
        webhook = server.webhooks.create("http://127.0.0.1:1/x", ["*"], SECRET)
        assert SECRET not in repr(webhook)
        rotated = server.webhooks.rotate_secret(webhook.id)
        assert rotated.secret not in repr(rotated)
        assert SECRET not in repr(rotated)
        client = Client(server.url, server.api_key)
        for path in ("/v1/lmif/webhooks", f"/v1/lmif/webhooks/{webhook.id}",
                     f"/v1/lmif/webhooks/{webhook.id}/deliveries", "/_mock/deliveries"):  # fmt: skip
            answer = client.get(path)
            assert SECRET not in str(answer.body)
            assert rotated.secret not in str(answer.body)
        bad = client.post(
            "/v1/lmif/webhooks", {"url": "http://10.0.0.1/x", "events": ["*"], "secret": SECRET}
        )
        assert bad.status == 400
        assert SECRET not in str(bad.body)
        wrong_key = Client(server.url, server.api_key + "x").get("/v1/lmif/webhooks")
        assert server.api_key not in str(wrong_key.body)


def test_secrets_never_in_delivery_logs(caplog: pytest.LogCaptureFixture) -> None:
    receiver = Recorder([500, 200])
    with (
        caplog.at_level(logging.DEBUG),
        wsgi_server(receiver) as base,
        served("--forward-to", base + "/hook", "--secret", SECRET, "--time-scale", "600") as (
            process,
            url,
            key,
        ),
    ):
        Client(url, key).post("/_mock/events", {"type": "box.created"})
        process.wait_for(r"^<-- 200 POST", timeout=30)
        process.stop()
    mentions = [line for line in process.lines if SECRET in line]
    assert mentions == [
        f"  webhook secret: {SECRET}"
    ]  # shown once, on purpose, like `stripe listen`
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_request_and_response_sizes_are_capped() -> None:
    with LMIFServer(max_body_bytes=1000) as server:
        client = Client(server.url, server.api_key)
        answer = client.post("/_mock/events", {"type": "box.created", "data": {"x": "y" * 2000}})
        assert (answer.status, answer.code) == (413, "PAYLOAD_TOO_LARGE")

    def huge(environ: dict[str, object], start_response: object) -> list[bytes]:
        start_response("200 OK", [])  # type: ignore[operator]
        return [b"z" * (2 * 1024 * 1024)]

    fake = FakeLMIF(retry_policy=RetryPolicy.no_retries())
    fake.webhooks.create(huge, ["*"])
    fake.emit("box.created")
    (delivery,) = fake.deliveries()
    attempt = delivery.attempts[0]
    # cut off at the cap, yet a 2xx: a success, as the provider counts it, with an excerpt kept
    assert (attempt.status_code, attempt.error, delivery.status) == (200, None, "succeeded")
    assert attempt.response_excerpt == "z" * 1024


def process_threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def test_serve_keeps_answering_during_a_slowloris_attack() -> None:
    allow_open_files(4000)
    half_sent = b"POST /_mock/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"
    with served("--quiet") as (process, url, key):
        client = Client(url, key)
        assert client.get("/v1/lmif/webhooks").status == 200
        before = process_threads(process.process.pid)
        slow = []
        try:
            for _ in range(1500):
                sock = connect(url)
                sock.sendall(half_sent)
                slow.append(sock)
            answer = client.post("/_mock/events", {"type": "box.created"})
            assert answer.status == 201
            assert client.get("/v1/lmif/webhooks").status == 200
            # main made a thread per half-sent request here (1,500 of them, held forever)
            assert process_threads(process.process.pid) <= before + 2
        finally:
            for sock in slow:
                sock.close()


def test_every_security_item_in_the_readme_names_tests_that_exist() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    section = readme.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    items = re.split(r"\n- ", section)[1:]
    assert len(items) >= 15
    tests = Path(__file__).resolve().parent
    for item in items:
        named = re.findall(r"`(test_\w+\.py)::(test_\w+)`", item)
        assert named, f"no test named for: {item[:80]!r}"
        for module, function in named:
            source = (tests / module).read_text("utf-8")
            assert f"\ndef {function}(" in source, f"{module}::{function} does not exist"
