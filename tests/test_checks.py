"""Every receiver check fails on a receiver with its bug and passes on correct ones.

The receivers (``tests/buggy_receivers.py``) are written as teams write them: Flask or FastAPI,
a SQLite file with one connection per request, and, in one style, a background worker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lmif_mock import LMIFServer
from pytest_lmif import (
    CHECK_NAMES,
    CheckResult,
    ReceiverCheckFailed,
    ReceiverReport,
    assert_receiver,
    check_receiver,
    races,
)
from pytest_lmif.races import ASGIGate, WSGIGate, gate_for
from tests.buggy_receivers import BUGS, PATH, SECRET, STYLES, Receiver, SlowWorkerReceiver
from tests.receivers import wsgi_server

#: Fast settings for receivers that act before answering; the queue style needs the waits.
#: Generous bounds (they cost only when reached), short quiet period: CI machines are busy.
FAST: dict[str, Any] = {
    "timeout": 10,
    "settle": 0.03,
    "settle_timeout": 1,
    "event_types": ["box.created", "license.revoked"],
}


#: For receivers that are correct: they always act, so a long cap on waiting for their effects
#: costs only on a slow machine. With FAST's 1 s, a busy CI machine that delayed a first effect
#: 0.4 s left too little time to watch for extra ones: the check was a SKIP, not a pass.
CORRECT: dict[str, Any] = {"settle_timeout": 10}


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    """Receivers made by a test, closed after it (their background workers stopped)."""
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


def run(receiver: Receiver, transport: str = "wsgi", **options: Any) -> ReceiverReport:
    """The checks against ``receiver`` over ``transport`` (wsgi, asgi or http)."""
    settings = {**FAST, **options}
    if receiver.style == "queue":  # its worker acts later: allow it time on a loaded machine
        settings["settle_timeout"] = max(settings["settle_timeout"], 10)
    if transport == "http":
        with wsgi_server(receiver.app) as base:
            return check_receiver(
                base + PATH, secret=SECRET, processed=receiver.processed, **settings
            )
    target = receiver.app if transport == "wsgi" else receiver.asgi
    return check_receiver(
        target, secret=SECRET, processed=receiver.processed, path=PATH, **settings
    )


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("transport", ["wsgi", "asgi"])
def test_correct_receivers_of_every_style_pass_every_check(
    style: str, transport: str, receivers: list[Receiver]
) -> None:
    receiver = Receiver(style=style)
    receivers.append(receiver)
    report = run(receiver, transport, rounds=3, **CORRECT)  # the full probe: see below
    assert [r.name for r in report.results] == list(CHECK_NAMES)
    assert all(r.passed for r in report.results), str(report)
    assert str(report).splitlines()[0].endswith(f"all {len(CHECK_NAMES)} passed")


def test_a_correct_receiver_passes_over_http_too() -> None:
    report = run(Receiver(), "http", rounds=3, **CORRECT)
    assert all(r.passed for r in report.results), str(report)


@pytest.mark.parametrize("bug", sorted(set(BUGS) - {"racy_dedup"}))
def test_each_bug_is_caught_by_its_check_and_only_there(
    bug: str, receivers: list[Receiver]
) -> None:
    receiver = Receiver(bug)
    receivers.append(receiver)
    if bug == "slow":  # every answer waits out the timeout: two checks show it
        report = run(receiver, timeout=0.3, only=["accepts_valid_events", BUGS[bug]])
    elif bug == "dedup_on_type":  # most checks wait in vain for an effect: wait less
        report = run(receiver, rounds=2, settle_timeout=0.2)
    else:
        report = run(receiver, rounds=2)
    failed = {r.name for r in report.failures}
    if bug == "slow":  # a receiver that times out fails wherever it is slow
        assert BUGS[bug] in failed, str(report)
    elif bug == "dedup_on_type":  # after the first check, it never acts on that type again
        assert failed <= {BUGS[bug]}, str(report)
        assert report[BUGS[bug]].passed is not True
        assert "deduplicates on the type" in str(report[BUGS[bug]])
    elif bug == "refuses_duplicates":  # answers 500 to every copy after the first
        assert failed == {"idempotent_sequential", "idempotent_concurrent"}, str(report)
    elif bug == "reserialises_ascii_json":  # its escapes also refuse non-ASCII names
        assert failed == {BUGS[bug], "accepts_non_ascii_text"}, str(report)
    elif bug == "no_dedup":  # acts on every copy, wherever copies are sent
        assert failed == {"idempotent_sequential", "idempotent_concurrent",
                          "remembers_duplicates"}, str(report)  # fmt: skip
    else:
        assert failed == {BUGS[bug]}, str(report)


CAUSES = {
    "skips_verification": ["forged or broken signatures got through", "expected HTTP 401"],
    "copied_node_check": ["truncated", "HTTP 500", "compare lengths"],
    "acts_before_verifying": ["tampered_body: the receiver acted on", "verify before"],
    "queue_acts_before_verifying": ["wrong_secret: the receiver acted on", "queued work"],
    "reserialises_json": ["re-serialised JSON instead of the raw request body"],
    "no_dedup": ["duplicates were processed again", "acted on 3 times", "unique key"],
    "refuses_duplicates": ["acted on once but not acknowledged", "HTTP 500", "answer 2xx"],
    "reserialises_ascii_json": ["pretty-layout body was answered HTTP 401", "re-serialised JSON"],
    "short_memory": ["after 24 other events", "forgets event ids too soon", "34-hour"],
    "marks_seen_before_verifying": ["forged copies blocked", "before verifying", "verify first"],
    "dedup_on_type": ["never acted on", "deduplicates on the type or on a data field"],
    "dedup_on_box": ["never acted on", "deduplicate on the event id only"],
    "rejects_unknown_types": ["avatar.teleported: answered HTTP 400", "ignore types"],
    "rejects_unknown_actions": ["license.renewed: answered HTTP 500", "default branch"],
    "strict_fields": ["addedLater", "HTTP 500", "ignore fields you do not know"],
    "latin1_names": ["CJK", "emoji", "HTTP 500", "decode them as UTF-8"],
    "slow": ["no answer within 0.3 s", "acknowledge first"],
}


@pytest.mark.parametrize("bug", sorted(CAUSES))
def test_each_failure_names_its_cause_and_fix(bug: str, receivers: list[Receiver]) -> None:
    receiver = Receiver(bug)
    receivers.append(receiver)
    timeout = 0.3 if bug == "slow" else FAST["timeout"]
    report = run(receiver, only=[BUGS[bug]], rounds=2, timeout=timeout)
    text = str(report[BUGS[bug]])
    assert report[BUGS[bug]].passed is False, text
    for words in CAUSES[bug]:
        assert words in text, (words, text)


def test_dedup_on_type_drops_the_second_event_even_as_the_first_check() -> None:
    report = run(Receiver("dedup_on_type"), only=["distinct_events_processed"])
    assert report.failures[0].summary == "a second, different event of the same type was dropped"


@pytest.mark.parametrize("transport", ["wsgi", "asgi", "http"])
def test_a_real_check_then_insert_race_is_caught(transport: str) -> None:
    """SELECT, INSERT, effect in a SQLite file, no sleep: caught in-process and over HTTP.

    The default 100 rounds is measured (benchmarks/bench_detection.py), not asserted: with a CPU
    hog on both cores it missed the ASGI race once in five suite runs. The check stops at the
    first double effect, so looking ten times harder here costs nothing when it is caught.
    """
    report = run(Receiver("racy_dedup"), transport, only=["idempotent_concurrent"], rounds=1000)
    result = report["idempotent_concurrent"]
    assert result.passed is False, str(report)
    assert result.timing_dependent
    assert "check-then-insert race" in str(result)
    assert "ON CONFLICT DO NOTHING" in str(result)


@pytest.mark.parametrize("transport", ["wsgi", "asgi", "http"])
def test_an_atomic_receiver_is_never_failed_by_the_race_probe(transport: str) -> None:
    report = run(Receiver(), transport, only=["idempotent_concurrent"], **CORRECT)
    assert report["idempotent_concurrent"].passed, str(report)
    assert "100 rounds of 8 simultaneous copies" in report["idempotent_concurrent"].summary


def test_background_workers_are_judged_not_skipped(receivers: list[Receiver]) -> None:
    """The queue receiver acts ~20 ms after answering: counts are polled until they settle."""
    receiver = Receiver(style="queue")
    receivers.append(receiver)
    idempotency = ["idempotent_sequential", "idempotent_concurrent", "remembers_duplicates",
                   "forged_copies_do_not_block", "distinct_events_processed"]  # fmt: skip
    report = run(receiver, only=idempotency, rounds=3)
    assert [r.passed for r in report.results] == [True] * len(idempotency), str(report)


SLOW_WORKER_CHECKS = ["idempotent_sequential", "remembers_duplicates", "distinct_events_processed"]


def run_slow_worker(receiver: SlowWorkerReceiver, **options: Any) -> ReceiverReport:
    """The checks a slow worker can fool, with the default settle= and room to finish:
    the remembers check queues 26 jobs of 0.3 s behind one worker."""
    return check_receiver(
        receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
        only=SLOW_WORKER_CHECKS, timeout=10, settle_timeout=20, **options,
    )  # fmt: skip


def test_a_worker_slower_than_settle_does_not_hide_missing_dedup() -> None:
    """No dedup, effects 0.3 s per job in one worker: each duplicate's effect comes a job
    later than the original's, long after the default 0.1 s quiet period."""
    receiver = SlowWorkerReceiver(dedup=False)
    try:
        report = run_slow_worker(receiver)
        defaults = check_receiver(
            receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
            only=["idempotent_sequential"],
        )  # fmt: skip
    finally:
        receiver.close()
    assert defaults["idempotent_sequential"].passed is False, str(defaults)
    assert report["idempotent_sequential"].passed is False, str(report)
    assert "duplicates were processed again" in str(report["idempotent_sequential"])
    assert report["remembers_duplicates"].passed is False, str(report)
    assert "a later duplicate was processed again" in str(report["remembers_duplicates"])
    distinct = report["distinct_events_processed"]  # both processed, only late: not "dropped"
    assert distinct.passed is True, str(report)
    assert "dropped" not in str(distinct)


