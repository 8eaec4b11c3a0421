"""Every attempt records the request it sent, and that record is what the receiver read.

The receivers here keep the raw bytes they were handed (off a socket on 127.0.0.1, or from the
WSGI/ASGI call), and the tests compare them byte for byte with the attempt's record, under the
faults that make the wire differ from the delivery's payload (``layout``, ``tampered_body``).
"""

from __future__ import annotations

import html
import json
import re
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from werkzeug.test import Client as WSGIClient

from lmif_mock import FakeLMIF, Faults, LMIFServer, RetryPolicy, verify
from lmif_mock.http.app import API
from lmif_mock.http.openapi import document
from lmif_mock.http.representations import sent_request_json
from lmif_mock.records import Attempt
from lmif_mock.sqlite_store import SCHEMA_VERSION, SQLiteStore
from lmif_mock.transcript import requests_of
from lmif_mock.wire import SentRequest, lay_out, wire_headers
from tests.api_client import Client
from tests.dashboard_login import log_in
from tests.receivers import raw_server, read_request

SECRET = "wire-secret"
SPEC = document()
FAULTS = [
    Faults(layout="pretty"),
    Faults(layout="ascii"),
    Faults(signature="tampered_body"),
    Faults(layout="pretty", signature="tampered_body"),
    Faults(signature="missing"),
]
#: Text that ``ascii`` lays out as \\u escapes, so that layout changes the bytes.
DATA = {"identityName": "Zoë Ünal", "note": "naïve café"}


