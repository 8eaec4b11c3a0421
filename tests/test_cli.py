"""The command line, run as a user runs it: a subprocess with exit codes and output."""

from __future__ import annotations

import json
import subprocess
import sys

from lmif_mock import EVENT_TYPES, sign


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", *args], input=stdin, capture_output=True, check=False
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
    assert out.stdout.decode().strip() == f"X-LMIF-Signature: {sign(body, 's3')}"
    ok = run("verify", "--secret", "old", "--secret", "s3", "--signature", sign(body, "s3"),
             stdin=body.encode())  # fmt: skip
    assert (ok.returncode, ok.stdout.strip()) == (0, b"valid")
    bad = run("verify", "--secret", "s3", "--signature", "sha256=00", "--payload", body)
    assert (bad.returncode, bad.stdout.strip()) == (1, b"invalid")


def test_help_works_for_every_command() -> None:
    for command in ("events", "sign", "verify", "fixtures"):
        out = run(command, "--help")
        assert out.returncode == 0
        assert b"usage:" in out.stdout
