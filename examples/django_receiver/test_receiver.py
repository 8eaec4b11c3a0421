"""The Django receiver, tested with the lmif pytest plugin, through Django's real WSGI handler."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.django_receiver import receiver
from examples.ledger import Ledger
from lmif_mock import Faults, LMIFServer
from pytest_lmif import CHECK_NAMES, assert_receiver

SECRET = "lmif_whsec_django_example"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(tmp_path / "receiver.db")
    receiver.configure(SECRET, ledger)
    return ledger


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_receiver_checks(check: str, lmif_server: LMIFServer, ledger: Ledger) -> None:
    assert_receiver(receiver.application, secret=SECRET, processed=ledger.times_processed,
                    path="/webhooks/lmif", only=[check], fake=lmif_server, timeout=5)  # fmt: skip


def test_grace_period_lifecycle(lmif_server: LMIFServer, ledger: Ledger) -> None:
    lmif_server.webhooks.create(receiver.application, ["*"], SECRET, path="/webhooks/lmif")
    started = lmif_server.emit("grace_period.started", faults=Faults(duplicates=1))
    lmif_server.clock.advance(days=30)
    expired = lmif_server.emit(
        "grace_period.expired",
        data={"gracePeriodId": started.data["gracePeriodId"], "boxId": started.data["boxId"]},
    )
    assert ledger.times_processed(started.id) == 1
    assert ledger.times_processed(expired.id) == 1
    assert all(d.status == "succeeded" for d in lmif_server.deliveries())


def test_get_is_refused_without_side_effects(lmif_server: LMIFServer, ledger: Ledger) -> None:
    from werkzeug.test import Client

    response = Client(receiver.application).get("/webhooks/lmif")
    assert response.status_code == 405
