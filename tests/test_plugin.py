"""The pytest plugin, tested the way pytest runs it (pytester), plus its fixtures in use here."""

from __future__ import annotations

import pytest

from lmif_mock import LMIFServer, RetryPolicy, VirtualClock, verify
from lmif_mock.clock import DEFAULT_START
from pytest_lmif import EventBuilder
from pytest_lmif.plugin import seed_for_test
from tests.receivers import Recorder


def test_lmif_server_is_started_and_fresh(lmif_server: LMIFServer) -> None:
    assert lmif_server.running
    assert lmif_server.webhooks.list() == []
    assert lmif_server.clock.now() == DEFAULT_START
    lmif_server.webhooks.create("http://127.0.0.1:1/x", ["*"])
    lmif_server.emit("box.created")
    lmif_server.clock.advance(hours=1)


def test_the_previous_tests_state_is_gone(lmif_server: LMIFServer) -> None:
    assert lmif_server.webhooks.list() == []
    assert lmif_server.deliveries() == []
    assert lmif_server.clock.now() == DEFAULT_START


@pytest.mark.lmif(seed=7, retry_policy=RetryPolicy(delays=[0, 10]), timeout=2)
def test_marker_configures_seed_policy_and_timeout(
    lmif_server: LMIFServer, lmif_clock: VirtualClock
) -> None:
    assert lmif_server.seed == 7
    assert lmif_server.retry_policy == RetryPolicy(delays=[0, 10], timeout=2)
    assert lmif_clock is lmif_server.clock
    receiver = Recorder([500, 500])
    lmif_server.webhooks.create(receiver, ["*"])
    lmif_server.emit("box.created")
    lmif_clock.advance(seconds=10)
    assert lmif_server.deliveries()[0].status == "failed"


def test_policy_from_a_marked_test_does_not_leak(
    lmif_server: LMIFServer, request: pytest.FixtureRequest
) -> None:
    assert lmif_server.retry_policy == RetryPolicy()
    assert lmif_server.seed == seed_for_test(0, request.node.nodeid)


def test_lmif_events_builds_signed_events(lmif_events: EventBuilder) -> None:
    signed = lmif_events.build("violation.detected", {"identityName": "Ada"})
    assert verify(signed.body, signed.signature, lmif_events.secret)
    assert signed.json["data"]["identityName"] == "Ada"
    assert signed.headers["Content-Type"] == "application/json"
    forged = lmif_events.build("box.created", signature_fault="wrong_secret")
    assert not verify(forged.body, forged.signature, lmif_events.secret)
    assert verify(b"x", lmif_events.headers(b"x")["X-LMIF-Signature"], lmif_events.secret)


PLUGIN_TESTS = """
import pytest
from lmif_mock import RetryPolicy

def receiver(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [b"ok"]

def test_delivers(lmif_server):
    lmif_server.webhooks.create(receiver, ["box.created"])
    event = lmif_server.emit("box.created")
    assert lmif_server.deliveries(event_id=event.id)[0].status == "succeeded"

def test_isolated(lmif_server):
    assert lmif_server.webhooks.list() == []

@pytest.mark.lmif(seed=42)
def test_fails_and_reports_its_seed(lmif_server):
    assert lmif_server.seed == 42
    assert False, "deliberate"

@pytest.mark.lmif(sede=1)
def test_typo_in_marker(lmif_server):
    pass

def test_options_fixture_is_overridable(lmif_server):
    assert lmif_server.hosts.permits("hooks.internal")
"""

CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def lmif_server_options():
    return {"allowed_hosts": ["hooks.internal"]}
"""


def test_plugin_via_pytester(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_plugin_user=PLUGIN_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*fake LMIF seed 42: rerunning with --lmif-seed 0 gives this test the same ids, data*"]
    )
    result.stdout.re_match_lines([r".*unknown lmif marker option\(s\) \['sede'\].*"])


def test_seed_from_the_command_line_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from pytest_lmif.plugin import seed_for_test

        def test_seed(lmif_server, lmif_seed, request):
            assert lmif_seed == 5
            assert lmif_server.seed == seed_for_test(5, request.node.nodeid)
        """
    )
    pytester.runpytest("--lmif-seed", "5").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nlmif_seed = 5\n")
    pytester.runpytest().assert_outcomes(passed=1)


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    for name in (
        "lmif_server",
        "lmif_clock",
        "lmif_events",
        "lmif_shared_server",
        "lmif_server_options",
    ):
        result.stdout.fnmatch_lines([f"{name}*"])
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(
        ["@pytest.mark.lmif(seed=None, retry_policy=None, timeout=None, rate_limits=None)*"]
    )


