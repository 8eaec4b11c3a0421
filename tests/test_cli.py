"""The command line, run as a user runs it: a subprocess with exit codes and output."""

from __future__ import annotations

import json
import os
import shlex
import socket
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from lmif_mock import EVENT_TYPES, LMIFServer, sign
from lmif_mock.clock import DEFAULT_START
from lmif_mock.events import Event
from lmif_mock.sqlite_store import SQLiteStore
from tests.processes import running


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,  # a command that should exit but serves instead fails, never hangs the suite
    )


def test_events_lists_the_catalogue() -> None:
    out = run("events")
    assert out.returncode == 0
    listed = [line.strip() for line in out.stdout.decode().splitlines() if line.startswith("  ")]
    assert listed == list(EVENT_TYPES)


def test_events_show_prints_a_sample_envelope() -> None:
    out = run("events", "show", "grace_period.started", "--seed", "3")
    assert out.returncode == 0
    envelope = json.loads(out.stdout)
    assert envelope["type"] == "grace_period.started"
    assert envelope["data"]["gracePeriodId"].startswith("gp_")
    assert run("events", "show", "grace_period.started", "--seed", "3").stdout == out.stdout


def test_events_show_unknown_type_is_a_usage_error() -> None:
    out = run("events", "show", "box.exploded")
    assert out.returncode == 2
    assert b"unknown event type 'box.exploded'" in out.stderr


def test_sign_and_verify() -> None:
    body = '{"id":"evt_1","name":"Beyoncé"}'
    out = run("sign", "--secret", "s3", "--payload", body)
    assert out.stdout.decode().strip() == sign(body, "s3")
    header = run("sign", "--secret", "s3", "--payload", body, "--header")
    assert header.stdout.decode().strip() == f"X-LMIF-Signature: {sign(body, 's3')}"
    ok = run("verify", "--secret", "old", "--secret", "s3", "--signature", sign(body, "s3"),
             stdin=body.encode())  # fmt: skip
    assert (ok.returncode, ok.stdout.strip()) == (0, b"valid")


def test_sign_and_verify_compose_in_a_shell(tmp_path: Path) -> None:
    (tmp_path / "body.json").write_bytes(b'{"id":"evt_1","type":"box.created"}')
    cli = f"{shlex.quote(sys.executable)} -m lmif_mock"
    script = (
        f'sig="$({cli} sign --secret my-secret --file body.json)" && '
        f'{cli} verify --secret my-secret --signature "$sig" --file body.json'
    )
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, b"valid"), done.stderr


BODY = '{"id":"evt_1","type":"box.created","data":{"name":"Beyoncé"}}'
GOOD = sign(BODY, "s3")


@pytest.mark.parametrize(
    ("signature", "body", "reason"),
    [
        (f"X-LMIF-Signature: {GOOD}", BODY, "a whole header line; give only its value"),
        ("sha1=" + GOOD[7:], BODY, "starts with 'sha256=', this one with 'sha1=ab'"[:40]),
        (GOOD[:-2], BODY, "has 62 characters, not 64"),
        (GOOD.upper().replace("SHA256=", "sha256="), BODY, "lowercase hex (this one is uppercase)"),
        (GOOD, BODY + "\n", "matches it without its trailing newline"),
        (GOOD, json.dumps(json.loads(BODY)), "matches it re-serialised (compact, non-ASCII kept)"),
        (sign(BODY, "other-secret"), BODY, "wrong secret, or the body is not the exact bytes"),
    ],
    ids=["header-line", "prefix", "length", "uppercase", "newline", "reserialised", "secret"],
)
def test_verify_says_why_a_signature_is_invalid(signature: str, body: str, reason: str) -> None:
    out = run("verify", "--secret", "s3", "--signature", signature, "--payload", body)
    assert out.returncode == 1
    text = out.stdout.decode().strip()
    assert text.startswith("invalid: ")
    assert reason in text, text


def test_sign_and_verify_with_an_unreadable_file_are_usage_errors(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    for command in (("sign",), ("verify", "--signature", GOOD)):
        out = run(*command, "--secret", "s3", "--file", missing)
        assert out.returncode == 2
        assert (
            out.stderr.decode().strip()
            == f"error: cannot read --file {missing}: No such file or directory"
        )


def test_help_works_for_every_command() -> None:
    for command in ("events", "sign", "verify", "fixtures"):
        out = run(command, "--help")
        assert out.returncode == 0
        assert b"usage:" in out.stdout


def assert_one_line_error(out: subprocess.CompletedProcess[bytes], code: int, *needles: str) -> str:
    err = out.stderr.decode()
    assert out.returncode == code, err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]
    for needle in needles:
        assert needle in last, last
    return last


