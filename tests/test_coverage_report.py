"""``--lmif-report`` / ``--lmif-report-json``, run the way pytest runs them (pytester)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lmif_mock.faults import Faults
from pytest_lmif.coverage import FAULT_NAMES, Coverage, fault_names

SUITE = """
from lmif_mock import verify
from pytest_lmif import check_receiver

SECRET = "lmif_whsec_report"


def ok(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def broken(environ, start_response):
    start_response("500 Oops", [("Content-Type", "text/plain")])
    return [b"no"]


def test_tampered(lmif_server):
    lmif_server.webhooks.create(url=ok, events=["box.created"])
    lmif_server.emit("box.created", faults={"signature": "tampered_body", "duplicates": 2})


def test_failing_receiver(lmif_server):
    lmif_server.webhooks.create(url=broken, events=["*"])
    lmif_server.emit("license.revoked")
    lmif_server.clock.advance(days=2)


def test_checks_with_an_own_fake():
    report = check_receiver(ok, secret=SECRET, only=["unknown_types_acknowledged",
                                                     "rejects_bad_signatures"], timeout=5)
    assert not report["rejects_bad_signatures"].passed  # ok() never verifies


def test_without_a_fake():
    assert True
"""


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def test_the_report_counts_what_the_receivers_met(pytester: pytest.Pytester) -> None:
    out = pytester.path / "lmif.json"
    result = _run(pytester, "--lmif-report", f"--lmif-report-json={out}")
    result.assert_outcomes(passed=4)
    text = result.stdout.str()
    assert "lmif coverage" in text
    assert "tests that used a fake LMIF: 3" in text
    result.stdout.re_match_lines(
        [
            r"avatar\.teleported\s+none\s+1\s+0\s+0$",
            r"box\.created\s+duplicates\s+1\s+0\s+0$",
            r"box\.created\s+signature:tampered_body\s+3\s+0\s+0$",  # the test's, and two of a check's
            r"license\.revoked\s+none\s+0\s+1\s+0$",
        ],
    )
    assert "  unknown_types_acknowledged: 1 / 0 / 0" in text
    assert "  accepts_valid_events: never ran" in text
    assert "  rejects_bad_signatures: 0 / 1 / 0" in text
    assert "  idempotent_concurrent: never ran" in text
    report = json.loads(out.read_text("utf-8"))
    assert report["tests"] == 3
    assert {"eventType": "license.revoked", "fault": "none", "outcome": "failed",
            "count": 1} in report["deliveries"]  # fmt: skip
    assert "box.deleted" in report["eventTypesNotExercised"]
    assert "box.created" not in report["eventTypesNotExercised"]
    assert "license.revoked" not in report["eventTypesNotExercised"]
    assert "signature:tampered_body" not in report["faultsNotExercised"]
    assert "signature:missing" not in report["faultsNotExercised"]  # the signature check sent it
    assert "layout:ascii" in report["faultsNotExercised"]
    assert report["checks"]["rejects_bad_signatures"] == {"failed": 1}
    assert "idempotent_concurrent" in report["checksNeverRun"]


def test_no_report_unless_asked(pytester: pytest.Pytester) -> None:
    result = _run(pytester)
    result.assert_outcomes(passed=4)
    assert "lmif coverage" not in result.stdout.str()


def test_the_json_file_alone_prints_nothing(pytester: pytest.Pytester) -> None:
    out = pytester.path / "only.json"
    result = _run(pytester, f"--lmif-report-json={out}")
    assert "lmif coverage" not in result.stdout.str()
    assert json.loads(out.read_text("utf-8"))["tests"] == 3


def test_xdist_workers_are_added_up(pytester: pytest.Pytester) -> None:
    out = pytester.path / "xdist.json"
    pytester.makepyfile(test_suite=SUITE)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-n", "2", "--lmif-report", f"--lmif-report-json={out}"
    )
    result.assert_outcomes(passed=4)
    assert "tests that used a fake LMIF: 3" in result.stdout.str()
    report = json.loads(out.read_text("utf-8"))
    assert report["checks"]["unknown_types_acknowledged"] == {"passed": 1}


def test_fault_names_and_merging() -> None:
    assert fault_names(Faults()) == ["none"]
    assert fault_names(Faults(delay=timedelta(seconds=5), layout="pretty", script="1: drop")) == [
        "delay",
        "script",
        "layout:pretty",
    ]
    assert set(fault_names(Faults(signature="truncated"))) <= set(FAULT_NAMES)
    one, two = Coverage(), Coverage()
    one.cells[("box.created", "none", "succeeded")] = 2
    one.tests = 1
    two.merge(one.to_dict())
    two.merge(one.to_dict())
    assert two.cells[("box.created", "none", "succeeded")] == 4
    assert two.tests == 2
