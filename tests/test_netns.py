"""The allowlist against real sockets: a listener on a non-loopback address gets nothing.

Inside a network namespace of its own (``unshare -rn --mount``), ``tests/netns_probe.py`` puts
10.0.0.1 on the namespace's ``lo`` with a listener that counts connections, and sends every trick
at it (see that module). Outside CI a machine without user namespaces skips this; under
``CI=true`` it fails instead, so the proof cannot silently stop running.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _namespaces_work() -> str | None:
    """``None`` if ``unshare -rn --mount`` works here, else why not."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip is not installed"
    probe = subprocess.run(
        ["unshare", "-rn", "--mount", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"unshare -rn --mount fails here: {probe.stderr.strip()}"
    return None


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    problem = _namespaces_work()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"network namespace tests must run in CI: {problem}")
        pytest.skip(problem)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        ["unshare", "-rn", "--mount", sys.executable, "-m", "tests.netns_probe"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return results


def test_the_listener_counts_what_is_allowed_to_reach_it(probe: dict[str, Any]) -> None:
    controls = probe["controls"]
    assert controls["allowed_address"] == 1
    assert controls["allowed_name"] == 1  # through the namespace's own hosts file
    assert controls["statuses"] == ["succeeded", "succeeded"]


def test_no_trick_reaches_a_non_loopback_address(probe: dict[str, Any]) -> None:
    tricks = {url: counts for url, counts in probe.items() if "://" in url}
    assert len(tricks) > 30
    reached = {url: counts for url, counts in tricks.items() if any(counts.values())}
    assert reached == {}


def test_a_name_that_changes_its_answer_is_checked_again(probe: dict[str, Any]) -> None:
    rebinding = probe["rebinding"]
    assert rebinding["errors"] == ["dropped", "blocked_host"]
    assert (rebinding["loopback"], rebinding["outside"]) == (1, 0)
