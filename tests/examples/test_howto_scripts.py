from flask import Flask, request

from lmif_mock import Faults

acted_on: dict[str, int] = {}
app = Flask(__name__)


@app.post("/webhooks/lmif")
def lmif_webhook():
    event_id = request.get_json()["id"]
    acted_on[event_id] = acted_on.get(event_id, 0) + 1  # a bug: no deduplication
    return "OK", 200


def test_answers_lost_twice(lmif_server):
    lmif_server.webhooks.create(app, ["box.created"], path="/webhooks/lmif")
    event = lmif_server.emit("box.created", faults=Faults(script="1-2: drop; 3: ok"))
    lmif_server.clock.advance(minutes=6)  # the retries at 1 and 5 minutes
    [delivery] = lmif_server.deliveries(event_id=event.id)
    assert [a.script for a in delivery.attempts] == ["drop", "drop", "ok"]
    assert acted_on[event.id] == 3  # what a test of a correct receiver would assert is 1


def test_a_late_copy_arrives_with_the_retry(lmif_server):
    lmif_server.webhooks.create(app, ["box.created"], path="/webhooks/lmif")
    script = "1: delay 40s, drop; 2: arrive with 3"
    event = lmif_server.emit("box.created", faults=Faults(script=script))
    lmif_server.clock.advance(minutes=7)
    attempts = lmif_server.deliveries(event_id=event.id)[0].attempts
    assert attempts[1].error == "delayed"
    assert attempts[2].script == "late copy of attempt 2 arrived with it: answered 200"