class Received:
    """What a receiver was handed: header names lowercased, the body as read."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def add(self, headers: dict[str, str], body: bytes) -> None:
        with self.lock:
            self.requests.append((headers, body))


def _wsgi_receiver(received: Received, status: str = "200 OK") -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        headers["content-type"] = environ.get("CONTENT_TYPE", "")
        headers["content-length"] = environ.get("CONTENT_LENGTH", "")
        received.add(headers, body)
        start_response(status, [("Content-Type", "text/plain")])
        return [b"ok"]

    return app


def _asgi_receiver(received: Received) -> Callable[..., Any]:
    async def app(
        scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        received.add(headers, body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


@contextmanager
def _fake(**options: Any) -> Iterator[FakeLMIF]:
    fake = FakeLMIF(**options)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def socket_receiver() -> Iterator[tuple[str, Received]]:
    """An HTTP listener on 127.0.0.1 that keeps each request's raw head and body."""
    received = Received()

    def behaviour(conn: socket.socket) -> None:
        raw = read_request(conn)
        head, _, body = raw.partition(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        received.add(headers, body)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    with raw_server(behaviour) as url:
        yield url, received


def _check_against(
    attempt: Attempt,
    headers: dict[str, str],
    body: bytes,
    tampered: bool,
    added_by_transport: set[str] = {"host"},  # noqa: B006 - never changed
) -> None:
    request = attempt.request
    assert request is not None
    assert request.body == body  # byte for byte what the receiver read
    for name, value in request.headers.items():
        assert headers[name.lower()] == value, name  # every recorded header, as it arrived
    assert set(headers) - {name.lower() for name in request.headers} == added_by_transport
    signature = headers.get("x-lmif-signature")
    assert signature == request.signature
    # The recorded pair verifies exactly when the pair the receiver saw does.
    assert verify(request.body, request.signature, SECRET) is (
        signature is not None and not tampered
    )
    assert verify(body, signature, SECRET) is verify(request.body, request.signature, SECRET)


def _emit_and_compare(
    fake: FakeLMIF,
    target: Any,
    received: Received,
    faults: Faults,
    added_by_transport: set[str] = {"host"},  # noqa: B006 - never changed
) -> None:
    fake.webhooks.create(target, ["*"], secret=SECRET)
    fake.emit("box.created", DATA, faults=faults)
    [delivery] = fake.deliveries()
    [attempt] = delivery.attempts
    assert len(received.requests) == 1, received.requests
    headers, body = received.requests[0]
    tampered = faults.signature == "tampered_body"
    _check_against(attempt, headers, body, tampered, added_by_transport)
    if faults.layout is not None or faults.signature == "tampered_body":
        assert body != delivery.body  # the case the record exists for: the wire differs


@pytest.mark.parametrize("faults", FAULTS, ids=str)
def test_wsgi_receiver_reads_what_the_attempt_recorded(faults: Faults) -> None:
    received = Received()
    with _fake(seed=1) as fake:
        _emit_and_compare(fake, _wsgi_receiver(received), received, faults)


@pytest.mark.parametrize("faults", FAULTS, ids=str)
def test_asgi_receiver_reads_what_the_attempt_recorded(faults: Faults) -> None:
    received = Received()
    with _fake(seed=2) as fake:
        _emit_and_compare(fake, _asgi_receiver(received), received, faults)


@pytest.mark.parametrize("faults", FAULTS, ids=str)
def test_http_listener_reads_what_the_attempt_recorded(
    faults: Faults, socket_receiver: tuple[str, Received]
) -> None:
    url, received = socket_receiver
    with _fake(seed=3) as fake:
        _emit_and_compare(fake, url, received, faults, {"host", "accept-encoding"})
    assert received.requests[0][0]["accept-encoding"] == "identity"


def test_failed_attempts_record_their_request_too(socket_receiver: tuple[str, Received]) -> None:
    policy = RetryPolicy(delays=[0, 0, 0], timeout=5)
    refused = socket.socket()
    refused.bind(("127.0.0.1", 0))
    closed_port = refused.getsockname()[1]
    refused.close()  # nothing listens there now: connection refused
    answered_500 = Received()
    with _fake(seed=4, retry_policy=policy) as fake:
        fake.webhooks.create(_wsgi_receiver(answered_500, "500 Oops"), ["*"], secret=SECRET)
        fake.webhooks.create(f"http://127.0.0.1:{closed_port}/hook", ["*"], secret=SECRET)
        fake.emit("box.created", faults=Faults(layout="pretty"))
        fake.clock.advance(seconds=1)
        by_webhook = {d.webhook_id: d for d in fake.deliveries()}
        server_error, no_listener = by_webhook.values()
        assert [a.status_code for a in server_error.attempts] == [500] * 3
        assert {a.error for a in no_listener.attempts} == {"connection_refused"}
        for attempt, (headers, body) in zip(
            server_error.attempts, answered_500.requests, strict=True
        ):
            _check_against(attempt, headers, body, tampered=False)
        for attempt in no_listener.attempts:
            assert attempt.request is not None
            assert verify(attempt.request.body, attempt.signature, SECRET)
            assert attempt.request.body == lay_out(no_listener.body, "pretty")
        # A re-laid body is kept once per delivery, not once per attempt.
        bodies = [a.sent_body for a in server_error.attempts]
        assert all(b is bodies[0] for b in bodies)


def test_an_unchanged_body_is_the_deliverys_own_bytes_object() -> None:
    received = Received()
    with _fake(seed=5, retry_policy=RetryPolicy(delays=[0, 0])) as fake:
        fake.webhooks.create(_wsgi_receiver(received, "503 Busy"), ["*"], secret=SECRET)
        fake.emit("box.created")
        fake.clock.advance(seconds=1)
        [delivery] = fake.deliveries()
        assert len(delivery.attempts) == 2
        for attempt in delivery.attempts:
            assert attempt.sent_body is delivery.body  # shared, not copied per attempt


def test_a_timed_out_attempt_records_its_request(socket_receiver: tuple[str, Received]) -> None:
    release = threading.Event()

    def slow(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
        release.wait(30)
        start_response("200 OK", [])
        return [body[:0]]

    with _fake(seed=6, retry_policy=RetryPolicy(delays=[0], timeout=0.2)) as fake:
        fake.webhooks.create(slow, ["*"], secret=SECRET)
        try:
            fake.emit("box.created", faults=Faults(signature="tampered_body"))
        finally:
            release.set()
        [delivery] = fake.deliveries()
        [attempt] = delivery.attempts
        assert attempt.error == "timeout"
        assert attempt.request is not None
        assert attempt.request.body != delivery.body
        assert not verify(attempt.request.body, attempt.signature, SECRET)


def test_a_disabled_webhook_records_no_request() -> None:
    with _fake(seed=7) as fake:
        webhook = fake.webhooks.create(_wsgi_receiver(Received()), ["*"], secret=SECRET)
        fake.emit("box.created", faults=Faults(delay=timedelta(minutes=1)))
        fake.webhooks.update(webhook.id, enabled=False)
        fake.clock.advance(minutes=2)
        [delivery] = fake.deliveries()
        assert delivery.attempts[0].error == "webhook_disabled"
        assert delivery.attempts[0].request is None


def test_api_shows_each_attempts_request_as_sent() -> None:
    received = Received()
    with LMIFServer(seed=8) as server:
        server.webhooks.create(_wsgi_receiver(received), ["*"], secret=SECRET)
        server.emit("box.created", DATA, faults=Faults(layout="ascii"))
        [delivery] = server.deliveries()
        api = Client(server.url, server.api_key)
        shown = api.call("GET", f"/v1/lmif/deliveries/{delivery.id}").data
        [attempt] = shown["attempts"]
        request = attempt["request"]
        headers, body = received.requests[0]
        assert "bodyBase64" not in request  # UTF-8: the text itself, as in a transcript
        assert request["body"].encode("utf-8") == body
        assert request["headers"]["X-LMIF-Signature"] == headers["x-lmif-signature"]
        assert request["headers"]["Content-Length"] == str(len(body))
        assert verify(request["body"], request["headers"]["X-LMIF-Signature"], SECRET)
        assert shown["payload"].encode("utf-8") == delivery.body != body
        # The OpenAPI document describes it, and would catch a request of another shape.
        schema = {"$ref": "#/components/schemas/Delivery", "components": SPEC["components"]}
        jsonschema.Draft202012Validator(schema).validate(shown)
        broken = {**shown, "attempts": [{**attempt, "request": {**request, "body": 1}}]}
        assert not jsonschema.Draft202012Validator(schema).is_valid(broken)
        both = {**request, "bodyBase64": "e30="}  # exactly one of body and bodyBase64
        two = {**shown, "attempts": [{**attempt, "request": both}]}
        assert not jsonschema.Draft202012Validator(schema).is_valid(two)
        listed = api.call("GET", f"/v1/lmif/webhooks/{delivery.webhook_id}/deliveries").data[0]
        assert "request" not in listed["attempts"][0]  # lists stay small: one delivery only


def test_a_body_that_is_not_utf8_is_shown_as_base64() -> None:
    shown = sent_request_json(SentRequest(b"\xff\xfe{}", None))
    assert shown == {
        "headers": {
            "Content-Type": "application/json",
            "User-Agent": wire_headers(b"", None)["User-Agent"],
            "Content-Length": "4",
        },
        "bodyBase64": "//57fQ==",
    }
    assert sent_request_json(None) is None


def test_sqlite_keeps_each_attempts_request_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "lmif.db"
    received = Received()
    policy = RetryPolicy(delays=[0, 0], timeout=5)
    first_run = SQLiteStore(path)
    with _fake(seed=9, store=first_run, retry_policy=policy) as fake:
        fake.webhooks.create(_wsgi_receiver(received, "500 No"), ["*"], secret=SECRET)
        fake.emit("box.created", DATA, faults=Faults(layout="pretty"))
        fake.emit("box.updated")
        fake.clock.advance(seconds=1)
        before = fake.deliveries()
    first_run.close()
    reopened = SQLiteStore(path)
    try:
        after = reopened.list_deliveries()
        assert [[a.request for a in d.attempts] for d in after] == [
            [a.request for a in d.attempts] for d in before
        ]
        faulted, plain = after
        # Received in turn: first attempts of both, then both retries.
        assert [a.sent_body for a in faulted.attempts] == [
            body for _, body in received.requests[0::2]
        ]
        assert all(a.sent_body != faulted.body for a in faulted.attempts)
        assert all(a.sent_body is plain.body for a in plain.attempts)
    finally:
        reopened.close()


def test_a_version_1_file_gains_the_sent_body_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.executescript(
            """
            CREATE TABLE webhooks (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
            CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, doc TEXT NOT NULL);
            CREATE TABLE deliveries (id TEXT PRIMARY KEY, event_id TEXT NOT NULL,
                webhook_id TEXT NOT NULL, status TEXT NOT NULL, doc TEXT NOT NULL,
                body BLOB NOT NULL);
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            PRAGMA user_version = 1;
            """
        )
        attempt = {
            "number": 1, "at": "2026-01-01T00:00:00+00:00", "statusCode": 200, "error": None,
            "duration": 0.01, "message": None, "responseExcerpt": "ok",
            "trigger": "scheduled", "signature": "sha256=" + "0" * 64,
        }  # fmt: skip
        doc = {
            "id": "del_old", "eventId": "evt_old", "eventType": "box.created",
            "webhookId": "wh_old", "createdAt": "2026-01-01T00:00:00+00:00",
            "status": "succeeded", "attempts": [attempt], "nextAttemptAt": None,
            "faults": Faults().to_dict(), "policy": RetryPolicy().to_seconds(),
            "duplicateOf": None,
        }  # fmt: skip
        old.execute(
            "INSERT INTO deliveries VALUES ('del_old', 'evt_old', 'wh_old', 'succeeded', ?, ?)",
            (json.dumps(doc), b"{}"),
        )
    old.close()
    store = SQLiteStore(path)
    try:
        [delivery] = store.list_deliveries()
        assert delivery.attempts[0].signature == "sha256=" + "0" * 64
        assert delivery.attempts[0].request is None  # not recorded back then: not invented
    finally:
        store.close()
    with sqlite3.connect(path) as migrated:
        columns = {row[1] for row in migrated.execute("PRAGMA table_info(deliveries)")}
        assert "sent_body" in columns
        assert migrated.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    migrated.close()


def test_each_webhooks_copy_of_an_event_is_reachable() -> None:
    first, second = Received(), Received()
    with LMIFServer(seed=10) as server:
        one = server.webhooks.create(_wsgi_receiver(first), ["*"], secret=SECRET)
        two = server.webhooks.create(_wsgi_receiver(second), ["*"], secret=SECRET)
        event = server.emit("box.created", DATA)
        copies = server.event_copies(event.id)
        assert list(copies) == [one.id, two.id]
        assert event.body == copies[one.id].body == first.requests[0][1]  # emit: the first one
        assert copies[two.id].body == second.requests[0][1] != event.body
        assert server.event_copy(event.id, two.id).webhook_id == two.id
        api = Client(server.url, server.api_key)
        shown = api.call("GET", f"/v1/lmif/events/{event.id}").data
        assert {c["webhookId"]: c["envelope"] for c in shown["copies"]} == {
            webhook_id: json.loads(copy.body) for webhook_id, copy in copies.items()
        }
        with pytest.raises(LookupError):
            server.event_copy(event.id, "wh_nobody")
        with pytest.raises(LookupError):
            server.event_copies("evt_nothing")


def test_dashboard_shows_each_attempts_sent_body_and_signature() -> None:
    received = Received()
    with _fake(seed=11, retry_policy=RetryPolicy(delays=[0, 0])) as fake:
        fake.webhooks.create(_wsgi_receiver(received, "500 No"), ["*"], secret=SECRET)
        event = fake.emit("box.created", DATA, faults=Faults(layout="ascii"))
        fake.clock.advance(seconds=1)
        client = WSGIClient(API(fake, "lmif_test_wire"))
        log_in(client, "lmif_test_wire")
        page = client.get(f"/dashboard/events/{event.id}").get_data(as_text=True)
    bodies = [html.unescape(b) for b in re.findall(r"<pre class=sent-body>(.*?)</pre>", page, re.S)]
    signatures = re.findall(r"<code class=signature>X-LMIF-Signature: (.*?)</code>", page)
    assert [b.encode("utf-8") for b in bodies] == [body for _, body in received.requests]
    assert signatures == [headers["x-lmif-signature"] for headers, _ in received.requests]
    assert all(verify(b, s, SECRET) for b, s in zip(bodies, signatures, strict=True))
    assert page.count("NOT the payload above") == 2  # the layout changed the bytes sent


@pytest.mark.parametrize("body", [b'{"a":"\xc3\xa9"}', b"\xff\xfe{}"])
def test_the_api_shows_a_sent_body_as_a_transcript_does(body: bytes) -> None:
    """Exactly one of ``body`` and ``bodyBase64``, meaning what they mean in a transcript: the
    transcript reader gets the exact bytes back from what the API shows."""
    shown = sent_request_json(SentRequest(body, None))
    assert shown is not None
    assert len({"body", "bodyBase64"} & set(shown)) == 1
    attempt = {"number": 1, "at": "2024-01-15T10:00:00Z", "sent": True, "request": shown}
    transcript = {"deliveries": [{"id": "dlv_1", "eventId": "evt_1", "attempts": [attempt]}]}
    [recorded] = requests_of(transcript)
    assert recorded.body == body