def test_a_deduplicating_receiver_with_the_same_slow_worker_passes() -> None:
    receiver = SlowWorkerReceiver(dedup=True)
    try:
        report = run_slow_worker(receiver)
    finally:
        receiver.close()
    assert all(r.passed for r in report.results), str(report)
    assert "acts 0." in report["idempotent_sequential"].summary  # it saw the worker's latency


def test_a_worker_slower_than_the_bound_is_inconclusive_not_passed() -> None:
    """With too short a settle_timeout for its backlog, no judgement is a pass."""
    receiver = SlowWorkerReceiver(dedup=True, work_seconds=0.2)
    try:
        report = check_receiver(
            receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
            only=["remembers_duplicates"], timeout=10, settle_timeout=1,
        )  # fmt: skip
    finally:
        receiver.close()
    result = report["remembers_duplicates"]
    assert result.skipped, str(report)
    assert "settle_timeout" in result.summary


def test_a_late_second_event_is_reported_late_not_dropped() -> None:
    receiver = SlowWorkerReceiver(dedup=True, work_seconds=0.2)
    try:
        report = check_receiver(
            receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
            only=["distinct_events_processed"], timeout=10,
        )  # fmt: skip
    finally:
        receiver.close()
    result = report["distinct_events_processed"]
    assert result.passed is True, str(report)
    assert "the second late" in result.summary