@pytest.mark.parametrize(
    ("option", "value", "needle"),
    [
        ("--port", "-1", "-1 is not a port (0-65535"),
        ("--port", "99999", "99999 is not a port (0-65535"),
        ("--port", "http", "'http' is not a port number"),
        ("--time-scale", "nan", "nan is not a speed-up"),
        ("--time-scale", "inf", "inf is not a speed-up"),
        ("--time-scale", "0", "0 is not a speed-up"),
        ("--time-scale", "-5", "-5 is not a speed-up"),
    ],
)
def test_serve_refuses_impossible_options_as_usage_errors(
    option: str, value: str, needle: str
) -> None:
    out = run("serve", option, value)
    assert_one_line_error(out, 2, f"argument {option}: {needle}")


def test_serve_says_plainly_that_a_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        for command in (("serve",), ("listen", "--secret", "s")):
            out = run(*command, "--port", str(port))
            line = assert_one_line_error(out, 1, f"port {port} on 127.0.0.1 is already in use")
            assert out.stderr.decode().strip() == line  # nothing else printed


def test_serve_db_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "lmif.db"
    with running("serve", "--port", "0", "--db", str(db)) as process:
        process.wait_for(r"API docs")
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()} == {
            "lmif.db": 0o600, "lmif.db-wal": 0o600
        }  # fmt: skip


def _unusable_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = tmp_path / "good.db"
    store = SQLiteStore(good)
    for n in range(200):
        store.add_event(Event(f"evt_{n}", "box.created", DEFAULT_START, {"text": "x" * 500}))
    store.close()
    files = {
        "corrupt": (tmp_path / "corrupt.db", "is not an SQLite database or is damaged"),
        "truncated": (tmp_path / "truncated.db", "damaged"),
        "directory": (tmp_path / "dir.db", "is a directory"),
        "older": (tmp_path / "older.db", "an lmif-mock layout that cannot be migrated"),
        "newer": (tmp_path / "newer.db", "written by a newer lmif-mock"),
    }
    files["corrupt"][0].write_bytes(b"definitely not SQLite " * 500)
    files["truncated"][0].write_bytes(good.read_bytes()[:30_000])
    files["directory"][0].mkdir()
    with closing(sqlite3.connect(files["older"][0])) as older:
        older.executescript(
            "CREATE TABLE webhooks (id TEXT PRIMARY KEY); CREATE TABLE meta (key, value);"
        )
    with closing(sqlite3.connect(files["newer"][0])) as newer:
        newer.execute("PRAGMA user_version = 99")
    return files


def test_serve_refuses_unusable_db_files_in_one_line(tmp_path: Path) -> None:
    for kind, (path, needle) in _unusable_files(tmp_path).items():
        out = run("serve", "--port", "0", "--db", str(path))
        line = assert_one_line_error(out, 2, f"error: --db: {path}", needle)
        assert out.stderr.decode().strip() == line, kind


def test_serve_refuses_a_read_only_db_file(tmp_path: Path) -> None:
    """Root writes through permission bits, so as root the file sits on a read-only bind mount
    (in a user and mount namespace of the test's own); otherwise it is simply chmod 0400."""
    path = tmp_path / "lmif.db"
    SQLiteStore(path).close()
    command = [sys.executable, "-m", "lmif_mock", "serve", "--port", "0", "--db", str(path)]
    if os.geteuid() == 0:
        remount = f"mount --bind {tmp_path} {tmp_path} && mount -o remount,ro,bind {tmp_path}"
        command = ["unshare", "-rm", "sh", "-c", f'{remount} && exec "$@"', "sh", *command]
    else:
        path.chmod(0o400)
    out = subprocess.run(command, capture_output=True, check=False, timeout=60)
    line = assert_one_line_error(out, 2, f"error: --db: {path} is read-only")
    assert out.stderr.decode().strip() == line


