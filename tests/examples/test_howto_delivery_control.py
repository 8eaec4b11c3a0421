from flask import Flask

from lmif_mock import DeliveryControl

app = Flask(__name__)


@app.post("/webhooks/lmif")
def lmif_webhook():
    return "this endpoint is gone", 410


def test_410_disables_the_endpoint(lmif_server):
    lmif_server.delivery_control = DeliveryControl(disable_after_failures=20)  # opt in
    webhook = lmif_server.webhooks.create(app, ["box.created"], path="/webhooks/lmif")
    lmif_server.emit("box.created")
    health = lmif_server.endpoint_health(webhook.id)
    assert health.state == "disabled"
    assert health.disabled_reason == "the receiver answered 410 Gone"
    assert lmif_server.deliveries()[0].status == "failed"  # no retries to a gone endpoint