def test_works_under_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        **{
            f"test_worker_{n}": f"""
            def test_a(lmif_server):
                lmif_server.webhooks.create("http://127.0.0.1:1/{n}", ["*"])
                assert len(lmif_server.webhooks.list()) == 1
                open("port_{n}_" + str(lmif_server.port), "w").close()

            def test_b(lmif_server):
                assert lmif_server.webhooks.list() == []
            """
            for n in range(4)
        }
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=8)
    ports = {p.name.rsplit("_", 1)[1] for p in pytester.path.glob("port_*")}
    assert len(ports) == 2  # one server per worker


def test_library_still_works_without_the_plugin(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from lmif_mock import LMIFServer
        def test_plain():
            with LMIFServer() as server:
                assert server.url
        """
    )
    pytester.runpytest("-p", "no:lmif").assert_outcomes(passed=1)


def test_each_test_sees_its_own_ids_and_a_rerun_sees_the_same(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def _record(lmif_server, name):
            lmif_server.webhooks.create("http://127.0.0.1:1/x", ["*"])
            event = lmif_server.emit("box.created")
            with open(name, "a") as out:
                out.write(event.id + "\\n")

        def test_one(lmif_server):
            _record(lmif_server, "one.txt")

        def test_two(lmif_server):
            _record(lmif_server, "two.txt")
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
    one = (pytester.path / "one.txt").read_text().split()
    two = (pytester.path / "two.txt").read_text().split()
    assert one[0] == one[1]
    assert two[0] == two[1]
    assert one[0] != two[0]  # but no two tests share ids
    pytester.runpytest("-p", "no:cacheprovider", "--lmif-seed", "9").assert_outcomes(passed=2)
    assert (pytester.path / "one.txt").read_text().split()[2] != one[0]  # the base seed matters


def test_given_with_lmif_server_raises_no_health_check_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from hypothesis import given, settings
        from pytest_lmif.strategies import assert_idempotent, delivery_plans

        import threading
        from collections import Counter

        seen, acted_on, lock = set(), Counter(), threading.Lock()

        def app(environ, start_response):
            import json
            event_id = json.loads(environ["wsgi.input"].read())["id"]
            with lock:
                first = event_id not in seen
                seen.add(event_id)
            if first:
                acted_on[event_id] += 1  # counting what was done, once per event
            start_response("200 OK", [])
            return [b"ok"]

        @settings(max_examples=10, deadline=None)
        @given(plan=delivery_plans(types=["box.created"]))
        def test_property(lmif_server, lmif_clock, plan):
            assert_idempotent(lmif_server, app, plan, secret="s", processed=acted_on.__getitem__)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "FailedHealthCheck" not in result.stdout.str()


def test_the_marker_works_without_requesting_lmif_server(pytester: pytest.Pytester) -> None:
    """Like time-machine's marker: a marked test gets the server configured, not ignored."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.fixture
        def my_fake(lmif_shared_server):
            return lmif_shared_server

        @pytest.mark.lmif(seed=5, timeout=3)
        def test_marked(my_fake):
            assert my_fake.seed == 5
            assert my_fake.retry_policy.timeout.total_seconds() == 3

        @pytest.mark.lmif(seed=6)
        def test_marked_with_no_fixture_at_all():
            pass
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_the_marker_warns_when_its_options_reach_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.lmif(seed=1, timeout=2)
        def test_events_only(lmif_events):
            assert lmif_events.factory.seed == 1
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-W", "default::pytest.PytestWarning")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(["*lmif(timeout=...) configures lmif_server*"])


RECEIVER_TESTS = """
import pytest
from pytest_lmif import CheckResult, ReceiverCheckFailed, ReceiverReport, assert_receiver

def app(environ, start_response):
    environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [b"ok"]

def test_needs_processed(lmif_server):
    assert_receiver(app, secret="s", only=["idempotent_concurrent"], fake=lmif_server)

def test_a_race(lmif_server):
    failed = CheckResult("idempotent_concurrent", False, "raced", timing_dependent=True)
    raise ReceiverCheckFailed(ReceiverReport("app", [failed]))
"""


def test_skips_point_at_the_test_and_races_are_not_promised_to_replay(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_receiver_user=RECEIVER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1, failed=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1[]] test_receiver_user.py:10: *processed=*"])
    output = result.stdout.str()
    assert "pytest_lmif" not in output.split("short test summary info")[1]
    assert "not thread timing, so a rerun may not show this race again" in output
    assert "raise rounds=" in output
    assert "gives this test the same ids" not in output