_DEEP = '{"a":' * 40 + "1" + "}" * 40


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        (("--data", '{"x":NaN}'), "data.x: nan is not a JSON number"),
        (("--data", '{"x":Infinity}'), "data.x: inf is not a JSON number"),
        (("--data", '{"x":1e400}'), "data.x: inf is not a JSON number"),
        (("--data", '{"x":"\\ud800"}'), "data.x: not valid Unicode text"),
        (("--set", "x=NaN"), "data.x: nan is not a JSON number"),
        (("--set", "x=1e400"), "data.x: inf is not a JSON number"),
        (("--data", _DEEP), "nested deeper than 32 levels"),
        (("--data", "[" * 20_000 + "]" * 20_000), "nested deeper than 32 levels"),
    ],
)
def test_trigger_to_refuses_data_the_wire_cannot_carry_in_one_line(
    options: tuple[str, str], needle: str
) -> None:
    # Port 9 (discard) on loopback: nothing may be sent, so nothing needs to listen there.
    for mode in (("--to", "http://127.0.0.1:9/webhooks/lmif", "--secret", "s"),
                 ("--server", "http://127.0.0.1:9", "--api-key", "k")):  # fmt: skip
        out = run("trigger", "box.created", *mode, *options)
        assert_one_line_error(out, 2, needle)


def test_trigger_server_refusals_of_the_input_are_usage_errors_with_details() -> None:
    with LMIFServer() as server:
        where = ("--server", server.url, "--api-key", server.api_key)
        out = run("trigger", "", "--allow-unknown", *where)
        assert_one_line_error(out, 2, "type: must be a non-empty string")
        wrong_key = run("trigger", "box.created", "--server", server.url, "--api-key", "nope")
        assert_one_line_error(wrong_key, 1)  # not the user's data: a failure, not a usage error
        assert server.api.fake.events() == []


@pytest.mark.parametrize(
    "command",
    [("trigger", "box.created"), ("wait", "--idle"), ("wait", "--event", "evt_1"),
     ("retry", "dlv_1"), ("scenario", "licensed-in-time")],
)  # fmt: skip
def test_every_control_command_fails_alike_when_the_fake_cannot_be_reached(
    command: tuple[str, ...],
) -> None:
    """Not reaching the fake is a failure (1), not a usage error (2), whichever command it is."""
    nothing_there = "http://127.0.0.1:1"
    out = run(*command, "--server", nothing_there, "--api-key", "k")
    assert_one_line_error(out, 1, "error: cannot reach", nothing_there)


def test_trigger_with_a_fault_it_cannot_apply_is_a_one_line_usage_error() -> None:
    why = "previous_secret needs a webhook whose secret has been rotated"
    straight = run("trigger", "box.created", "--to", "http://127.0.0.1:9/x", "--secret", "S",
                   "--signature-fault", "previous_secret")  # fmt: skip
    assert_one_line_error(straight, 2, why)
    with LMIFServer() as server:
        server.webhooks.create(url="http://127.0.0.1:9/x", events=["*"])
        where = ("--server", server.url, "--api-key", server.api_key)
        through = run("trigger", "box.created", *where, "--signature-fault", "previous_secret")
        line = assert_one_line_error(through, 2, "previous_secret needs rotated webhooks")
        assert line.count("previous_secret") == 1, (
            line
        )  # said once, not again as the detail of "body"


def test_fixtures_into_a_directory_that_cannot_be_made_is_a_one_line_usage_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = run("fixtures", "--dir", str(blocker / "fixtures"))
    assert_one_line_error(out, 2, "error: cannot write fixtures under", str(blocker))


def _listened(body: bytes, path: str = "/webhooks/lmif", print_body: bool = False) -> str:
    from io import StringIO

    from werkzeug.test import Client

    from lmif_mock.commands.listen import receiver

    out = StringIO()
    Client(receiver(["s"], out, print_body=print_body)).post(path, data=body)
    return out.getvalue()


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b'{"hello": 1}', "BAD (JSON object without type or id) - signature MISSING"),
        (b'{"type": "box.created"}', "BAD box.created (no id) - signature MISSING"),
        (b"[1, 2]", "BAD (JSON, but not an object) - signature MISSING"),
        (b"nope", "BAD (not JSON) - signature MISSING"),
        (b'{"type": "x\\u001b[2J", "id": "evt_\\u0000"}', r"BAD x\x1b[2J evt_\x00 - signature"),
    ],
)
def test_listen_says_what_arrived_instead_of_none(body: bytes, shown: str) -> None:
    printed = _listened(body)
    assert printed.startswith(shown), printed
    assert "None" not in printed
    assert "\x1b" not in printed
    assert "\x00" not in printed


