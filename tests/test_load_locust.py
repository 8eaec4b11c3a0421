"""Issue 18: load-testing a receiver on Locust.

Locust patches a process for gevent when imported, so it never runs in this process: every run
here is ``python -m lmif_mock load`` (or ``locust``) in subprocesses, against a counting receiver
served from this process on 127.0.0.1. The receiver's own counts are the ground truth.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lmif_mock.cli import main
from lmif_mock.commands.load import UsageError as LoadUsageError
from lmif_mock.commands.load import failure_verdict, parse_run_time
from lmif_mock.events import EVENT_TYPES, Event
from lmif_mock.hosts import BlockedHostError
from lmif_mock.load import (
    LoadPlan,
    LoadPlanError,
    Tally,
    backlog_arrivals,
    catch_up_arrivals,
    parse_mix,
)
from lmif_mock.load.process import ProcessState
from lmif_mock.load.target import LoadTarget, check_target
from lmif_mock.signing import verify
from lmif_mock.transports import USER_AGENT

ROOT = Path(__file__).resolve().parent.parent
SECRET = "lmif_whsec_load_test"
RUN_TIMEOUT = 180  # seconds a whole Locust run may take on a very busy machine


class CountingReceiver:
    """A keep-alive HTTP receiver that verifies signatures and counts every POST per event id.

    ``fail_with`` makes it answer that status instead of 200 to every valid event, or with
    ``fail_every=n`` to every n-th one. It also
    notes when two copies of one event were being handled at the same moment.
    """

    def __init__(self, fail_with: int | None = None, fail_every: int = 1) -> None:
        self.fail_with = fail_with
        self.fail_every = fail_every
        self.valid = 0
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.bad = 0
        self.in_flight: Counter[str] = Counter()
        self.overlapping: set[str] = set()
        self.paths: set[str] = set()
        self.samples: list[tuple[dict[str, str], bytes]] = []

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> int:
        if not verify(body, headers.get("x-lmif-signature"), SECRET):
            with self.lock:
                self.bad += 1
            return 401
        event_id = json.loads(body)["id"]
        with self.lock:
            self.seen[event_id] += 1
            self.paths.add(path)
            if len(self.samples) < 50:
                self.samples.append((headers, body))
            self.in_flight[event_id] += 1
            if self.in_flight[event_id] > 1:
                self.overlapping.add(event_id)
            self.valid += 1
            failing = self.fail_with is not None and self.valid % self.fail_every == 0
        return self.fail_with if failing and self.fail_with is not None else 200

    def done(self, body: bytes) -> None:
        try:
            event_id = json.loads(body)["id"]
        except (ValueError, KeyError):
            return
        with self.lock:
            if self.in_flight[event_id]:
                self.in_flight[event_id] -= 1


@contextmanager
def serving(receiver: CountingReceiver) -> Iterator[str]:
    """Serve ``receiver`` on 127.0.0.1 (port 0); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status = receiver.handle(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            finally:
                receiver.done(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def run_load(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "lmif_mock", "load", *args],
        capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, check=False,
    )  # fmt: skip


# --- the Done-when test: a real master with 2 workers ---------------------------------------


@contextmanager
def remote_worker(port: str) -> Iterator[subprocess.Popen[str]]:
    """A worker started the way the README says to on another machine (here on 127.0.0.1)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    locate = "import lmif_mock.load as load; print(load.LOCUSTFILE)"
    locustfile = subprocess.run(
        [sys.executable, "-c", locate], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    worker = subprocess.Popen(
        [sys.executable, "-m", "locust", "-f", locustfile, "--worker",
         "--master-host", "127.0.0.1", "--master-port", port, "--loglevel", "WARNING"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        yield worker
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate()


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def test_master_with_two_workers_counts_exactly_what_the_receiver_saw(tmp_path: Path) -> None:
    """The Done-when run: a master, 2 local workers, and one more joining as from elsewhere."""
    receiver = CountingReceiver()
    json_path, ids_path = tmp_path / "run.json", tmp_path / "ids.txt"
    port = free_port()
    with serving(receiver) as url, remote_worker(port) as remote:
        result = run_load(
            "--target", f"{url}/webhooks/lmif", "--secret", SECRET, "--workers", "2",
            "--remote-workers", "1", "--master-port", port,
            "--users", "6", "--spawn-rate", "100", "--run-time", "3s",
            "--duplicates", "0.3", "--bad-signatures", "0.1",
            "--json", str(json_path), "--ids", str(ids_path),
        )  # fmt: skip
        remote.wait(timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert remote.returncode == 0
    summary = json.loads(json_path.read_text())
    ids = ids_path.read_text().splitlines()

    assert len(ids) == len(set(ids)), "--ids must list each event once"
    assert set(ids) == set(receiver.seen), "unique ids sent differ from the ids received"
    assert summary["events"] == len(receiver.seen) == len(ids)
    assert summary["requests"] == sum(receiver.seen.values())
    assert summary["duplicates"] == sum(receiver.seen.values()) - len(receiver.seen)
    assert summary["status"] == {
        "2xx": summary["requests"], "3xx": 0, "4xx": 0, "5xx": 0, "errors": 0,
    }  # fmt: skip
    assert summary["workers"] == 3  # the run could not start without the third one joining
    assert summary["bad_signatures"]["sent"] == receiver.bad
    assert summary["bad_signatures"]["rejected_401"] == receiver.bad > 0
    assert set(summary) >= {"events", "requests", "duplicates", "status", "latency_ms", "rps"}
    assert 0 < summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"]
    assert summary["latency_ms"]["p95"] <= summary["latency_ms"]["p99"]
    assert summary["rps"] > 0
    assert receiver.paths == {"/webhooks/lmif"}
    # Duplicates in the share asked: each event is duplicated with probability 0.3.
    assert summary["events"] >= 300, "too few events for a share to mean anything"
    share = summary["duplicates"] / summary["events"]
    assert 0.2 <= share <= 0.4, share
    assert max(receiver.seen.values()) == 2
    # Half the copies go out at the same moment as their original, on a second connection.
    assert receiver.overlapping, "no duplicate was ever handled at the same time as its original"
    assert "progress:" in result.stdout
    assert "summary" in result.stdout


def test_every_request_carries_the_providers_bytes_and_headers(tmp_path: Path) -> None:
    receiver = CountingReceiver(fail_with=503, fail_every=5)  # 20% fail: within the rate allowed
    with serving(receiver) as url:
        result = run_load(
            "--target", f"{url}/hook", "--secret", SECRET, "--users", "2", "--run-time", "2s",
            "--spawn-rate", "100", "--mix", "detection.match_found=3,box.created=1",
            "--max-error-rate", "0.5", "--json", str(tmp_path / "run.json"),
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["status"]["5xx"] == summary["requests"] // 5 > 0
    # The run lasts its whole run time: Locust once scheduled it from gevent's stale clock,
    # which ended a run as early as the locustfile's import had been slow.
    assert summary["requests"] / summary["rps"] >= 1.8
    types = set()
    for headers, body in receiver.samples:
        assert headers["content-type"] == "application/json"
        assert headers["user-agent"] == USER_AGENT
        envelope = json.loads(body)
        assert list(envelope) == ["id", "type", "createdAt", "data", "meta"]
        assert envelope["meta"]["webhookId"].startswith("wh_")
        assert Event.from_envelope(envelope).body == body  # encoded once, by events.encode
        types.add(envelope["type"])
    assert types == {"detection.match_found", "box.created"}


def test_a_receiver_answering_500_makes_the_command_fail(tmp_path: Path) -> None:
    receiver = CountingReceiver(fail_with=500)
    json_path = tmp_path / "run.json"
    with serving(receiver) as url:
        result = run_load(
            "--target", f"{url}/hook", "--secret", SECRET, "--users", "2", "--run-time", "1s",
            "--spawn-rate", "100", "--max-error-rate", "0.5", "--json", str(json_path),
        )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(json_path.read_text())
    assert summary["status"]["5xx"] == summary["requests"] == sum(receiver.seen.values()) > 0
    assert summary["status"]["2xx"] == 0
    assert "FAILED: error rate 100.00% is above --max-error-rate 50.00%" in result.stdout


def test_a_receiver_that_is_not_there_is_counted_as_errors(tmp_path: Path) -> None:
    port = free_port()  # nothing listens on it
    json_path = tmp_path / "run.json"
    result = run_load(
        "--target", f"http://127.0.0.1:{port}/hook", "--secret", SECRET, "--users", "2",
        "--run-time", "1s", "--spawn-rate", "100", "--json", str(json_path),
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(json_path.read_text())
    assert summary["status"]["errors"] == summary["requests"] > 0
    assert summary["events"] == summary["requests"]


def test_catch_up_replays_the_retry_waves_never_ahead_of_schedule(tmp_path: Path) -> None:
    receiver = CountingReceiver()
    json_path = tmp_path / "run.json"
    with serving(receiver) as url:
        result = run_load(
            "--target", f"{url}/hook", "--secret", SECRET, "--users", "20", "--run-time", "3s",
            "--workers", "2", "--spawn-rate", "1000", "--profile", "catch-up", "--outage-hours", "1",
            "--events-per-hour", "3600", "--time-scale", "60", "--json", str(json_path),
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(json_path.read_text())
    assert summary["events"] == len(receiver.seen)
    elapsed = summary["requests"] / summary["rps"]
    arrivals = catch_up_arrivals(1, 3600)
    scheduled = 0
    for offset in arrivals:
        if offset / 60 > elapsed + 0.5:
            break
        scheduled += 1
    # Never ahead of the schedule (nor replayed twice: the two workers share it), and far above
    # the 1 event/provider-second of normal traffic, as the 1, 5 and 30 minute waves overlap it.
    assert summary["events"] <= scheduled
    assert summary["events"] > 2 * 60 * 2  # > 2x steady traffic over the first 2 s (60x)


def test_a_users_own_locustfile_runs_the_documented_example(tmp_path: Path) -> None:
    receiver = CountingReceiver()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LMIF_WEBHOOK_SECRET": SECRET}
    with serving(receiver) as url:
        result = subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "examples" / "load_locustfile.py"),
             "--headless", "--users", "2", "--spawn-rate", "100", "--run-time", "1s",
             "--host", url, "--only-summary", "--loglevel", "WARNING"],
            capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env, check=False,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert receiver.seen, f"the example sent nothing: {result.stdout} {result.stderr}"
    assert receiver.bad == 0
    assert receiver.paths == {"/webhooks/lmif"}
    types = {json.loads(body)["type"] for _, body in receiver.samples}
    assert types <= {"detection.match_found", "violation.detected", "box.created"}


def test_the_readme_shows_the_example_locustfile_verbatim() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Load-testing a receiver", 1)[1].split("\n## ", 1)[0]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    assert shown in (ROOT / "examples" / "load_locustfile.py").read_text("utf-8")
    assert "class DetectionScanBurst(LMIFUser)" in shown


def test_importing_the_package_never_imports_locust() -> None:
    code = (
        "import sys, lmif_mock, lmif_mock.cli, lmif_mock.load, lmif_mock.commands.load\n"
        "from lmif_mock.load import LoadPlan, Tally\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent'))\n"
        "assert not bad, bad\n"
        "try:\n"
        "    from lmif_mock.load import LMIFUser\n"
        "except ImportError as exc:\n"
        "    assert 'locust -f' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('Locust imported after ssl must be refused')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "locust" not in sys.modules


def test_the_user_class_imports_where_locust_came_first() -> None:
    code = (
        "import locust\n"
        "from lmif_mock.load import LMIFUser\n"
        "from lmif_mock.load.user import LATER_AFTER_EVENTS, LOAD_SIGNATURE_FAULTS\n"
        "assert LMIFUser.abstract and LMIFUser.simultaneous == 0.5 and LATER_AFTER_EVENTS == 3\n"
        "assert LOAD_SIGNATURE_FAULTS == (\n"
        "    'missing', 'wrong_secret', 'tampered_body', 'truncated', 'wrong_prefix'\n"
        "), LOAD_SIGNATURE_FAULTS\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr


# --- the command's checks (in this process: they stop before Locust would start) ------------


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--target", "http://example.com/hook"], "not allowed"),
        (["--target", "ftp://127.0.0.1/hook"], "http:// or https://"),
        (["--duplicates", "1.5"], "duplicates must be between 0 and 1"),
        (["--bad-signatures", "-0.1"], "bad_signatures must be between 0 and 1"),
        (["--mix", "box.exploded=1"], "unknown LMIF event type"),
        (["--mix", "box.created=x"], "not a number"),
        (["--run-time", "soon"], "--run-time"),
        (["--users", "0"], "--users"),
        (["--max-error-rate", "2"], "--max-error-rate"),
        (["--remote-workers", "2"], "--remote-workers needs --workers"),
        (["--profile", "catch-up", "--time-scale", "0"], "time_scale must be a positive"),
        (["--workers", "1", "--master-bind-host", "256.0.0.1"], "cannot be listened on"),
    ],
)
def test_bad_options_are_usage_errors_before_anything_runs(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["load", "--target", "http://127.0.0.1:9/hook", "--secret", "s"]
    given = dict(zip(args[1::2], args[2::2], strict=True))
    for name, value in zip(extra[::2], extra[1::2], strict=True):
        given[name] = value
    argv = ["load", *[item for pair in given.items() for item in pair]]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert "locust" not in sys.modules


def test_allow_host_lets_a_named_host_through_the_policy() -> None:
    from lmif_mock.cli import build_parser
    from lmif_mock.commands.load import _check

    target = ["load", "--target", "http://receiver.example.test:8080/hook?x=1", "--secret", "s"]
    with pytest.raises(LoadUsageError, match="not allowed"):
        _check(build_parser().parse_args(target))
    plan, run_time, origin = _check(
        build_parser().parse_args([*target, "--allow-host", "*.example.test"])
    )
    assert (plan.path, run_time, origin) == ("/hook?x=1", 30, "http://receiver.example.test:8080")


def test_run_time_spellings() -> None:
    assert parse_run_time("30") == 30
    assert parse_run_time("30s") == 30
    assert parse_run_time("2m") == 120
    assert parse_run_time("1h30m") == 5400
    with pytest.raises(LoadUsageError):
        parse_run_time("3 days")


# --- the parts that need no Locust ----------------------------------------------------------


def test_plan_round_trips_and_rejects_nonsense() -> None:
    assert LoadPlan(secret="s").mix == dict.fromkeys(EVENT_TYPES, 1.0)  # every type, equally
    plan = LoadPlan(secret="s", mix={"box.created": 2}, duplicates=0.25, profile="catch-up")
    assert LoadPlan.from_dict(plan.to_dict()) == plan
    assert plan.webhook_id.startswith("wh_")
    with pytest.raises(LoadPlanError, match="secret"):
        LoadPlan(secret="")
    with pytest.raises(LoadPlanError, match="path"):
        LoadPlan(secret="s", path="hook")
    with pytest.raises(LoadPlanError, match="weight above 0"):
        LoadPlan(secret="s", mix={"box.created": 0})
    with pytest.raises(LoadPlanError, match="profile"):
        LoadPlan(secret="s", profile="spiky")  # type: ignore[arg-type]
    with pytest.raises(LoadPlanError, match="unknown load plan field"):
        LoadPlan.from_dict({"secret": "s", "rate": 3})
    with pytest.raises(LoadPlanError, match="events"):
        LoadPlan(secret="s", outage_hours=1000, events_per_hour=1e6)


def test_targets_follow_the_host_policy_on_the_address_dialled() -> None:
    assert check_target("http://127.0.0.1:8000/hook?x=1") == LoadTarget(
        "http://127.0.0.1:8000", "/hook?x=1"
    )
    assert check_target("http://[::1]/") == LoadTarget("http://[::1]:80", "/")
    assert check_target("http://localhost:9/h").path == "/h"  # resolves to loopback only
    with pytest.raises(BlockedHostError, match="not allowed"):
        check_target("http://receiver.example.test/hook")
    with pytest.raises(BlockedHostError, match="not allowed"):
        check_target("http://10.0.0.1/hook")
    with pytest.raises(BlockedHostError):
        check_target("http://10.0.0.1\\@127.0.0.1/hook")  # parsers disagree: refused
    named = check_target("http://receiver.example.test/hook", ["receiver.example.test"])
    assert named == LoadTarget("http://receiver.example.test:80", "/hook")


def test_parse_mix() -> None:
    assert parse_mix("box.created=3, detection.match_found") == {
        "box.created": 3.0,
        "detection.match_found": 1.0,
    }
    with pytest.raises(LoadPlanError):
        parse_mix(" , ")


def test_backlog_follows_the_providers_retry_schedule() -> None:
    # One event a minute for 2 hours: 120 events, created at minute 0..119; recovery at 120.
    arrivals = backlog_arrivals(outage_hours=2, events_per_hour=60)
    assert len(arrivals) == 120  # every one comes back: the schedule runs for 34 h 36 min
    minutes = Counter(round(a / 60, 6) for a in arrivals)
    # Created at 119: failed at 119, back 1 min later, right at recovery. Created at 114..118:
    # next attempt 6 min (1 + 5) after creation: 0..4 min after recovery. Created at 84..113:
    # 36 min after: 0..29 min after. Created at 0..83: 2 h 36 min after: 36..119 min after.
    assert minutes[0.0] == 3  # created at 119, 114 and 84
    assert sorted(a for a in arrivals if a < 300) == sorted(
        [0.0] + [60.0 * m for m in range(5)] + [60.0 * m for m in range(5)]
    )
    assert not [a for a in arrivals if 30 * 60 <= a < 36 * 60]  # the gap before the 2 h wave
    assert max(arrivals) == pytest.approx((83 + 156 - 120) * 60)


def test_events_whose_every_attempt_fell_in_the_outage_never_come_back() -> None:
    arrivals = backlog_arrivals(outage_hours=48, events_per_hour=1)
    # An event created more than 34 h 36 min before recovery used all 7 attempts in the outage:
    # those created at hours 0..13 are lost (13 h + 34 h 36 min < 48 h), 14..47 come back.
    assert len(arrivals) == 48 - 14
    assert all(a >= 0 for a in arrivals)


def test_catch_up_merges_the_backlog_with_live_traffic_in_order() -> None:
    stream = catch_up_arrivals(outage_hours=1, events_per_hour=3600)
    first = [next(stream) for _ in range(5000)]
    assert first == sorted(first)
    live_and_backlog_by_60s = sum(1 for a in first if a < 60)
    # 60 live + 60 from the 1 min wave + 60 of the 5 min wave + 60 of the 30 min wave.
    assert live_and_backlog_by_60s == 240


def test_processes_share_the_catch_up_schedule_without_overlap() -> None:
    plan = LoadPlan(secret="s", profile="catch-up", outage_hours=1, time_scale=1)
    states = [ProcessState(index=i, count=3) for i in range(3)]
    claimed = sorted(s.next_arrival(plan) for s in states for _ in range(100))
    stream = catch_up_arrivals(1, 3600)
    assert claimed == [next(stream) for _ in range(300)]


def test_tally_merges_workers_and_summarises_in_the_issues_shape() -> None:
    first, second = Tally(), Tally()
    first.record("event", "evt_a", 200, 1.0)
    first.record("duplicate", "evt_a", 200, 3.0)
    second.record("event", "evt_b", 503, 2.0)
    second.record("event", "evt_c", None, 30_000.0)
    second.record("bad_signature", "evt_d", 401, 1.0)
    second.record("bad_signature", "evt_e", 200, 1.0)
    first.elapsed, second.elapsed = 2.0, 1.5
    total = Tally.from_message(json.loads(json.dumps(first.to_message())))
    total.merge(Tally.from_message(second.to_message()))
    summary = total.summary(workers=2)
    assert summary == {
        "events": 3,
        "requests": 4,
        "duplicates": 1,
        "status": {"2xx": 2, "3xx": 0, "4xx": 0, "5xx": 1, "errors": 1},
        "latency_ms": {"p50": 2.0, "p95": 30_000.0, "p99": 30_000.0},
        "rps": 2.0,
        "workers": 2,
        "bad_signatures": {"sent": 2, "rejected_401": 1, "other": 1},
    }
    assert total.event_ids == ["evt_a", "evt_b", "evt_c"]
    assert total.failures() == 3  # the 503, the refused one, the forged one answered 200


def test_failure_verdict_any_failure_or_above_the_rate_allowed() -> None:
    tally = Tally()
    for number in range(100):
        tally.record("event", f"evt_{number}", 500 if number < 5 else 200, 1.0)
    assert failure_verdict(tally, None) is not None
    assert failure_verdict(tally, 0.05) is None
    assert failure_verdict(tally, 0.04) is not None
    assert failure_verdict(Tally(), None) == "no request was sent"
    clean = Tally()
    clean.record("event", "evt_x", 204, 1.0)
    clean.record("bad_signature", "evt_y", 401, 1.0)
    assert failure_verdict(clean, None) is None
