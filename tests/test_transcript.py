"""Transcripts: stable under a seed, the exact bytes sent, replayed to WSGI/ASGI/URL targets, from
Python, over ``GET /_mock/transcript`` (curl), the CLI and the dashboard download."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from lmif_mock import FakeLMIF, LMIFServer, replay, verify
from lmif_mock.http.app import API
from lmif_mock.transcript import TranscriptError, dumps, load
from tests.dashboard_login import log_in
from tests.receivers import Recorder, wsgi_server

SECRET = "lmif_whsec_transcript_tests"
ROOT = Path(__file__).resolve().parent.parent


def _run(seed: int, receiver: Callable[..., Any]) -> FakeLMIF:
    fake = FakeLMIF(seed=seed)
    fake.webhooks.create(url=receiver, events=["*"], secret=SECRET, path="/hooks/lmif")
    fake.emit("box.created", faults={"duplicates": 1})
    fake.emit("violation.detected", faults={"layout": "pretty"})
    fake.emit("license.approved", faults={"signature": "tampered_body"})
    fake.clock.advance(minutes=1)
    return fake


def test_the_same_seed_gives_the_same_transcript_byte_for_byte() -> None:
    first = dumps(_run(7, Recorder([500, 200, 200, 200])).transcript())
    second = dumps(_run(7, Recorder([500, 200, 200, 200])).transcript())
    other = dumps(_run(8, Recorder([500, 200, 200, 200])).transcript())
    assert first == second
    assert first != other
    assert "durationMs" not in first  # wall-clock noise is left out


def test_the_transcript_holds_the_exact_requests_and_answers() -> None:
    receiver = Recorder([500])
    fake = _run(1, receiver)
    transcript = fake.transcript()
    sent = [
        (attempt["request"]["body"].encode(), attempt["request"]["headers"])
        for delivery in transcript["deliveries"]
        for attempt in delivery["attempts"]
    ]
    # Same bytes and headers as the receiver got (order aside: a retry comes a minute later).
    received = sorted(
        (body, request.headers.get("X-LMIF-Signature"))
        for body, request in zip(receiver.bodies, receiver.requests, strict=True)
    )
    assert sorted((body, h["X-LMIF-Signature"]) for body, h in sent) == received
    first = transcript["deliveries"][0]
    assert [a["response"]["statusCode"] for a in first["attempts"]] == [500, 200]
    assert first["attempts"][0]["error"] == "http_error"
    pretty = next(d for d in transcript["deliveries"] if d["eventType"] == "violation.detected")
    assert pretty["attempts"][0]["request"]["body"].startswith("{\n  ")
    tampered = next(d for d in transcript["deliveries"] if d["eventType"] == "license.approved")
    request = tampered["attempts"][0]["request"]
    assert not verify(request["body"], request["headers"]["X-LMIF-Signature"], SECRET)
    assert verify(pretty["attempts"][0]["request"]["body"],
                  pretty["attempts"][0]["request"]["headers"]["X-LMIF-Signature"], SECRET)  # fmt: skip
    assert SECRET not in dumps(transcript)


def test_replay_to_a_wsgi_app_sends_the_recorded_requests_in_order() -> None:
    original = Recorder([500])
    transcript = _run(2, original).transcript()
    again = Recorder()
    results = replay(transcript, again)
    assert [r.status_code for r in results] == [200] * len(original.bodies)
    assert again.bodies == original.bodies  # same bytes, same order
    assert [r.headers["X-LMIF-Signature"] for r in again.requests] == [
        r.headers["X-LMIF-Signature"] for r in original.requests
    ]
    assert {r.path for r in again.requests} == {"/hooks/lmif"}
    assert [r.same_status for r in results][:2] == [False, True]  # recorded 500, then 200


def test_replay_to_an_asgi_app_and_a_url() -> None:
    transcript = _run(3, Recorder()).transcript()
    bodies: list[bytes] = []

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        bodies.append(message["body"])
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    results = replay(transcript, asgi_app, path="/other")
    assert [r.status_code for r in results] == [202] * len(results)
    assert len(bodies) == len(results) == 4  # three events, one of them sent twice
    over_http = Recorder([204] * 4)
    with wsgi_server(over_http) as url:
        answered = replay(json.dumps(transcript), url + "/in")
    assert [r.status_code for r in answered] == [204] * 4
    assert over_http.bodies == bodies


def test_replay_refuses_bad_transcripts_and_hosts(tmp_path: Path) -> None:
    transcript = _run(4, Recorder()).transcript()
    with pytest.raises(TranscriptError, match="not allowed"):
        replay(transcript, "http://192.0.2.1/hook")  # never contacted: refused by the policy
    with pytest.raises(TranscriptError, match="not a transcript"):
        replay({"format": "other"}, Recorder())
    with pytest.raises(TranscriptError, match="not JSON"):
        load("{nope")
    with pytest.raises(TranscriptError, match="cannot read"):
        load(tmp_path / "missing.json")
    broken = {
        **transcript,
        "deliveries": [{"id": "dlv_1", "attempts": [{"sent": True, "request": {"headers": "x"}}]}],
    }
    with pytest.raises(TranscriptError, match="malformed"):
        replay(broken, Recorder())


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", *args],
        input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_transcript_over_http_then_replayed_by_the_cli(tmp_path: Path) -> None:
    with LMIFServer() as server:
        server.webhooks.create(url=Recorder([500]), events=["*"], secret=SECRET)
        server.emit("grace_period.started")
        server.clock.advance(minutes=1)
        fetched = subprocess.run(
            ["curl", "-sS", "--max-time", "60", "-H", f"Authorization: Bearer {server.api_key}",
             server.url + "/_mock/transcript"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        transcript = json.loads(fetched.stdout)["data"]
        assert transcript == server.transcript()
    path = tmp_path / "run.json"
    path.write_text(dumps(transcript), "utf-8")
    target = Recorder([200, 500, 500, 200])
    with wsgi_server(target) as url:
        done = _cli("replay", str(path), "--to", url + "/hook")
        assert done.returncode == 1, done.stdout + done.stderr  # the 2nd answer is a 500
        assert "replayed 2 request(s); 1 not 2xx" in done.stdout
        recorded = _cli("replay", "-", "--to", url + "/hook", "--expect", "recorded",
                        stdin=path.read_text("utf-8"))  # fmt: skip
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr  # 500 then 200 again
    sent = [a["request"]["body"].encode() for a in transcript["deliveries"][0]["attempts"]]
    assert target.bodies == sent * 2
    refused = _cli("replay", str(path), "--to", "http://192.0.2.1/hook")
    assert refused.returncode == 2
    assert "not allowed" in refused.stderr
    unreadable = _cli("replay", str(tmp_path / "missing.json"), "--to", "http://127.0.0.1:9/")
    assert unreadable.returncode == 2


def test_the_dashboard_downloads_the_transcript() -> None:
    fake = _run(5, Recorder())
    client = Client(API(fake, "lmif_test_dashboard"))
    assert client.get("/dashboard/transcript.json").status_code == 303  # login first
    log_in(client, "lmif_test_dashboard")
    page = client.get("/dashboard/")
    assert 'href="/dashboard/transcript.json"' in page.get_data(as_text=True)
    download = client.get("/dashboard/transcript.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert json.loads(download.get_data()) == fake.transcript()


def test_curl_saved_transcript_replays_with_the_cli_as_the_readme_says(tmp_path: Path) -> None:
    """README: record with ``GET /_mock/transcript``, replay with ``replay FILE --to URL``."""
    saved = tmp_path / "t.json"
    with LMIFServer() as server:
        server.webhooks.create(url=Recorder(), events=["*"], secret=SECRET)
        server.emit("box.created")
        subprocess.run(
            ["curl", "-sS", "--fail", "--max-time", "60", "-o", str(saved),
             "-H", f"Authorization: Bearer {server.api_key}", server.url + "/_mock/transcript"],
            check=True, capture_output=True,
        )  # fmt: skip
    target = Recorder()
    with wsgi_server(target) as url:
        done = _cli("replay", str(saved), "--to", url + "/hook")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed 1 request(s); 0 not 2xx" in done.stdout
    assert len(target.bodies) == 1
    assert json.loads(target.bodies[0])["type"] == "box.created"


def test_url_webhooks_record_their_real_path_and_replay_to_an_app_routed_there(
    tmp_path: Path,
) -> None:
    original = Recorder()
    with wsgi_server(original) as url:
        fake = FakeLMIF(seed=9)
        fake.webhooks.create(url=url + "/webhooks/lmif?src=lmif", events=["*"], secret=SECRET)
        event = fake.emit("box.created")
    transcript = fake.transcript()
    assert transcript["webhooks"][0]["path"] == "/webhooks/lmif?src=lmif"
    request = transcript["deliveries"][0]["attempts"][0]["request"]
    assert request["path"] == "/webhooks/lmif?src=lmif"
    # The event's time as the envelope writes it, not with microseconds.
    envelope = json.loads(original.bodies[0])
    assert transcript["events"][0]["createdAt"] == envelope["createdAt"]
    assert transcript["events"][0]["id"] == event.id
    saved = tmp_path / "run.json"
    saved.write_text(dumps(transcript), "utf-8")
    app = Recorder()
    results = replay(str(saved), app)  # a str path is a file, not JSON text
    assert [r.status_code for r in results] == [200]
    assert [(r.path, r.query_string) for r in app.requests] == [("/webhooks/lmif", b"src=lmif")]
    with pytest.raises(TranscriptError, match="cannot read"):
        replay(str(tmp_path / "missing.json"), app)


@pytest.mark.parametrize(
    ("name", "value"),
    [("User-Agent", "lmif\r\nX-Injected: 1"), ("X-Null", "a\x00b"), ("Bad Name", "x")],
)
def test_a_header_that_cannot_go_on_the_wire_is_refused_before_connecting(
    tmp_path: Path, name: str, value: str
) -> None:
    transcript = _run(5, Recorder()).transcript()
    first = transcript["deliveries"][0]["attempts"][0]["request"]
    first["headers"][name] = value
    receiver = Recorder()
    with wsgi_server(receiver) as url:
        results = replay(transcript, url + "/in")
        assert results[0].status_code is None
        assert results[0].error == "invalid_request"
        assert "not sent" in str(results[0].message)
        assert [r.status_code for r in results[1:]] == [200] * (len(results) - 1)
        assert len(receiver.bodies) == len(results) - 1  # the refused one never left
        saved = tmp_path / "t.json"
        saved.write_text(json.dumps(transcript))
        out = _cli("replay", str(saved), "--to", url + "/in")
    assert out.returncode == 1
    assert "invalid_request (header" in out.stdout
    assert "connection_error" not in out.stdout
