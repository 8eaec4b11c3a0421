import json

from flask import Flask

from lmif_mock import FakeLMIF, replay

app = Flask(__name__)


@app.post("/webhooks/lmif")
def lmif_webhook():
    return "OK", 200


def record_a_run() -> str:
    fake = FakeLMIF(seed=42)  # the same seed gives the same transcript, byte for byte
    fake.webhooks.create(app, ["*"], secret="lmif_whsec_demo", path="/webhooks/lmif")
    fake.emit("violation.detected", faults={"duplicates": 1})
    return json.dumps(fake.transcript(), indent=2)


def test_snapshot_and_replay(tmp_path):
    snapshot = tmp_path / "transcript.json"
    snapshot.write_text(record_a_run())
    assert record_a_run() == snapshot.read_text()  # stable: fit for a snapshot test
    results = replay(snapshot, app)  # the exact recorded requests, in order
    assert [r.status_code for r in results] == [200, 200]