def test_a_receiver_verifying_escaped_json_fails_raw_bytes_and_is_not_blamed_on_latin1(
    receivers: list[Receiver],
) -> None:
    """json.dumps' default escaping: ASCII-only events verify, non-ASCII and pretty ones not."""
    receiver = Receiver("reserialises_ascii_json")
    receivers.append(receiver)
    report = run(receiver, only=["accepts_non_ascii_text", "verifies_raw_bytes"])
    assert report["verifies_raw_bytes"].passed is False, str(report)
    non_ascii = report["accepts_non_ascii_text"]
    assert non_ascii.passed is False, str(report)
    assert "verifies re-serialised JSON" in str(non_ascii)
    assert "column" not in str(non_ascii)  # the Latin-1 hint would send them the wrong way


def test_a_latin1_receiver_keeps_the_encoding_hint(receivers: list[Receiver]) -> None:
    receiver = Receiver("latin1_names")
    receivers.append(receiver)
    text = str(run(receiver, only=["accepts_non_ascii_text"])["accepts_non_ascii_text"])
    assert "column or encoding" in text
    assert "re-serialised" not in text


def test_a_forged_event_acted_on_later_is_still_caught(receivers: list[Receiver]) -> None:
    receiver = Receiver("queue_acts_before_verifying")
    receivers.append(receiver)
    report = run(receiver, only=["rejects_bad_signatures"])
    result = report["rejects_bad_signatures"]
    assert result.passed is False
    assert all("HTTP 401" not in p for p in result.problems)  # every answer was a 401...
    assert len(result.problems) == 6  # ...yet each forged event was acted on later


def test_a_tampered_body_is_looked_up_under_the_id_it_carries() -> None:
    receiver = Receiver("acts_before_verifying")  # answers 401, but has already acted
    report = run(receiver, only=["rejects_bad_signatures"])
    problems = report["rejects_bad_signatures"].problems
    (problem,) = [p for p in problems if p.startswith("tampered_body")]
    carried = problem.split("acted on ")[1].split()[0]
    assert receiver.processed(carried) == 1  # the id in the tampered bytes...
    emitted = [p.split("acted on ")[1].split()[0] for p in problems]
    assert len(set(emitted)) == 6  # ...which no other (untampered) event carries


def test_without_processed_side_effect_checks_are_skipped_and_the_report_says_so() -> None:
    receiver = Receiver("no_dedup")
    report = check_receiver(receiver.app, secret=SECRET, path=PATH, **FAST)
    skipped = {r.name for r in report.skipped}
    assert skipped == {"idempotent_sequential", "idempotent_concurrent", "remembers_duplicates",
                       "forged_copies_do_not_block", "distinct_events_processed"}  # fmt: skip
    assert report.passed  # nothing that ran failed...
    head = str(report).splitlines()[0]
    assert head.endswith(": 7 passed, 5 skipped")  # ...but not "all passed"


