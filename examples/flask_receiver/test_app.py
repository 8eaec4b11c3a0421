"""The Flask receiver, tested with the lmif pytest plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from examples.flask_receiver.app import create_app
from examples.ledger import Ledger
from lmif_mock import Faults, LMIFServer
from pytest_lmif import CHECK_NAMES, assert_receiver

SECRET = "lmif_whsec_flask_example"


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(tmp_path / "receiver.db")


@pytest.mark.parametrize("check", CHECK_NAMES)
def test_receiver_checks(check: str, lmif_server: LMIFServer, ledger: Ledger) -> None:
    app = create_app(SECRET, ledger)
    assert_receiver(app, secret=SECRET, processed=ledger.times_processed, path="/webhooks/lmif",
                    only=[check], fake=lmif_server, timeout=5)  # fmt: skip


def test_box_policy_follows_events_even_after_an_outage(
    lmif_server: LMIFServer, ledger: Ledger
) -> None:
    down = {"yes": True}
    inner = create_app(SECRET, ledger)

    def flaky(environ: dict[str, object], start_response: object) -> object:
        if down["yes"]:
            start_response("503 Service Unavailable", [])  # type: ignore[operator]
            return [b"maintenance"]
        return inner(environ, start_response)  # type: ignore[arg-type]

    lmif_server.webhooks.create(
        flaky, ["box.created", "box.updated"], SECRET, path="/webhooks/lmif"
    )
    created = lmif_server.emit("box.created", data={"policy": "MONETIZE"})
    box_id = created.data["boxId"]
    lmif_server.emit(
        "box.updated",
        data={"boxId": box_id, "changes": {"policy": {"from": "MONETIZE", "to": "BLOCK_ALL"}}},
    )
    assert ledger.box_policy(box_id) is None  # both deliveries failed so far
    down["yes"] = False
    lmif_server.clock.advance(minutes=1)  # the provider's first retry
    assert ledger.box_policy(box_id) == "BLOCK_ALL"
    assert {d.status for d in lmif_server.deliveries()} == {"succeeded"}


def test_a_lost_answer_means_a_duplicate_which_is_processed_once(
    lmif_server: LMIFServer, ledger: Ledger
) -> None:
    lmif_server.webhooks.create(create_app(SECRET, ledger), ["*"], SECRET, path="/webhooks/lmif")
    event = lmif_server.emit("grace_period.started", faults=Faults(drop_after_response=1))
    lmif_server.clock.advance(minutes=1)
    (delivery,) = lmif_server.deliveries(event_id=event.id)
    assert [a.status_code for a in delivery.attempts] == [200, 200]
    assert ledger.times_processed(event.id) == 1


def test_calls_the_api_back_on_box_created(lmif_server: LMIFServer, ledger: Ledger) -> None:
    app = create_app(SECRET, ledger, lmif_api=(lmif_server.url, lmif_server.api_key))
    lmif_server.webhooks.create(app, ["box.created"], SECRET, path="/webhooks/lmif")
    box = lmif_server.world.box_identity("Ada Lovelace", policy="MONETIZE", royalty_rate=0.15)
    fetched = app.config["boxes"][box.id]
    assert fetched["identityName"] == "Ada Lovelace"
    assert fetched["policyConfig"]["royaltyRate"] == 0.15
    assert fetched["policyConfig"]["minimumPayout"] == 100
