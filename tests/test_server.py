"""LMIFServer: the contract's façade, quick to start and stop, quiet, safe defaults."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from lmif_mock import LMIFServer, RetryPolicy, VirtualClock, sign, verify
from lmif_mock.server import ServerError
from tests.api_client import Client
from tests.receivers import Recorder


def test_contract_example_works_as_written() -> None:
    received = Recorder()
    with LMIFServer(clock=VirtualClock(), seed=0) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.api_key.startswith("lmif_test_")
        wh = server.webhooks.create(url=received, events=["box.created"], secret=None)
        assert wh.id.startswith("wh_")
        assert wh.secret
        assert wh.events == ("box.created",)
        ev = server.emit("box.created", data={"identityName": "Ada"})
        assert (ev.type, ev.data["identityName"]) == ("box.created", "Ada")
        assert ev.body == received.bodies[0]
        assert verify(ev.body, sign(ev.body, wh.secret), wh.secret)
        (delivery,) = server.deliveries(event_id=ev.id)
        assert delivery.status == "succeeded"
        attempt = delivery.attempts[0]
        assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, None)
        assert attempt.at == server.clock.now()
        assert attempt.duration >= 0
        assert server.webhooks.list() == [wh]
        assert server.webhooks.get(wh.id) == wh
        server.webhooks.update(wh.id, events=["box.deleted"])
        server.webhooks.rotate_secret(wh.id)
        server.webhooks.delete(wh.id)
        server.reset()
        assert server.deliveries() == []


def test_http_and_python_see_the_same_state() -> None:
    with LMIFServer() as server:
        client = Client(server.url, server.api_key)
        created = client.post("/v1/lmif/webhooks", {"url": "http://127.0.0.1:1/x", "events": ["*"]})
        assert server.webhooks.get(created.data["id"]).url == "http://127.0.0.1:1/x"
        event = server.emit("box.created")
        assert client.get(f"/v1/lmif/events/{event.id}").data["event"]["id"] == event.id


def test_stop_frees_the_port_and_start_again_works() -> None:
    # How fast this is belongs to the benchmarks (bench_delivery), not to an assertion here.
    for _ in range(3):
        server = LMIFServer().start()
        port = server.port
        assert Client(server.url, server.api_key).get("/_mock/health").status == 200
        server.stop()
        assert not server.running
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))  # the port is free again


def test_url_before_start_and_port_in_use() -> None:
    server = LMIFServer()
    with pytest.raises(ServerError, match="not running"):
        _ = server.url
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        with pytest.raises(ServerError, match="cannot listen"):
            LMIFServer(port=taken.getsockname()[1]).start()


def test_live_environment_keys_and_bad_environment() -> None:
    with LMIFServer(environment="live") as live:
        assert live.api_key.startswith("lmif_live_")
        answer = Client(live.url, "lmif_test_x").get("/v1/lmif/webhooks")
        assert answer.code == "WRONG_ENVIRONMENT"
    with pytest.raises(ServerError):
        LMIFServer(environment="staging")


def test_quiet_by_default() -> None:
    code = (
        "from lmif_mock import LMIFServer\n"
        "import urllib3\n"
        "with LMIFServer() as s:\n"
        "    for path in ('/_mock/health', '/nope', '/v1/lmif/webhooks'):\n"
        "        urllib3.request('GET', s.url + path)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert out.stderr == ""


def test_retry_policy_and_reset_keep_the_thread_and_port() -> None:
    with LMIFServer(retry_policy=RetryPolicy(delays=[0, 5])) as server:
        port = server.port
        server.retry_policy = RetryPolicy.no_retries()
        server.reset()
        assert server.retry_policy == RetryPolicy(delays=[0, 5])
        assert server.port == port
        assert Client(server.url, server.api_key).get("/_mock/health").status == 200