def test_a_timeout_is_reported_as_a_timeout_not_as_a_layout_problem() -> None:
    report = run(Receiver("slow"), only=["verifies_raw_bytes", "accepts_valid_events"], timeout=0.3)
    text = str(report)
    assert "re-serialised" not in text
    assert report["verifies_raw_bytes"].skipped
    assert "no answer within the timeout" in text


def test_refused_duplicates_are_not_called_processed_again() -> None:
    report = run(Receiver("refuses_duplicates"), only=["idempotent_sequential"])
    assert "processed again" not in str(report)


def test_a_report_with_skips_never_says_all_passed() -> None:
    report = ReceiverReport("r", [CheckResult("a", True, "ok"), CheckResult("b", None, "no")])
    assert str(report).splitlines()[0] == "LMIF receiver checks for r: 1 passed, 1 skipped"
    report.results.append(CheckResult("c", False, "bad"))
    assert "1 failed, 1 passed, 1 skipped" in str(report)


def test_assert_receiver_raises_with_the_report_and_skips_when_nothing_ran() -> None:
    receiver = Receiver("skips_verification")
    with pytest.raises(ReceiverCheckFailed, match=r"\[FAIL\] rejects_bad_signatures") as raised:
        assert_receiver(receiver.app, secret=SECRET, path=PATH, **FAST)
    assert raised.value.report.failures[0].name == "rejects_bad_signatures"
    with pytest.raises(pytest.skip.Exception, match="processed="):
        assert_receiver(receiver.app, secret=SECRET, path=PATH, only=["idempotent_concurrent"])


def test_checks_can_reuse_a_running_server() -> None:
    receiver = Receiver()
    with LMIFServer() as server:
        server.webhooks.create("http://127.0.0.1:1/unrelated", ["*"])
        report = check_receiver(
            receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
            fake=server, only=["idempotent_sequential"], settle=0.03,
        )  # fmt: skip
        assert report.passed
        assert all(w.url != "http://127.0.0.1:1/unrelated" for w in server.webhooks.list())


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        check_receiver(Receiver().app, secret=SECRET, only=["is_fast"])
    with pytest.raises(ValueError, match="concurrency"):
        check_receiver(Receiver().app, secret=SECRET, concurrency=1)
    with pytest.raises(ValueError, match="rounds"):
        check_receiver(Receiver().app, secret=SECRET, rounds=0)
    with pytest.raises(ValueError, match="a URL target carries its own path"):
        check_receiver("http://127.0.0.1:1/hook", secret=SECRET, path="/webhooks/lmif")
    with pytest.raises(ValueError, match="settle"):
        check_receiver(Receiver().app, secret=SECRET, processed=lambda e: 0, settle=-1)


# One pytest item per check, the documented way.
@pytest.mark.parametrize("check", CHECK_NAMES)
def test_one_item_per_check(check: str, lmif_server: LMIFServer) -> None:
    receiver = Receiver()
    assert_receiver(
        receiver.app, secret=SECRET, processed=receiver.processed, path=PATH,
        only=[check], fake=lmif_server, **FAST,
    )  # fmt: skip


def test_the_wsgi_gate_lets_held_copies_in_together_and_others_straight_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A gate lets a lone copy go after GATE_WAIT; a busy machine can stall this thread that
    # long, so the test gives the gate ample time: "held" then cannot be a scheduling accident.
    monkeypatch.setattr(races, "GATE_WAIT", 60.0)
    entered: list[str] = []
    inside = threading.Event()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        entered.append(environ["name"])
        inside.set()
        start_response("200 OK", [])
        return [b""]

    gate = WSGIGate(app)
    with gate.holding(2):
        first = threading.Thread(target=gate, args=({"name": "first"}, lambda *a: None))
        first.start()
        assert not inside.wait(0.2)  # held: its sibling has not arrived
        gate({"name": "second"}, lambda *a: None)
        first.join()
        gate({"name": "third"}, lambda *a: None)  # beyond the held copies: not held
    assert sorted(entered[:2]) == ["first", "second"]
    assert entered[2] == "third"


def test_the_asgi_gate_lets_held_copies_in_together() -> None:
    entered: list[int] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        entered.append(scope["n"])

    gate = gate_for(app)
    assert isinstance(gate, ASGIGate)

    async def both() -> bool:
        first = asyncio.ensure_future(gate({"type": "http", "n": 1}, None, None))
        await asyncio.sleep(0)
        held = not entered
        await gate({"type": "http", "n": 2}, None, None)
        await first
        return held

    with gate.holding(2):
        assert asyncio.run(both())
    assert sorted(entered) == [1, 2]
