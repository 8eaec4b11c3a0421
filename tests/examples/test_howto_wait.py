from flask import Flask

from lmif_mock import LMIFServer, RealClock, RetryPolicy

answers = [500, 503]  # the receiver is down for two attempts, then recovers
app = Flask(__name__)


@app.post("/webhooks/lmif")
def lmif_webhook():
    return ("down", answers.pop(0)) if answers else ("OK", 200)


def test_waiting_for_retries_on_a_real_clock():
    quick = RetryPolicy(delays=[0, 0.05, 0.05], timeout=10)  # seconds, on the wall clock
    with LMIFServer(clock=RealClock(), retry_policy=quick) as server:
        server.webhooks.create(app, ["box.created"], path="/webhooks/lmif")
        event = server.emit("box.created")
        [delivery] = server.wait_for(event=event, status="succeeded", timeout=30)
        assert [a.status_code for a in delivery.attempts] == [500, 503, 200]
        server.wait_idle(timeout=30)  # nothing in flight, nothing pending