def test_listen_escapes_control_characters_in_paths_and_bodies() -> None:
    assert "\x1b" not in _listened(b"{}", path="/x%1b]0;PWNED%07")
    printed = _listened(b'{\n\t"type": "a\x1b[2J\x07"\n}', print_body=True)
    assert "\x1b" not in printed
    assert "\x07" not in printed
    assert '{\n\t"type": "a\\x1b[2J\\x07"\n}' in printed  # escaped; lines and tabs kept


def test_retry_of_a_succeeded_delivery_resends_it_like_a_stripe_resend() -> None:
    """Documented in the README: the same bytes once more; the status follows that attempt."""
    from tests.receivers import Recorder

    receiver = Recorder([200, 200, 500])
    with LMIFServer() as server:
        server.webhooks.create(url=receiver, events=["*"])
        server.emit("box.created")
        [delivery] = server.api.fake.deliveries()
        assert delivery.status == "succeeded"
        where = ("--server", server.url, "--api-key", server.api_key)
        again = run("retry", delivery.id, *where)
        assert again.returncode == 0, again.stderr
        assert f"{delivery.id} succeeded: attempt 2 got 200" in again.stdout.decode()
        assert receiver.bodies[1] == receiver.bodies[0]  # the same event, the same bytes
        failing = run("retry", delivery.id, *where)
        assert failing.returncode == 1
        assert f"{delivery.id} failed: attempt 3 got 500" in failing.stdout.decode()
        [settled] = server.api.fake.deliveries()
        assert [a.trigger for a in settled.attempts] == ["scheduled", "manual", "manual"]
        assert settled.next_attempt_at is None  # a manual attempt schedules no retries


@pytest.mark.parametrize(
    "hostile", ["../../../_mock/reset?", "../../webhooks", "dlv_1/../../x", "a?b#c"]
)
def test_retry_names_a_delivery_and_never_another_route(hostile: str) -> None:
    """The id is sent percent-encoded whole: ``../../../_mock/reset?`` once reset the fake (then
    died with a traceback on the answer it did not expect)."""
    from tests.receivers import Recorder

    with LMIFServer() as server:
        server.webhooks.create(url=Recorder(), events=["*"])
        server.emit("box.created")
        refused = run("retry", hostile, "--server", server.url, "--api-key", server.api_key)
        assert refused.returncode == 2, refused.stderr
        said = refused.stderr.decode()
        assert said == f"error: {hostile!r} is not a delivery id (dlv_...)\n"
        assert len(server.deliveries()) == 1  # nothing reset, nothing retried
        assert len(server.webhooks.list()) == 1
        unknown = run("retry", "dlv_nope", "--server", server.url, "--api-key", server.api_key)
        assert unknown.returncode == 1  # a well-formed id the fake does not know: its 404
        assert unknown.stderr.decode().count("\n") == 1


def _run_with_env(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LMIF_MOCK_")}
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", *args],
        env={**clean, **env}, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    "command", [("wait", "--idle"), ("retry", "dlv_1"), ("scenario", "licensed-in-time")]
)
def test_commands_that_need_a_running_fake_take_server_and_key_alike(
    command: tuple[str, ...],
) -> None:
    missing = _run_with_env({}, *command)
    assert missing.returncode == 2
    assert "give --server and --api-key (or $LMIF_MOCK_URL, $LMIF_MOCK_API_KEY)" in missing.stderr
    no_key = _run_with_env({}, *command, "--server", "http://127.0.0.1:9")
    assert no_key.returncode == 2
    assert "give --server and --api-key" in no_key.stderr
    # From the environment instead: the command goes on to the (closed) port it was given there.
    unreachable = "http://127.0.0.1:9"
    from_env = _run_with_env({"LMIF_MOCK_URL": unreachable, "LMIF_MOCK_API_KEY": "k"}, *command)
    assert from_env.returncode == 1
    assert "give --server" not in from_env.stderr
    assert unreachable in from_env.stderr
    assert "--server" in _run_with_env({}, *command[:1], "--help").stdout


def test_trigger_reads_its_server_from_the_environment_like_the_other_commands() -> None:
    out = _run_with_env({"LMIF_MOCK_URL": "http://127.0.0.1:9"}, "trigger", "box.created")
    assert out.returncode == 2
    assert "--api-key (or $LMIF_MOCK_API_KEY) is required with --server" in out.stderr
