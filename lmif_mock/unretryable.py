"""When retrying a delivery cannot succeed, and why: the one rule every place that offers a retry
(the API, the dashboard's button, the command ``serve`` prints) asks before offering it.

A delivery whose webhook was deleted has no URL left to send to: a retry would only record one
more ``webhook_deleted`` attempt, so it is refused with the reason instead of pretending.
"""

from __future__ import annotations

from lmif_mock.records import Delivery
from lmif_mock.store import Store


def why_not_retryable(delivery: Delivery, store: Store) -> str | None:
    """Why a retry of ``delivery`` cannot reach anyone, or None if it can be tried."""
    if store.get_webhook(delivery.webhook_id) is None:
        return (
            f"its webhook {delivery.webhook_id} was deleted, so a retry has nowhere to go; "
            "resend the event to a webhook that exists instead"
        )
    return None
