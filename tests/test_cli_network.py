"""serve, trigger and listen as subprocesses: what a user in any language runs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import urllib3

from lmif_mock.timestamps import parse_timestamp
from tests.api_client import Client
from tests.processes import Running, running, served
from tests.receivers import Recorder, wsgi_server


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", *args], capture_output=True, text=True, timeout=timeout
    )


def test_serve_answers_with_its_printed_key_and_stops_cleanly() -> None:
    with served() as (process, url, key):
        client = Client(url, key)
        assert client.get("/_mock/health").body == {"status": "ok"}
        assert client.get("/v1/lmif/webhooks").status == 200
        assert Client(url, "lmif_test_wrong").get("/v1/lmif/webhooks").status == 401
        assert process.stop(signal.SIGTERM) == 0
    assert process.lines[-1] == "lmif-mock: stopped"


def test_serve_refuses_a_busy_port_and_bad_forward_urls() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = cli("serve", "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 1
    assert "is already in use" in busy.stderr
    bad = cli("serve", "--port", "0", "--forward-to", "http://192.0.2.1/hook")
    assert bad.returncode == 2
    assert "not allowed" in bad.stderr


def test_forward_to_and_trigger_through_the_server_reach_a_real_receiver() -> None:
    receiver = Recorder([500, 200])
    with (
        wsgi_server(receiver) as base,
        served("--forward-to", base + "/hook", "--secret", "fwd-secret", "--time-scale", "600") as (
            process,
            url,
            key,
        ),
    ):
        assert process.wait_for(r"webhook secret: (\S+)").group(1) == "fwd-secret"
        out = cli(
            *("trigger", "box.created", "--server", url, "--api-key", key),
            *("--set", "identityName=Ada Lovelace", "--set", "policyConfig.royaltyRate=0.5"),
        )
        assert out.returncode == 1, out.stderr  # first attempt got a 500
        assert "box.created evt_" in out.stdout
        process.wait_for(r"^<-- 500 POST")
        process.wait_for(r"^<-- 200 POST", timeout=30)  # the retry, a scaled minute later
    first, second = (json.loads(b) for b in receiver.bodies)
    assert first == second
    assert first["data"]["identityName"] == "Ada Lovelace"
    assert first["data"]["policyConfig"]["royaltyRate"] == 0.5
    from lmif_mock import verify

    assert verify(
        receiver.bodies[0], receiver.requests[0].headers["X-LMIF-Signature"], "fwd-secret"
    )


def test_trigger_count_duplicates_and_progress() -> None:
    receiver = Recorder()
    with (
        wsgi_server(receiver) as base,
        served("--forward-to", base + "/hook", "--quiet") as (_, url, key),
    ):
        out = cli("trigger", "license.approved", "--server", url, "--api-key", key,
                  "--count", "20", "--duplicates", "1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "20/20 sent" in out.stderr
    assert len(receiver.bodies) == 40


def test_trigger_usage_errors() -> None:
    assert cli("trigger", "box.exploded", "--server", "http://127.0.0.1:1").returncode == 2
    assert cli("trigger", "box.created").returncode == 2  # nowhere to send
    assert (
        cli("trigger", "box.created", "--to", "http://127.0.0.1:1/x").returncode == 2
    )  # no secret
    bad_set = cli(
        "trigger", "box.created", "--to", "http://127.0.0.1:1/x", "--secret", "s", "--set", "x"
    )
    assert bad_set.returncode == 2
    assert "PATH=VALUE" in bad_set.stderr
    remote = cli("trigger", "box.created", "--to", "http://198.51.100.7/x", "--secret", "s")
    assert remote.returncode == 2
    assert "not allowed" in remote.stderr
    unreachable = cli("trigger", "box.created", "--server", "http://127.0.0.1:1", "--api-key", "k")
    assert unreachable.returncode == 1


def test_trigger_straight_to_listen_which_verifies() -> None:
    with running("listen", "--port", "0", "--secret", "s3cret", "--path", "/hooks") as listener:
        url = listener.wait_for(r"listening on (\S+)").group(1)
        good = cli(
            "trigger",
            "grace_period.started",
            "--to",
            url,
            "--secret",
            "s3cret",
            "--duplicates",
            "1",
        )
        assert good.returncode == 0, good.stderr
        assert good.stdout.count("-> 200") == 2
        listener.wait_for(r"^ok  grace_period\.started evt_\w+ - signature valid")
        for fault, verdict in (("tampered_body", "INVALID"), ("missing", "MISSING")):
            bad = cli(
                "trigger",
                "box.created",
                "--to",
                url,
                "--secret",
                "s3cret",
                "--signature-fault",
                fault,
            )
            assert bad.returncode == 1
            assert "-> 401" in bad.stdout
            listener.wait_for(rf"^BAD box\.created evt_\w+ - signature {verdict}")
        wrong_path = cli(
            "trigger", "box.created", "--to", url.replace("/hooks", "/other"), "--secret", "s3cret"
        )
        assert "-> 404" in wrong_path.stdout


def _pending_after_first_attempt(client: Client, timeout: float = 20) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = client.get("/_mock/deliveries").data
        if found and found[0]["attempts"]:
            return dict(found[0])
        time.sleep(0.02)
    raise AssertionError("no attempt recorded")


def test_kill_9_mid_schedule_then_restart_keeps_everything(tmp_path: Path) -> None:
    db = str(tmp_path / "lmif.db")
    receiver = Recorder([500, 200])
    with wsgi_server(receiver) as base:
        # 20x: the 1-minute retry falls 3 s of real time later, room enough to kill -9 before it.
        options = ("--db", db, "--forward-to", base + "/hook", "--time-scale", "20")
        first = Running("serve", "--port", "0", *options)
        url = first.wait_for(r"fake LMIF API at (\S+)").group(1)
        key = first.wait_for(r"API key:\s+(\S+)").group(1)
        client = Client(url, key)
        emitted = client.post("/_mock/events", {"type": "violation.detected"})
        assert emitted.status == 201
        before = _pending_after_first_attempt(client)
        assert before["status"] == "pending"
        first.stop(signal.SIGKILL)  # no clean shutdown at all
        assert len(receiver.bodies) == 1

        second = Running("serve", "--port", "0", *options)
        try:
            second.wait_for(r"1 pending deliveries resumed")
            url = second.wait_for(r"fake LMIF API at (\S+)").group(1)
            assert second.wait_for(r"API key:\s+(\S+)").group(1) == key  # same key after restart
            client = Client(url, key)
            (after,) = client.get("/_mock/deliveries").data
            assert after["id"] == before["id"]
            assert after["attempts"] == before["attempts"]
            assert after["nextAttemptAt"] == before["nextAttemptAt"]
            assert client.get(f"/v1/lmif/events/{emitted.data['event']['id']}").status == 200
            second.wait_for(r"^<-- 200 POST", timeout=30)
            (done,) = client.get("/_mock/deliveries").data
        finally:
            second.stop()
    assert done["status"] == "succeeded"
    assert len(done["attempts"]) == 2
    due = parse_timestamp(str(before["nextAttemptAt"]))
    assert parse_timestamp(done["attempts"][1]["at"]) >= due  # the retry kept its due time
    assert len(set(receiver.bodies)) == 1  # the same bytes, before and after the crash


def test_scenario_command_plays_a_story_on_a_running_server() -> None:
    listed = cli("scenario", "--list")
    assert listed.returncode == 0
    assert "grace-period-expires" in listed.stdout
    receiver = Recorder()
    with wsgi_server(receiver) as base, served("--clock", "virtual", "--forward-to", base + "/hook",
                                               "--quiet") as (_, url, key):  # fmt: skip
        played = cli("scenario", "licensed-in-time", "--server", url, "--api-key", key)
        assert played.returncode == 0, played.stderr
        lines = played.stdout.splitlines()
        assert lines[-1].split()[1] == "grace_period.resolved"
        assert lines[0].split()[1] == "box.created"
        assert "license.approved" in played.stdout
        assert len(receiver.bodies) == len(lines)
        assert cli("scenario", "nope", "--server", url, "--api-key", key).returncode == 2
    assert cli("scenario", "grace-period-expires").returncode == 2  # no server given


def test_listen_defaults_to_the_readme_path_and_shows_every_request() -> None:
    with running("listen", "--port", "0", "--secret", "s3cret", "--print-body") as listener:
        url = listener.wait_for(r"listening on (\S+)").group(1)
        assert url.endswith("/webhooks/lmif")
        before = datetime.now(timezone.utc).replace(microsecond=0)
        sent = cli("trigger", "box.created", "--to", url, "--secret", "s3cret")
        after = datetime.now(timezone.utc)
        assert sent.returncode == 0, sent.stderr
        listener.wait_for(r"^ok  box\.created evt_\w+ - signature valid")
        body = json.loads(listener.wait_for(r'^\{"id".*').group(0))
        assert before <= parse_timestamp(body["createdAt"]) <= after  # stamped now, not 2024
        fixed = cli("trigger", "box.created", "--to", url, "--secret", "s3cret",
                    "--created-at", "2024-01-15T10:00:00Z")  # fmt: skip
        assert fixed.returncode == 0, fixed.stderr
        listener.wait_for(
            r'^\{"id":"evt_\w+","type":"box.created","createdAt":"2024-01-15T10:00:00Z"'
        )

        other = url.replace("/webhooks/lmif", "/hooks/lmif")
        wrong = cli("trigger", "box.created", "--to", other, "--secret", "s3cret")
        assert "-> 404" in wrong.stdout
        listener.wait_for(
            r"^\?\?\? POST /hooks/lmif - not the path listened on, /webhooks/lmif "
            r"\(start listen with --path /hooks/lmif\?\) \(answered 404\)"
        )
        assert urllib3.request("GET", url, retries=False).status == 405
        listener.wait_for(r"^\?\?\? GET /webhooks/lmif - events come as POST \(answered 405\)")


def test_trigger_created_at_is_only_for_sending_straight() -> None:
    out = cli("trigger", "box.created", "--to", "http://127.0.0.1:1/x", "--secret", "s",
              "--created-at", "yesterday")  # fmt: skip
    assert out.returncode == 2
    assert "'yesterday' is not a timestamp like 2024-01-15T10:00:00Z" in out.stderr
    via = cli("trigger", "box.created", "--server", "http://127.0.0.1:1", "--api-key", "k",
              "--created-at", "2024-01-15T10:00:00Z")  # fmt: skip
    assert via.returncode == 2
    assert "--created-at goes with --to" in via.stderr


def test_serve_says_when_a_delivery_fails_for_good_and_how_to_retry_it() -> None:
    receiver = Recorder([500] * 7)
    with (
        wsgi_server(receiver) as base,
        served("--clock", "virtual", "--forward-to", base + "/hook") as (process, url, key),
    ):
        client = Client(url, key)
        event = client.post("/_mock/events", {"type": "box.created"}).data["event"]
        assert client.post("/_mock/clock/advance", {"hours": 35}).status == 200
        found = process.wait_for(r"^xxx (dlv_\w+) failed for good after 7 attempts; retry it with:")
        delivery = found.group(1)
        command = process.wait_for(r"^    (python -m lmif_mock retry .*)").group(1)
        link = process.wait_for(r"^    or the Retry button at (\S+)").group(1)
        assert link == f"{url}/dashboard/events/{event['id']}"
        assert [line for line in process.lines if line.startswith("xxx")] == [found.group(0)]
        argv = command.split()
        assert argv[:4] == ["python", "-m", "lmif_mock", "retry"]
        retried = cli(*argv[3:])  # the receiver answers 200 now
        assert retried.returncode == 0, retried.stderr
        assert retried.stdout.strip() == f"{delivery} succeeded: attempt 8 got 200"
        assert Client(url, key).get(f"/v1/lmif/deliveries/{delivery}").data["status"] == "succeeded"
        missing = cli("retry", "dlv_nope", "--server", url, "--api-key", key)
        assert missing.returncode == 1
        assert missing.stderr.startswith("error: ")
    assert len(receiver.bodies) == 8


def test_serve_with_no_webhook_prints_a_first_step_that_works() -> None:
    with served("--clock", "virtual") as (process, url, key):
        process.wait_for(r"no webhook yet")
        at = next(i for i, line in enumerate(process.lines) if "no webhook yet" in line)
        curl = "\n".join(line.strip() for line in process.lines[at + 1 : at + 3])
        trigger = process.lines[at + 3].strip()
        assert curl.startswith(f"curl -s {url}/v1/lmif/webhooks ")
        created = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, check=True)
        webhook = json.loads(created.stdout)["data"]
        assert webhook["url"] == "http://127.0.0.1:3000/webhooks/lmif"
        assert webhook["secret"].startswith("lmif_whsec_")
        assert trigger.startswith("python -m lmif_mock trigger box.created ")
        sent = cli(*trigger.split()[3:])
        assert "box.created evt_" in sent.stdout, sent.stderr
        assert Client(url, key).get(f"/v1/lmif/webhooks/{webhook['id']}/deliveries").data
    with wsgi_server(Recorder()) as base, served("--forward-to", base + "/hook") as (process, _, _):
        assert not any("no webhook yet" in line for line in process.lines)


class DbServer:
    """``serve --db`` started, killed with -9 and started again on the same file."""

    def __init__(self, db: Path, *options: str) -> None:
        self.args = ("serve", "--port", "0", "--db", str(db), "--quiet", *options)
        self.process: Running | None = None

    def start(self) -> tuple[str, str]:
        self.process = Running(*self.args)
        url = self.process.wait_for(r"fake LMIF API at (\S+)").group(1)
        key = self.process.wait_for(r"API key:\s+(\S+)").group(1)
        self.process.wait_for(r"API docs")
        return url, key

    def kill(self) -> None:
        assert self.process is not None
        self.process.stop(signal.SIGKILL)

    def __enter__(self) -> DbServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.process.poll() is None:
            self.process.stop(signal.SIGKILL)


def test_reset_on_a_db_server_keeps_its_key_and_clock(tmp_path: Path) -> None:
    with DbServer(tmp_path / "lmif.db", "--time-scale", "1000") as server:
        url, key = server.start()
        client = Client(url, key)
        before_reset = parse_timestamp(client.get("/_mock/clock").data["now"])
        assert client.post("/_mock/reset").status == 200
        server.kill()
        url, key_again = server.start()
        assert key_again == key
        client = Client(url, key)
        assert client.get("/v1/lmif/webhooks").status == 200  # the old key still works
        assert parse_timestamp(client.get("/_mock/clock").data["now"]) >= before_reset


def test_key_rotations_and_the_retry_policy_survive_a_restart(tmp_path: Path) -> None:
    policy = {"delays": [0.0, 5.0, 50.0], "timeout": 3.0}
    with DbServer(tmp_path / "lmif.db", "--clock", "virtual") as server:
        url, first = server.start()
        client = Client(url, first)
        second = client.post("/_mock/keys/rotate").data["apiKey"]
        assert client.call("PUT", "/_mock/retry-policy", policy).status == 200
        before_restart = Client(url, second).get("/_mock/retry-policy").data
        server.kill()

        url, printed = server.start()
        assert printed == second  # the current key is the rotated one
        assert Client(url, first).get("/v1/lmif/webhooks").status == 200  # in its 24 h grace
        assert Client(url, second).get("/_mock/retry-policy").data == policy
        assert Client(url, second).post("/_mock/keys/revoke", {"apiKey": first}).status == 200
        server.kill()

        url, _ = server.start()
        refused = Client(url, first).get("/v1/lmif/webhooks")
        assert (refused.status, refused.code) == (401, "KEY_REVOKED")
        assert Client(url, second).post("/_mock/reset").status == 200
        server.kill()

        url, printed = server.start()  # a reset puts the ring and the policy back to the start
        assert printed == first
        assert Client(url, first).get("/_mock/retry-policy").data != policy
        assert Client(url, first).get("/_mock/retry-policy").data == {
            "delays": [0.0, 60.0, 300.0, 1800.0, 7200.0, 28800.0, 86400.0],
            "timeout": 30.0,
        }
    assert before_restart == policy


def test_serve_console_escapes_control_characters_from_event_types() -> None:
    hostile = "\u001b]0;PWNED\u0007\u001b[2Jx.y\u0000<script>\u202e"
    receiver = Recorder()
    with (
        wsgi_server(receiver) as base,
        served("--forward-to", base + "/hook") as (process, url, key),
    ):
        sent = Client(url, key).post("/_mock/events", {"type": hostile, "allowUnknown": True})
        assert sent.status == 201, sent.body
        line = process.wait_for(r"^--> .*").group(0)
        process.wait_for(r"^<-- 200 POST")
    shown = "\n".join(process.lines)
    for raw in ("\u001b", "\u0007", "\u0000", "\u202e"):
        assert raw not in shown
    assert line.startswith(r"--> \x1b]0;PWNED\x07\x1b[2Jx.y\x00<script>\u202e evt_"), line
    assert json.loads(receiver.bodies[0])["type"] == hostile  # the wire keeps the real type
