"""Every receiver check fails on a receiver with its bug and passes on a correct one."""

from __future__ import annotations

import pytest

from lmif_mock import LMIFServer
from pytest_lmif import CHECK_NAMES, ReceiverCheckFailed, assert_receiver, check_receiver
from tests.buggy_receivers import SECRET, Receiver
from tests.receivers import wsgi_server

FAST = {"timeout": 0.4, "concurrency": 4, "event_types": ["box.created", "license.revoked"]}


def run(bug: str | None, **options: object) -> tuple[Receiver, object]:
    receiver = Receiver(bug)
    report = check_receiver(
        receiver.app,
        secret=SECRET,
        processed=receiver.processed,
        path="/webhooks/lmif",
        **{**FAST, **options},  # type: ignore[arg-type]
    )
    return receiver, report


def test_a_correct_receiver_passes_every_check() -> None:
    _, report = run(None)
    assert report.passed, str(report)  # type: ignore[attr-defined]
    assert [r.name for r in report.results] == list(CHECK_NAMES)  # type: ignore[attr-defined]
    assert all(r.passed for r in report.results)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("bug", "failing", "words"),
    [
        ("skips_verification", {"rejects_bad_signatures"}, "forged"),
        ("reserialises_json", {"verifies_raw_bytes"}, "re-serialised JSON"),
        ("no_dedup", {"idempotent_sequential", "idempotent_concurrent"}, "acted on 3 times"),
        ("racy_dedup", {"idempotent_concurrent"}, "check-then-insert race"),
        ("rejects_unknown_types", {"unknown_types_acknowledged"}, "avatar.teleported"),
        ("slow", {"answers_within_timeout"}, "no answer within 0.4 s"),
        ("copied_node_check", {"rejects_bad_signatures"}, "timingSafeEqual"),
    ],
)
def test_each_bug_is_caught_by_its_check(bug: str, failing: set[str], words: str) -> None:
    _, report = run(bug)
    failed = {r.name for r in report.failures}  # type: ignore[attr-defined]
    if bug == "slow":
        assert failing <= failed, str(report)  # a receiver that times out fails wherever it is slow
    else:
        assert failed == failing, str(report)
    assert words in str(report)


def test_the_wrong_length_crash_is_explained() -> None:
    _, report = run("copied_node_check", only=["rejects_bad_signatures"])
    (result,) = report.results  # type: ignore[attr-defined]
    assert any(
        "truncated" in p and "HTTP 500" in p and "compare lengths" in p for p in result.problems
    )


def test_without_processed_side_effect_checks_are_skipped_not_passed() -> None:
    receiver = Receiver("no_dedup")
    report = check_receiver(receiver.app, secret=SECRET, path="/webhooks/lmif", **FAST)  # type: ignore[arg-type]
    assert report["idempotent_sequential"].skipped
    assert report["idempotent_concurrent"].skipped
    assert report.passed  # nothing that ran failed


def test_assert_receiver_raises_with_the_report_and_skips_when_nothing_ran() -> None:
    receiver = Receiver("skips_verification")
    with pytest.raises(ReceiverCheckFailed, match=r"\[FAIL\] rejects_bad_signatures"):
        assert_receiver(receiver.app, secret=SECRET, path="/webhooks/lmif", **FAST)
    with pytest.raises(pytest.skip.Exception, match="processed="):
        assert_receiver(
            receiver.app, secret=SECRET, path="/webhooks/lmif", only=["idempotent_concurrent"]
        )


def test_checks_over_real_http_too() -> None:
    receiver = Receiver("racy_dedup")
    with wsgi_server(receiver.app) as base:
        report = check_receiver(
            base + "/webhooks/lmif",
            secret=SECRET,
            processed=receiver.processed,
            **FAST,  # type: ignore[arg-type]
        )
    assert {r.name for r in report.failures} == {"idempotent_concurrent"}


def test_checks_can_reuse_a_running_server() -> None:
    receiver = Receiver(None)
    with LMIFServer() as server:
        server.webhooks.create("http://127.0.0.1:1/unrelated", ["*"])
        report = check_receiver(
            receiver.app, secret=SECRET, processed=receiver.processed, path="/webhooks/lmif",
            fake=server, only=["idempotent_sequential"],
        )  # fmt: skip
        assert report.passed
        assert all(w.url != "http://127.0.0.1:1/unrelated" for w in server.webhooks.list())


def test_bad_options_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown check"):
        check_receiver(Receiver().app, secret=SECRET, only=["is_fast"])
    with pytest.raises(ValueError, match="concurrency"):
        check_receiver(Receiver().app, secret=SECRET, concurrency=1)


# One pytest item per check, the documented way.
@pytest.mark.parametrize("check", CHECK_NAMES)
def test_one_item_per_check(check: str, lmif_server: LMIFServer) -> None:
    receiver = Receiver(None)
    assert_receiver(
        receiver.app, secret=SECRET, processed=receiver.processed, path="/webhooks/lmif",
        only=[check], fake=lmif_server, **FAST,
    )  # fmt: skip
