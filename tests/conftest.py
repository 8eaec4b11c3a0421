"""Shared test fixtures; pytester for testing the plugin the way pytest runs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from lmif_mock.server import LMIFServer
from tests.api_client import Client

pytest_plugins = ["pytester"]

# CI machines are shared: a busy core makes an example slow without anything being wrong, so no
# test of this suite may fail on hypothesis's per-example deadline or its too-slow health check.
# (Tests that set their own settings keep them; this is the default they start from.)
settings.register_profile("lmif-suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("lmif-suite")


@pytest.fixture(scope="module")
def server() -> Iterator[LMIFServer]:
    """A running fake shared by one test module (reset by ``api`` before each test)."""
    with LMIFServer(seed=0) as running:
        yield running


@pytest.fixture
def api(server: LMIFServer) -> Client:
    """A JSON client for the module's server, which starts each test empty."""
    server.reset()
    return Client(server.url, server.api_key)
