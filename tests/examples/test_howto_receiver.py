import threading
from collections import Counter

import pytest
from flask import Flask, request

from lmif_mock import Faults, verify
from pytest_lmif import CHECK_NAMES, assert_receiver

SECRET = "lmif_whsec_my_receiver"
seen: set[str] = set()
acted_on: Counter[str] = Counter()  # what the receiver did, per event id
lock = threading.Lock()
app = Flask(__name__)


@app.post("/webhooks/lmif")
def lmif_webhook():
    raw = request.get_data()  # verify the exact bytes, before parsing
    if not verify(raw, request.headers.get("X-LMIF-Signature"), SECRET):
        return "invalid signature", 401
    event = request.get_json()
    with lock:  # check and record as one step (in a database: INSERT ... ON CONFLICT DO NOTHING)
        first_time = event["id"] not in seen
        seen.add(event["id"])
    if first_time:
        acted_on[event["id"]] += 1  # the side effect, counted: a duplicate would show as 2
    return "OK", 200


@pytest.mark.parametrize("check", CHECK_NAMES)  # one test per check, each with a readable report
def test_my_receiver(check, lmif_server):
    assert_receiver(
        app,
        secret=SECRET,
        path="/webhooks/lmif",
        only=[check],
        fake=lmif_server,
        processed=lambda event_id: acted_on.get(event_id, 0),
        timeout=5,
    )


def test_a_retry_after_an_outage(lmif_server):
    lmif_server.webhooks.create(app, ["box.created"], SECRET, path="/webhooks/lmif")
    event = lmif_server.emit("box.created", faults=Faults(drop_after_response=1))
    lmif_server.clock.advance(minutes=1)  # the provider's first retry, instantly
    assert [a.status_code for a in lmif_server.deliveries(event_id=event.id)[0].attempts] == [
        200,
        200,
    ]
    assert acted_on[event.id] == 1
