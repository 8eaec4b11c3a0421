"""The memory store's indexes answer exactly what a full scan of every delivery would."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock.records import Attempt, Delivery, DeliveryStatus
from lmif_mock.store import MemoryStore

AT = datetime(2024, 1, 1, tzinfo=timezone.utc)
STATUSES: list[DeliveryStatus] = ["pending", "succeeded", "failed"]

# A step: create or update delivery N (of event E, webhook W) to a status; or clear the store.
_STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.integers(0, 15), st.integers(0, 3), st.integers(0, 3), st.sampled_from(STATUSES)
        ),
        st.just("clear"),
    ),
    max_size=60,
)


def _scan(
    everything: dict[str, Delivery],
    event_id: str | None,
    webhook_id: str | None,
    status: DeliveryStatus | None,
) -> list[Delivery]:
    return [
        d
        for d in everything.values()
        if (event_id is None or d.event_id == event_id)
        and (webhook_id is None or d.webhook_id == webhook_id)
        and (status is None or d.status == status)
    ]


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS)
def test_every_filtered_query_equals_a_full_scan(
    steps: list[tuple[int, int, int, DeliveryStatus] | str],
) -> None:
    store = MemoryStore()
    reference: dict[str, Delivery] = {}  # insertion order is creation order
    for step in steps:
        if step == "clear":
            store.clear()
            reference.clear()
            continue
        assert not isinstance(step, str)
        number, event, webhook, status = step
        delivery_id = f"dlv_{number}"
        known = reference.get(delivery_id)
        if known is None:
            delivery = Delivery(delivery_id, f"evt_{event}", "box.created", f"wh_{webhook}", AT)
            delivery = delivery.with_attempt(Attempt(1, AT, 500, "http_error", 0.0), status, None)
        else:  # an update keeps event and webhook, as the dispatcher's do
            delivery = known.with_attempt(Attempt(2, AT, 200, None, 0.0), status, None)
        store.put_delivery(delivery)
        reference[delivery_id] = delivery
    for event_id in [None, "evt_0", "evt_1", "evt_9"]:
        for webhook_id in [None, "wh_0", "wh_2", "wh_9"]:
            for wanted in [None, *STATUSES]:
                expected = _scan(reference, event_id, webhook_id, wanted)
                got = store.list_deliveries(event_id, webhook_id, wanted)
                assert [d.id for d in got] == [d.id for d in expected], (
                    event_id,
                    webhook_id,
                    wanted,
                )
                assert got == expected
