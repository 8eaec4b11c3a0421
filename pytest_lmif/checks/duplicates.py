"""Checks of idempotency: a duplicate, whether sent again, sent at the same instant, retried after
other events or preceded by forged copies, is acted on exactly once; two distinct events both are.
They count the receiver's side effects, so each needs ``processed=``."""

from __future__ import annotations

from lmif_mock import Faults, RetryPolicy, VirtualClock
from pytest_lmif.checks.verdicts import needs_processed, never_acted, unsettled, watched_for
from pytest_lmif.races import switch_interval
from pytest_lmif.report import CheckResult
from pytest_lmif.session import CheckSession, answer, first_attempts, new_event_id, ok

#: Other events sent between an event and its duplicate, to outlast a short memory (a receiver
#: remembering its last 8, or 16, ids forgets the original before the duplicate arrives).
INTERLEAVED = 24
FORGED_FIRST = ("wrong_secret", "missing")


def check_idempotent_sequential(session: CheckSession) -> CheckResult:
    """The same event delivered again (and again) is acknowledged and acted on once."""
    name = "idempotent_sequential"
    if session.settler is None:
        return needs_processed(name)
    deliveries = session.emit(faults=Faults(duplicates=2))
    event_id = deliveries[0].event_id
    refused = [
        f"copy {i + 1}: answered {answer(a)}"
        for i, a in enumerate(first_attempts(deliveries))
        if not ok(a)
    ]
    settled = session.counts([event_id], expect=[event_id])
    count = settled[event_id]
    if count == 0:
        return never_acted(name, session)
    if count > 1:
        return CheckResult(
            name, False, "duplicates were processed again",
            (f"{event_id} delivered 3 times one after another was acted on {count} times: "
             "record each event id once (a unique key) and skip ids already recorded", *refused),
        )  # fmt: skip
    if refused:
        return CheckResult(
            name, False, "duplicates were acted on once but not acknowledged with a 2xx",
            (*refused, "answer 2xx to a duplicate, or the provider retries it for 34 hours"),
        )  # fmt: skip
    if not settled.complete:
        return unsettled(name, session, settled)
    return CheckResult(
        name, True, f"3 sequential deliveries of one event, acted on once{watched_for(settled)}"
    )


def check_idempotent_concurrent(session: CheckSession) -> CheckResult:
    """Copies of one event arriving at one instant are acted on once (no check-then-insert race).

    A race shows only when copies overlap inside its window, so the check sends several rounds,
    each a fresh event, with the interpreter switching threads often while copies are in flight.
    """
    name = "idempotent_concurrent"
    if session.settler is None:
        return needs_processed(name)
    probe = session.probe
    ids: list[str] = []
    refused: list[str] = []
    for _ in range(probe.rounds):
        with switch_interval(probe.switch_interval):
            if session.gate is not None and probe.gate:
                with session.gate.holding(probe.copies):
                    deliveries = session.emit(faults=Faults(concurrent_duplicates=probe.copies - 1))
            else:
                deliveries = session.emit(faults=Faults(concurrent_duplicates=probe.copies - 1))
        ids.append(deliveries[0].event_id)
        refused += [
            f"{ids[-1]} copy {i + 1}: answered {answer(a)}"
            for i, a in enumerate(first_attempts(deliveries))
            if a.status_code is None or a.status_code >= 500
        ]
        if session.settler.read([ids[-1]])[ids[-1]] > 1:
            break  # caught: more rounds would only cost time
    settled = session.counts(ids, expect=ids[:1])
    if not any(settled.counts.values()):
        return never_acted(name, session)
    raced = {event_id: count for event_id, count in settled.counts.items() if count > 1}
    problems = [
        f"{event_id} delivered {probe.copies} times at the same instant was acted on {count} "
        "times: a check-then-insert race; make the 'already processed?' check and the insert "
        "one atomic step (INSERT ... ON CONFLICT DO NOTHING on a unique key, or a lock)"
        for event_id, count in raced.items()
    ]
    if problems:
        return CheckResult(
            name, False, "concurrent duplicates were processed more than once",
            (*problems, *refused), timing_dependent=True,
        )  # fmt: skip
    if refused:
        return CheckResult(
            name, False, "simultaneous copies crashed or failed the receiver", tuple(refused)
        )
    if not settled.complete:
        return unsettled(name, session, settled)
    return CheckResult(
        name, True,
        f"{len(ids)} rounds of {probe.copies} simultaneous copies, each event acted on once "
        "(a race can still hide: raise rounds= to look harder)",
    )  # fmt: skip


