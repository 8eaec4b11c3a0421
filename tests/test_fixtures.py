"""The committed fixtures are what the code generates, and the check notices drift."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema

from lmif_mock import EVENT_TYPES, sign, verify
from lmif_mock.fixture_files import check, write

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_committed_fixtures_match_the_code() -> None:
    assert check(FIXTURES) == []


def test_cli_check_passes_and_fails(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "lmif_mock", "fixtures", "--check", "--dir", str(FIXTURES)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, copy)
    (copy / "events" / "box.created.json").write_text("{}\n")
    (copy / "events" / "box.stale.json").write_text("{}\n")
    (copy / "signatures.json").unlink()
    bad = subprocess.run(
        [sys.executable, "-m", "lmif_mock", "fixtures", "--check", "--dir", str(copy)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "events/box.created.json: differs" in bad.stderr
    assert "events/box.stale.json: not produced by the code" in bad.stderr
    assert "signatures.json: missing" in bad.stderr


def test_write_regenerates_what_check_wants(tmp_path: Path) -> None:
    assert len(write(tmp_path)) == len(EVENT_TYPES) * 2 + 2
    assert check(tmp_path) == []
    assert write(tmp_path) == []


def test_sample_events_validate_against_their_schemas() -> None:
    for event_type in EVENT_TYPES:
        sample = json.loads((FIXTURES / "events" / f"{event_type}.json").read_text("utf-8"))
        schema = json.loads((FIXTURES / "schemas" / f"{event_type}.json").read_text("utf-8"))
        jsonschema.validate(sample, schema)
        jsonschema.validate(
            sample, json.loads((FIXTURES / "schemas" / "envelope.json").read_text())
        )


def test_signature_vectors_hold_and_cover_the_hard_cases() -> None:
    vectors = json.loads((FIXTURES / "signatures.json").read_text("utf-8"))["vectors"]
    names = {v["name"] for v in vectors}
    assert {"unicode", "empty data", "large payload", "empty body", "truncated"} <= names
    assert any(len(v["payload"]) > 100_000 for v in vectors)
    assert any(any(ord(c) > 0xFFFF for c in v["payload"]) for v in vectors)
    for vector in vectors:
        assert (
            verify(vector["payload"], vector["signature"], vector["secret"]) is vector["valid"]
        ), vector["name"]
        if vector["valid"]:
            assert sign(vector["payload"], vector["secret"]) == vector["signature"]
