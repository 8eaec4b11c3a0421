"""The FastAPI receiver, tested with the lmif pytest plugin, in-process over ASGI."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.fastapi_receiver.app import create_app
from examples.ledger import Ledger
from lmif_mock import LMIFServer
from pytest_lmif import CHECK_NAMES, assert_receiver

SECRET = "lmif_whsec_fastapi_example"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "receiver.db")


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_receiver_checks(check: str, lmif_server: LMIFServer, ledger: Ledger) -> None:
    assert_receiver(create_app(SECRET, ledger), secret=SECRET, processed=ledger.times_processed,
                    path="/webhooks/lmif", only=[check], fake=lmif_server, timeout=5)  # fmt: skip


def test_shuffled_batch_is_each_processed_once(lmif_server: LMIFServer, ledger: Ledger) -> None:
    lmif_server.webhooks.create(create_app(SECRET, ledger), ["*"], SECRET, path="/webhooks/lmif")
    events = lmif_server.emit_many(
        ["box.created", "box.updated", "violation.detected"] * 3, shuffle=True
    )
    assert [ledger.times_processed(e.id) for e in events] == [1] * 9