def check_remembers_duplicates(session: CheckSession) -> CheckResult:
    """A duplicate arriving after other events and after a retry delay is still recognised."""
    name = "remembers_duplicates"
    if session.settler is None:
        return needs_processed(name)
    virtual = isinstance(session.fake.clock, VirtualClock)
    if virtual:  # the 2xx is "lost", so the provider retries a minute later
        policy = RetryPolicy(delays=(0, 60), timeout=session.timeout)
        (first,) = session.emit(faults=Faults(drop_after_response=1), retry_policy=policy)
    else:
        (first,) = session.emit()
    others = [session.emit()[0].event_id for _ in range(INTERLEAVED)]
    if isinstance(session.fake.clock, VirtualClock):
        session.fake.clock.advance(seconds=60)
        how = "retried by the provider a minute later"
    else:
        session.fake.resend(first.event_id, [session.webhook_id])
        how = "sent again"
    event_id = first.event_id
    counts = session.counts([event_id, *others], expect=[event_id, *others])
    if counts[event_id] == 0:
        return never_acted(name, session)
    if counts[event_id] > 1:
        return CheckResult(
            name, False, "a later duplicate was processed again",
            (f"{event_id}, {how} after {INTERLEAVED} other events, was acted on "
             f"{counts[event_id]} times: the receiver forgets event ids too soon (an in-memory "
             "cache of recent ids?); keep processed ids durably, for longer than the provider's "
             "34-hour retry schedule",),
        )  # fmt: skip
    if not counts.complete:
        return unsettled(name, session, counts)
    return CheckResult(
        name, True, f"a duplicate {how} after {INTERLEAVED} other events was not acted on again"
        f"{watched_for(counts)}",
    )  # fmt: skip


def check_forged_copies_do_not_block(session: CheckSession) -> CheckResult:
    """Forged copies carrying a genuine event's id, sent first, do not stop the genuine one."""
    name = "forged_copies_do_not_block"
    if session.settler is None:
        return needs_processed(name)
    (control,) = session.emit()  # an event never forged: shows the receiver acts at all
    event_id = new_event_id()
    for fault in FORGED_FIRST:
        session.emit(event_id=event_id, faults=Faults(signature=fault))
    (genuine,) = session.fake.resend(event_id, [session.webhook_id])
    counts = session.counts([control.event_id, event_id], expect=[control.event_id, event_id])
    if counts[control.event_id] == 0:
        return never_acted(name, session)
    attempt = genuine.attempts[0] if genuine.attempts else None
    if counts[event_id] == 1:
        return CheckResult(name, True, "the genuine event was processed after forged copies")
    if counts[event_id] == 0:
        said = f" (it answered {answer(attempt)})" if attempt is not None else ""
        return CheckResult(
            name, False, "forged copies blocked the genuine event",
            (f"after {len(FORGED_FIRST)} forged copies carrying {event_id}, the correctly signed "
             f"event was never acted on{said}: the receiver records an event id as seen before "
             "verifying its signature; verify first, then deduplicate",),
        )  # fmt: skip
    return CheckResult(
        name, False, "forged copies were acted on",
        (f"{event_id} was acted on {counts[event_id]} times: forged copies counted",),
    )  # fmt: skip


def check_distinct_events_processed(session: CheckSession) -> CheckResult:
    """Two different events of one type (even with the same data) are both processed."""
    name = "distinct_events_processed"
    if session.settler is None:
        return needs_processed(name)
    (first,) = session.emit()
    data = dict(session.data_of(first.event_id))
    (second,) = session.emit(data=data)
    ids = [first.event_id, second.event_id]
    counts = session.counts(ids, expect=ids)  # the second must show, as late as the bound allows
    if counts[first.event_id] == 0:
        return never_acted(name, session)
    if counts[second.event_id] == 0:
        return CheckResult(
            name, False, "a second, different event of the same type was dropped",
            (f"{second.event_id} ({session.event_type}, same data as {first.event_id}, "
             f"different id) was never acted on in {counts.waited:.1f} s (settle_timeout): the "
             "receiver deduplicates on the type or on a data field; deduplicate on the event "
             "id only",),
        )  # fmt: skip
    assert session.settler is not None
    late = session.settler.latency(second.event_id) or 0.0
    when = (
        f" (the second late: {late:.2f} s after it was sent)"
        if late > session.settler.quiet
        else ""
    )
    return CheckResult(
        name, True, f"two {session.event_type} events with one data, both processed{when}"
    )
