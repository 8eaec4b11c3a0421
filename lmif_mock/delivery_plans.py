"""What one emit turns into before anything is stored or sent: the deliveries, checked.

Per webhook: the original delivery, then the concurrent copies a fault asks for, then the
sequential ones, each carrying the faults that apply to it. Everything an emit can be refused for
is refused here, so that an emit is all or nothing.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from lmif_mock.events import Event
from lmif_mock.faults import FaultError, Faults
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.records import Delivery, Webhook
from lmif_mock.retry import RetryPolicy
from lmif_mock.retry_timing import first_attempt_due

#: At most this many deliveries come from one event (webhooks x (1 + duplicates of each kind)).
MAX_DELIVERIES_PER_EMIT = 10_000


def applicable_faults(faults: Faults, webhook: Webhook) -> Faults:
    """``faults`` as they can apply to ``webhook``: a previous secret needs a rotation."""
    if faults.signature == "previous_secret" and webhook.previous_secret is None:
        return replace(faults, signature=None)
    return faults


def count_deliveries(
    event: Event, faults: Faults, targets: list[Webhook], *, strict_faults: bool = True
) -> int:
    """How many deliveries ``event`` makes to ``targets``; typed errors for what cannot be sent.
    The event is encoded here, once, so one that cannot be is never stored.

    Faults given with the emit are checked strictly. The global defaults are not refused
    (``strict_faults=False``): they also ride on world events and timers, where a refusal
    would leave a transition half done or stop a clock advance part way.
    """
    if faults.signature == "previous_secret" and strict_faults:
        unrotated = [hook.id for hook in targets if hook.previous_secret is None]
        if unrotated:
            raise FaultError(
                f"previous_secret needs rotated webhooks; not rotated: {', '.join(unrotated)}"
            )
    copies = (1 + faults.duplicates + faults.concurrent_duplicates) * len(targets)
    if copies > MAX_DELIVERIES_PER_EMIT and strict_faults:
        raise FaultError(
            f"this emit would make {copies} deliveries; at most {MAX_DELIVERIES_PER_EMIT} "
            "per emit (the cap)"
        )
    # Encoded once here (or EncodingError before anything is stored); each webhook's copy is
    # then these bytes with its id spliced in (Event.for_webhook), and the store keeps them.
    event.body  # noqa: B018
    return copies


def plan_deliveries(
    event: Event,
    webhook: Webhook,
    faults: Faults,
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
) -> list[Delivery]:
    """The deliveries one webhook gets for ``event``: the original first, then the concurrent
    copies, then the sequential ones. Each carries the webhook's copy of the event's bytes
    (:meth:`Event.for_webhook`); duplicates share the original's bytes object."""
    due = first_attempt_due(now, faults)
    original = Delivery(
        id=new_id(PREFIXES["delivery"], rng),
        event_id=event.id,
        event_type=event.type,
        webhook_id=webhook.id,
        created_at=now,
        next_attempt_at=due,
        body=event.for_webhook(webhook.id).body,
        faults=faults,
        policy=policy,
    )
    if not faults.duplicates and not faults.concurrent_duplicates:
        return [original]  # the common case: no copies, so no copies' faults to make
    copies_faults = replace(faults, duplicates=0, concurrent_duplicates=0)

    def duplicate() -> Delivery:
        return replace(
            original,
            id=new_id(PREFIXES["delivery"], rng),
            faults=copies_faults,
            duplicate_of=original.id,
        )

    concurrent = [duplicate() for _ in range(faults.concurrent_duplicates)]
    sequential = [duplicate() for _ in range(faults.duplicates)]
    return [original, *concurrent, *sequential]
