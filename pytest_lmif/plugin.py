"""The pytest plugin: one fake LMIF per session (per xdist worker), reset for every test.

Fixtures: ``lmif_server`` (the one most tests want), ``lmif_clock``, ``lmif_events``,
``lmif_shared_server`` (for ``@given`` tests), and ``lmif_server_options`` / ``lmif_seed`` to
override. Configuration: ``@pytest.mark.lmif(seed=..., retry_policy=..., timeout=...)``, the
``lmif_seed`` ini option and ``--lmif-seed`` (a base: each test derives its own seed from it and
its id, so tests see different ids, reproducibly). A failing test's report names the seed.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from lmif_mock import LMIFServer, RateLimits, RetryPolicy, VirtualClock
from pytest_lmif import coverage
from pytest_lmif.builder import EventBuilder
from pytest_lmif.report import ReceiverCheckFailed

_SEED = pytest.StashKey[tuple[int, int]]()  # (the test's seed, the session's base seed)
_RUNNING = pytest.StashKey[list[LMIFServer]]()
_MARKER_KEYS = {"seed", "retry_policy", "timeout", "rate_limits"}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lmif", "fake LMIF webhook provider")
    group.addoption(
        "--lmif-seed",
        type=int,
        default=None,
        help="seed for lmif_server ids, data and faults (overrides the lmif_seed ini option)",
    )
    parser.addini("lmif_seed", "default seed for the lmif_server fixture", default="0")
    coverage.add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lmif(seed=None, retry_policy=None, timeout=None, rate_limits=None): configure "
        "lmif_server for this test (timeout in seconds replaces the retry policy's response "
        "timeout; rate_limits=True enforces the plan's documented limits, or a "
        "lmif_mock.RateLimits)",
    )
    coverage.configure(config)


def seed_for_test(base: int, nodeid: str) -> int:
    """The seed one test gets: fixed by the session's base seed and the test's id.

    Every test sees different ids (a receiver whose database outlives one test must not take
    the next test's events for duplicates), and rerunning a test with the same base seed
    reproduces exactly what it saw.
    """
    return zlib.crc32(f"{base}:{nodeid}".encode())


@pytest.fixture(scope="session")
def lmif_seed(request: pytest.FixtureRequest) -> int:
    """The session's default seed: ``--lmif-seed``, else the ``lmif_seed`` ini option, else 0."""
    given = request.config.getoption("--lmif-seed")
    if given is not None:
        return int(given)
    return int(request.config.getini("lmif_seed"))


@pytest.fixture(scope="session")
def lmif_server_options() -> dict[str, Any]:
    """Extra ``LMIFServer`` arguments (override in your conftest, e.g. ``allowed_hosts``)."""
    return {}


@pytest.fixture(scope="session")
def lmif_shared_server(
    request: pytest.FixtureRequest, lmif_server_options: dict[str, Any], lmif_seed: int
) -> Iterator[LMIFServer]:
    """The session's running fake LMIF, not reset between tests: use it with ``@given``
    (a session fixture raises no health-check error) and reset it per example, as
    ``pytest_lmif.strategies.assert_idempotent`` does. Most tests want ``lmif_server``.
    """
    options = {"clock": VirtualClock(), "seed": lmif_seed, **lmif_server_options}
    server = LMIFServer(**options).start()
    running = request.config.stash.setdefault(_RUNNING, [])
    running.append(server)
    yield server
    server.stop()
    if server in running:
        running.remove(server)


@pytest.fixture(scope="session")
def lmif_server(lmif_shared_server: LMIFServer) -> LMIFServer:
    """A started fake LMIF on a virtual clock whose state no other test sees.

    ``url`` and ``api_key`` for HTTP clients; ``webhooks``, ``emit``, ``deliveries``, ``retry``,
    ``clock.advance`` for Python. Configure with ``@pytest.mark.lmif(seed=..., retry_policy=...,
    timeout=..., rate_limits=...)``; requests are counted against the plan's rate limits but
    refused only with ``rate_limits=True`` (or a ``RateLimits``), so tests are not throttled
    by accident. It is the session's server, reset and configured before each test that uses
    it (by the autouse ``_lmif_fresh_server``), which is why ``@given`` tests can take it
    without hypothesis's function-scoped-fixture health check: examples share it, and
    ``assert_idempotent`` gives every example fresh event ids.
    """
    return lmif_shared_server


@pytest.fixture(autouse=True)
def _lmif_fresh_server(request: pytest.FixtureRequest) -> None:
    """Reset and configure the fake for each test that uses ``lmif_server`` (or is marked)."""
    marker = request.node.get_closest_marker("lmif")
    # A marked test that takes no fixture of ours still gets its server configured (reachable
    # through lmif_shared_server, e.g. from the user's own fixture) rather than ignored.
    if "lmif_server" not in request.fixturenames and (
        marker is None or "lmif_events" in request.fixturenames
    ):
        ignored = sorted(set(marker.kwargs) - {"seed"}) if marker is not None else []
        if ignored:
            warnings.warn(
                pytest.PytestWarning(
                    f"@pytest.mark.lmif({', '.join(ignored)}=...) configures lmif_server, which "
                    "this test does not use (lmif_events takes only seed=)"
                ),
                stacklevel=2,
            )
        return
    server: LMIFServer = request.getfixturevalue("lmif_server")
    lmif_seed: int = request.getfixturevalue("lmif_seed")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - _MARKER_KEYS
    if unknown:
        raise pytest.UsageError(
            f"unknown lmif marker option(s) {sorted(unknown)}; known: {sorted(_MARKER_KEYS)}"
        )
    seed = (
        int(options["seed"]) if "seed" in options else seed_for_test(lmif_seed, request.node.nodeid)
    )
    server.seed = seed
    server.reset()
    policy = options.get("retry_policy")
    if policy is not None:
        if not isinstance(policy, RetryPolicy):
            raise pytest.UsageError("lmif marker: retry_policy must be a lmif_mock.RetryPolicy")
        server.retry_policy = policy
    timeout = options.get("timeout")
    if timeout is not None:
        server.retry_policy = RetryPolicy(server.retry_policy.delays, timeout=timeout)
    limits = options.get("rate_limits")
    if limits is not None:
        if not isinstance(limits, (bool, RateLimits)):
            raise pytest.UsageError("lmif marker: rate_limits must be a bool or a RateLimits")
        server.set_rate_limits(limits)
    request.node.stash[_SEED] = (seed, lmif_seed)


@pytest.fixture(scope="session")
def lmif_clock(lmif_server: LMIFServer) -> VirtualClock:
    """``lmif_server``'s virtual clock: ``advance(minutes=5)`` runs the retries falling due.

    Reset with the server before each test; session-scoped like it, so ``@given`` tests can
    take it too."""
    clock = lmif_server.clock
    assert isinstance(clock, VirtualClock)
    return clock


@pytest.fixture
def lmif_events(request: pytest.FixtureRequest, lmif_seed: int) -> EventBuilder:
    """Signed events and headers without delivering anything, for unit tests of a handler."""
    marker = request.node.get_closest_marker("lmif")
    if marker is not None and "seed" in marker.kwargs:
        seed = int(marker.kwargs["seed"])
    else:
        seed = seed_for_test(lmif_seed, request.node.nodeid)
    request.node.stash[_SEED] = (seed, lmif_seed)
    return EventBuilder(seed)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    seeds = item.stash.get(_SEED, None)
    if seeds is not None and report.failed:
        seed, base = seeds
        failure = call.excinfo.value if call.excinfo is not None else None
        if isinstance(failure, ReceiverCheckFailed) and failure.report.timing_dependent:
            text = (
                f"fake LMIF seed {seed}: the seed fixes ids, data and faults, not thread timing, "
                "so a rerun may not show this race again; the race is real all the same. To "
                "look harder, raise rounds= (or concurrency=) of the receiver checks"
            )
        else:
            text = (
                f"fake LMIF seed {seed}: rerunning with --lmif-seed {base} gives this test the "
                f"same ids, data and faults (or pin it: @pytest.mark.lmif(seed={seed}))"
            )
        report.sections.append(("lmif", text))
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop any server a fixture left running (e.g. after an interrupted session)."""
    running = session.config.stash.get(_RUNNING, [])
    for server in list(running):
        server.stop()
    running.clear()
