from hypothesis import given, settings

from pytest_lmif.strategies import assert_idempotent, delivery_plans
from tests.examples.test_howto_receiver import SECRET, acted_on, app


@settings(max_examples=20, deadline=None)
@given(plan=delivery_plans(types=["box.created", "violation.detected"]))
def test_any_delivery_plan_is_processed_once(lmif_server, plan):
    assert_idempotent(
        lmif_server,
        app,
        plan,
        secret=SECRET,
        path="/webhooks/lmif",
        processed=lambda event_id: acted_on.get(event_id, 0),
    )
