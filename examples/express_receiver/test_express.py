"""The Express receiver (Node), driven through ``python -m lmif_mock serve`` and the receiver
checks, over real loopback HTTP."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from pytest_lmif import CHECK_NAMES, assert_receiver
from tests.api_client import Client
from tests.processes import served

HERE = Path(__file__).resolve().parent
SECRET = "lmif_whsec_express_example"


@pytest.fixture(scope="module")
def express_url() -> Iterator[str]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "express").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "node and examples/express_receiver/node_modules are required under CI=true"
            )
        pytest.skip("run `npm install` in examples/express_receiver first")
    process = subprocess.Popen(
        [node, str(HERE / "server.js")],
        env={**os.environ, "LMIF_WEBHOOK_SECRET": SECRET, "PORT": "0"},
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on "), line
    try:
        yield line.split()[-1] + "/webhooks/lmif"
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def processed(express_url: str, event_id: str) -> int:
    base = express_url.rsplit("/webhooks/lmif", 1)[0]
    answer = urllib3.request("GET", f"{base}/processed/{event_id}", timeout=5)
    return int(json.loads(answer.data)["count"])


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_receiver_checks(check: str, express_url: str) -> None:
    assert_receiver(express_url, secret=SECRET, processed=lambda e: processed(express_url, e),
                    only=[check], timeout=5)  # fmt: skip


def test_driven_through_lmif_mock_serve(express_url: str) -> None:
    with served("--forward-to", express_url, "--secret", SECRET) as (process, url, key):
        client = Client(url, key)
        sent = client.post("/_mock/events", {"type": "box.created", "faults": {"duplicates": 2}})
        assert sent.status == 201
        assert [d["status"] for d in sent.data["deliveries"]] == ["succeeded"] * 3
        assert processed(express_url, sent.data["event"]["id"]) == 1
        forged = client.post(
            "/_mock/events", {"type": "box.created", "faults": {"signature": "truncated"}}
        )
        (attempt,) = forged.data["deliveries"][0]["attempts"]
        assert attempt["statusCode"] == 401  # the documented code would have crashed here (500)
        process.wait_for(r"^<-- 401 POST")
        deadline = time.monotonic() + 5
        while processed(express_url, forged.data["event"]["id"]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processed(express_url, forged.data["event"]["id"]) == 0
