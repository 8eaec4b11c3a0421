"""The fake's API driven in process through werkzeug's test client, over a fake with one recording
receiver subscribed to every event: each accepted emit stores an event and a delivery, so a test of
refusals can count that a refused request stored nothing.

The test modules that use it bind the fixtures under the names their tests ask for::

    fake = pytest.fixture(fake_with_a_recorder)
    client = pytest.fixture(api_client)
"""

from __future__ import annotations

from werkzeug.test import Client

from lmif_mock import FakeLMIF
from lmif_mock.http.app import API
from tests.receivers import Recorder

KEY = "lmif_test_in_process"
HEADERS = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}


def fake_with_a_recorder() -> FakeLMIF:
    """A seeded fake whose one webhook, to a :class:`Recorder`, takes every event type."""
    engine = FakeLMIF(seed=0)
    engine.webhooks.create(Recorder(), ["*"])
    return engine


def api_client(fake: FakeLMIF) -> Client:
    """A test client of ``fake``'s API, accepting :data:`KEY`."""
    return Client(API(fake, KEY))
