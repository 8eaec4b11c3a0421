"""The provider's own Node.js verification code agrees with our signatures, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
VECTORS = HERE.parent / "fixtures" / "signatures.json"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("node is required under CI=true (it is on every project machine)")
        pytest.skip("node not installed")
    return node


def test_documented_node_verification_accepts_valid_and_rejects_invalid_vectors() -> None:
    out = subprocess.run(
        [_node(), str(HERE / "node" / "verify_vectors.js"), str(VECTORS)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    results = json.loads(out.stdout)
    vectors = json.loads(VECTORS.read_text("utf-8"))["vectors"]
    assert set(results) == {v["name"] for v in vectors}
    for vector in vectors:
        if vector["valid"]:
            assert results[vector["name"]] is True, vector["name"]
        else:
            assert results[vector["name"]] in (False, "threw"), vector["name"]
    # The documented code throws on a signature of the wrong length instead of returning false;
    # receivers that copy it answer 500 there. Keep a vector that shows it.
    assert results["truncated"] == "threw"
