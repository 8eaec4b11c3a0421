"""Shared test fixtures; pytester for testing the plugin the way pytest runs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lmif_mock.server import LMIFServer
from tests.api_client import Client

pytest_plugins = ["pytester"]


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
