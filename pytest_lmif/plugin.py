"""The pytest plugin: one fake LMIF per session (per xdist worker), reset for every test.

Fixtures: ``lmif_server`` (the one most tests want), ``lmif_clock``, ``lmif_events``,
``lmif_shared_server`` (for ``@given`` tests), and ``lmif_server_options`` / ``lmif_seed`` to
override. Configuration: ``@pytest.mark.lmif(seed=..., retry_policy=..., timeout=...)``, the
``lmif_seed`` ini option and ``--lmif-seed`` (a base: each test derives its own seed from it and
its id, so tests see different ids, reproducibly). A failing test's report names the seed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest

from lmif_mock import LMIFServer, RateLimits, RetryPolicy, VirtualClock
from pytest_lmif import report
from pytest_lmif.builder import EventBuilder

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
    report.add_options(group)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "lmif(seed=None, retry_policy=None, timeout=None, rate_limits=None): configure "
        "lmif_server for this test (timeout in seconds replaces the retry policy's response "
        "timeout; rate_limits=True enforces the plan's documented limits, or a "
        "lmif_mock.RateLimits)",
    )
    report.configure(config)


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


@pytest.fixture
def lmif_server(
    request: pytest.FixtureRequest, lmif_shared_server: LMIFServer, lmif_seed: int
) -> LMIFServer:
    """A started fake LMIF on a virtual clock whose state no other test sees.

    ``url`` and ``api_key`` for HTTP clients; ``webhooks``, ``emit``, ``deliveries``, ``retry``,
    ``clock.advance`` for Python. Configure with ``@pytest.mark.lmif(seed=..., retry_policy=...,
    timeout=..., rate_limits=...)``; requests are counted against the plan's rate limits but
    refused only with ``rate_limits=True`` (or a ``RateLimits``), so tests are not throttled
    by accident.
    """
    server = lmif_shared_server
    marker = request.node.get_closest_marker("lmif")
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
    return server


@pytest.fixture
def lmif_clock(lmif_server: LMIFServer) -> VirtualClock:
    """``lmif_server``'s virtual clock: ``advance(minutes=5)`` runs the retries falling due."""
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Let ``@given`` tests take ``lmif_server`` without hypothesis's function-scoped-fixture
    health check failing them.

    The check exists because a function fixture is not reset between examples. Here that is
    expected and handled: ``assert_idempotent`` (and any test that calls ``lmif_server.reset()``
    first) starts every example from a clean fake, which is what the check protects.
    """
    for item in items:
        if "lmif_server" not in getattr(item, "fixturenames", ()):
            continue
        test = getattr(item, "obj", None)
        function: Any = getattr(test, "__func__", test)
        if not getattr(function, "is_hypothesis_test", False):
            continue
        from hypothesis import HealthCheck, settings

        current: settings = getattr(function, "_hypothesis_internal_use_settings", None) or (
            settings.default or settings()
        )
        function._hypothesis_internal_use_settings = settings(
            current,
            suppress_health_check={HealthCheck.function_scoped_fixture}
            | set(current.suppress_health_check),
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    seeds = item.stash.get(_SEED, None)
    if seeds is not None and report.failed:
        seed, base = seeds
        report.sections.append(
            (
                "lmif",
                f"fake LMIF seed {seed}: rerunning with --lmif-seed {base} reproduces it "
                f"(or pin it: @pytest.mark.lmif(seed={seed}))",
            )
        )
    return report


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop any server a fixture left running (e.g. after an interrupted session)."""
    running = session.config.stash.get(_RUNNING, [])
    for server in list(running):
        server.stop()
    running.clear()
