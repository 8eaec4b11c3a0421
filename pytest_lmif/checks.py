"""The receiver checks: each one sends what a real provider (or attacker) sends and judges what
came back and, where the caller says how to read them, the receiver's side effects.

Every check is proven in this project's own tests to fail on a receiver with exactly the bug it
names (``tests/buggy_receivers.py``) and to pass on correct receivers written three ways. A check
only names a cause it has seen: a timeout is reported as a timeout, a refused duplicate as a
refusal, and a check that could not judge says so instead of passing.
"""

from __future__ import annotations

from collections.abc import Callable

from lmif_mock import SIGNATURE_FAULTS, Faults, RetryPolicy, VirtualClock
from pytest_lmif.races import switch_interval
from pytest_lmif.report import CheckResult
from pytest_lmif.session import (
    CheckSession,
    answer,
    first_attempts,
    new_event_id,
    ok,
)
from pytest_lmif.settling import Settled

#: Types the provider may add: a new category, and new actions in categories receivers know.
UNKNOWN_TYPES = ("avatar.teleported", "license.renewed", "box.archived")
#: Names a receiver must take as they come (accents, CJK, emoji).
NON_ASCII_NAMES = {
    "accents": "Zoë Ünal-Ørsted",
    "CJK": "山田 太郎",
    "emoji": "DJ 🎧 Nova ✨",
}
#: Other events sent between an event and its duplicate, to outlast a short memory (a receiver
#: remembering its last 8, or 16, ids forgets the original before the duplicate arrives).
INTERLEAVED = 24
#: A name every JSON encoder writes the same way, escaped or not.
ASCII_NAME = "Ada Lovelace"
FORGED_FIRST = ("wrong_secret", "missing")


def _needs_processed(name: str) -> CheckResult:
    return CheckResult(
        name,
        None,
        "skipped: pass processed=lambda event_id: <times your receiver acted on it> to run it",
    )


def _never_acted(name: str, session: CheckSession) -> CheckResult:
    return CheckResult(
        name,
        None,
        f"inconclusive: the receiver never acted on {session.event_type} within "
        f"{session.settler.limit if session.settler else 0:g} s; pass event_type= one it acts "
        "on, or a longer settle_timeout= if it acts later (a receiver that deduplicates on the "
        "type instead of the event id looks like this too: see distinct_events_processed)",
    )


def _unsettled(name: str, session: CheckSession, settled: Settled) -> CheckResult:
    """No failure seen, but the receiver had not finished acting: not enough to pass."""
    return CheckResult(
        name,
        None,
        f"inconclusive: the receiver had not acted on every event it was sent, or kept "
        f"changing its effects, within settle_timeout="
        f"{session.settler.limit if session.settler else 0:g} s (first effect after "
        f"{settled.latency:.2f} s); pass a longer settle_timeout= so extra effects can show",
    )


def _reserialisation_evidence(session: CheckSession) -> str | None:
    """Why a receiver refuses correctly signed bodies, if the cause is re-serialised JSON.

    An ASCII-only event is written the same by every compact encoder, so a receiver that
    verifies ``json.dumps(parsed)`` accepts it in the usual layout and refuses it pretty-printed.
    """
    (usual,) = first_attempts(session.emit(data={"identityName": ASCII_NAME}))
    if not ok(usual):
        return None
    (pretty,) = first_attempts(
        session.emit(data={"identityName": ASCII_NAME}, faults=Faults(layout="pretty"))
    )
    if pretty.status_code not in (400, 401, 403):
        return None
    return (
        f"a correctly signed ASCII-only event was accepted, the same event pretty-printed was "
        f"answered {answer(pretty)}: the receiver verifies re-serialised JSON, and re-encoding "
        "changes the bytes of non-ASCII text (escapes), so the signature no longer matches; "
        "verify the raw request body before parsing it (see verifies_raw_bytes)"
    )


def check_accepts_valid_events(session: CheckSession) -> CheckResult:
    """Every correctly signed event, of every type, is acknowledged with a 2xx."""
    problems = []
    for event_type in session.event_types:
        (attempt,) = first_attempts(session.emit(event_type))
        if not ok(attempt):
            problems.append(f"{event_type}: answered {answer(attempt)}")
    if problems:
        return CheckResult(
            "accepts_valid_events", False, "valid events were not acknowledged", tuple(problems)
        )
    count = len(session.event_types)
    return CheckResult("accepts_valid_events", True, f"{count} event types answered with 2xx")


def check_accepts_non_ascii_text(session: CheckSession) -> CheckResult:
    """Valid events whose names carry accents, CJK or emoji are acknowledged."""
    problems = []
    refused_as_unsigned = False
    for kind, name in NON_ASCII_NAMES.items():
        (attempt,) = first_attempts(session.emit(data={"identityName": name}))
        if not ok(attempt):
            problems.append(f"identityName {name!r} ({kind}): answered {answer(attempt)}")
            refused_as_unsigned = refused_as_unsigned or attempt.status_code in (400, 401, 403)
    if problems:
        cause = _reserialisation_evidence(session) if refused_as_unsigned else None
        return CheckResult(
            "accepts_non_ascii_text",
            False,
            "valid events with non-ASCII names were not acknowledged",
            (*problems, cause or "bodies are UTF-8: decode them as UTF-8 and store text in a "
             "column or encoding that holds any character"),
        )  # fmt: skip
    return CheckResult("accepts_non_ascii_text", True, "accents, CJK and emoji in names accepted")


def check_rejects_bad_signatures(session: CheckSession) -> CheckResult:
    """Every signature fault is answered 401 and leaves no side effect, looked up under the id
    the body that was sent carries (a tampered body carries another one)."""
    name = "rejects_bad_signatures"
    problems = []
    carried: dict[str, str] = {}
    for fault in SIGNATURE_FAULTS:
        (delivery,) = session.emit(faults=Faults(signature=fault), witnessed=True)
        attempt = delivery.attempts[0]
        carried[fault] = session.witness.last_event_id() or delivery.event_id
        if attempt.status_code != 401:
            hint = ""
            if fault == "truncated" and attempt.status_code == 500:
                hint = (
                    " - a signature of the wrong length crashed the receiver; the provider's "
                    "documented timingSafeEqual check throws when lengths differ: compare lengths "
                    "first (or use hmac.compare_digest / lmif_mock.verify) and answer 401"
                )
            problems.append(
                f"{fault} ({SIGNATURE_FAULTS[fault]}): answered {answer(attempt)}, "
                f"expected HTTP 401{hint}"
            )
    if session.settler is not None:
        (sentinel,) = session.emit()  # a genuine event after them: a queue reaches it last
        counts = session.counts(carried.values(), expect=[sentinel.event_id])
        for fault, event_id in carried.items():
            if counts[event_id]:
                problems.append(
                    f"{fault}: the receiver acted on {event_id} although its signature was bad"
                    " - verify before doing anything with the body, queued work included"
                )
    if problems:
        return CheckResult(name, False, "forged or broken signatures got through", tuple(problems))
    effects = "" if session.settler is not None else " (side effects not checked: no processed=)"
    return CheckResult(name, True, f"all {len(SIGNATURE_FAULTS)} signature faults got 401{effects}")


def check_verifies_raw_bytes(session: CheckSession) -> CheckResult:
    """A correctly signed body in another JSON layout is accepted: verification uses raw bytes.

    The baseline is ASCII-only, so a receiver verifying re-serialised JSON accepts it (every
    compact encoder writes it the same) and is judged here, not excused as inconclusive.
    """
    name = "verifies_raw_bytes"
    (baseline,) = first_attempts(session.emit(data={"identityName": ASCII_NAME}))
    if not ok(baseline):
        return CheckResult(
            name, None, f"inconclusive: the same event in the usual layout was answered "
            f"{answer(baseline)} (see accepts_valid_events)",
        )  # fmt: skip
    problems = []
    for layout in ("pretty", "ascii"):
        (attempt,) = first_attempts(
            session.emit(data={"identityName": "Zoë Ünal-Ørsted"}, faults=Faults(layout=layout))
        )
        if ok(attempt):
            continue
        if attempt.status_code in (400, 401, 403):
            problems.append(
                f"a correctly signed {layout}-layout body was answered {answer(attempt)}: the "
                "receiver seems to verify re-serialised JSON instead of the raw request body"
            )
        else:
            problems.append(f"a correctly signed {layout}-layout body: {answer(attempt)}")
    if problems:
        return CheckResult(name, False, "other JSON layouts were not accepted", tuple(problems))
    return CheckResult(name, True, "bodies in other JSON layouts verified")


def check_idempotent_sequential(session: CheckSession) -> CheckResult:
    """The same event delivered again (and again) is acknowledged and acted on once."""
    name = "idempotent_sequential"
    if session.settler is None:
        return _needs_processed(name)
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
        return _never_acted(name, session)
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
        return _unsettled(name, session, settled)
    return CheckResult(
        name, True, f"3 sequential deliveries of one event, acted on once{_watched(settled)}"
    )


def check_idempotent_concurrent(session: CheckSession) -> CheckResult:
    """Copies of one event arriving at one instant are acted on once (no check-then-insert race).

    A race shows only when copies overlap inside its window, so the check sends several rounds,
    each a fresh event, with the interpreter switching threads often while copies are in flight.
    """
    name = "idempotent_concurrent"
    if session.settler is None:
        return _needs_processed(name)
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
        return _never_acted(name, session)
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
        return _unsettled(name, session, settled)
    return CheckResult(
        name, True,
        f"{len(ids)} rounds of {probe.copies} simultaneous copies, each event acted on once "
        "(a race can still hide: raise rounds= to look harder)",
    )  # fmt: skip


def check_remembers_duplicates(session: CheckSession) -> CheckResult:
    """A duplicate arriving after other events and after a retry delay is still recognised."""
    name = "remembers_duplicates"
    if session.settler is None:
        return _needs_processed(name)
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
        return _never_acted(name, session)
    if counts[event_id] > 1:
        return CheckResult(
            name, False, "a later duplicate was processed again",
            (f"{event_id}, {how} after {INTERLEAVED} other events, was acted on "
             f"{counts[event_id]} times: the receiver forgets event ids too soon (an in-memory "
             "cache of recent ids?); keep processed ids durably, for longer than the provider's "
             "34-hour retry schedule",),
        )  # fmt: skip
    if not counts.complete:
        return _unsettled(name, session, counts)
    return CheckResult(
        name, True, f"a duplicate {how} after {INTERLEAVED} other events was not acted on again"
        f"{_watched(counts)}",
    )  # fmt: skip


def check_forged_copies_do_not_block(session: CheckSession) -> CheckResult:
    """Forged copies carrying a genuine event's id, sent first, do not stop the genuine one."""
    name = "forged_copies_do_not_block"
    if session.settler is None:
        return _needs_processed(name)
    (control,) = session.emit()  # an event never forged: shows the receiver acts at all
    event_id = new_event_id()
    for fault in FORGED_FIRST:
        session.emit(event_id=event_id, faults=Faults(signature=fault))
    (genuine,) = session.fake.resend(event_id, [session.webhook_id])
    counts = session.counts([control.event_id, event_id], expect=[control.event_id, event_id])
    if counts[control.event_id] == 0:
        return _never_acted(name, session)
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
        return _needs_processed(name)
    (first,) = session.emit()
    data = dict(session.data_of(first.event_id))
    (second,) = session.emit(data=data)
    ids = [first.event_id, second.event_id]
    counts = session.counts(ids, expect=ids)  # the second must show, as late as the bound allows
    if counts[first.event_id] == 0:
        return _never_acted(name, session)
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


def _watched(settled: Settled) -> str:
    """How long extra effects were watched for, when the receiver was slow enough to matter."""
    if settled.latency < 0.05:
        return ""
    return f" (it acts {settled.latency:.2f} s after a delivery; watched {settled.waited:.1f} s)"


def check_unknown_types_acknowledged(session: CheckSession) -> CheckResult:
    """Types the receiver has never heard of (a new category, or a new action in a known one,
    such as a future ``license.renewed``) are answered 2xx: the provider adds types."""
    problems = []
    for event_type in UNKNOWN_TYPES:
        (attempt,) = first_attempts(
            session.emit(event_type, allow_unknown=True, data={"note": "added later"})
        )
        if not ok(attempt):
            problems.append(f"{event_type}: answered {answer(attempt)}")
    if problems:
        return CheckResult(
            "unknown_types_acknowledged", False, "unknown event types were not acknowledged",
            (*problems, "answer 2xx and ignore types you do not handle (a default branch, not "
             "a KeyError); otherwise the provider retries them for 34 hours"),
        )  # fmt: skip
    shown = ", ".join(UNKNOWN_TYPES)
    return CheckResult("unknown_types_acknowledged", True, f"{shown} answered with 2xx")


def check_unknown_fields_tolerated(session: CheckSession) -> CheckResult:
    """Known events carrying fields added later (at the top of ``data`` and inside a known
    object) are answered 2xx."""
    extra = {"addedLater": {"flag": True}, "policyConfig": {"addedLaterToo": 1}}
    (attempt,) = first_attempts(session.emit(data=extra))
    if not ok(attempt):
        return CheckResult(
            "unknown_fields_tolerated", False, "an event with new fields was not acknowledged",
            (f"{session.event_type} with extra fields addedLater and policyConfig.addedLaterToo:"
             f" answered {answer(attempt)}; ignore fields you do not know (no strict model)",),
        )  # fmt: skip
    return CheckResult("unknown_fields_tolerated", True, "extra fields in known events accepted")


def check_answers_within_timeout(session: CheckSession) -> CheckResult:
    """The receiver answers inside the provider's timeout (30 s unless configured)."""
    session.emit()
    attempts = [
        a for d in session.fake.deliveries(webhook_id=session.webhook_id) for a in d.attempts
    ]
    timed_out = [a for a in attempts if a.error == "timeout"]
    if timed_out:
        return CheckResult(
            "answers_within_timeout", False,
            f"{len(timed_out)} of {len(attempts)} deliveries got no answer within "
            f"{session.timeout:g} s",
            ("acknowledge first and do slow work afterwards (a queue, a background task)",),
        )  # fmt: skip
    slowest = max((a.duration for a in attempts), default=0.0)
    return CheckResult(
        "answers_within_timeout",
        True,
        f"slowest answer {slowest * 1000:.0f} ms (limit {session.timeout:g} s)",
    )


CHECKS: dict[str, Callable[[CheckSession], CheckResult]] = {
    "accepts_valid_events": check_accepts_valid_events,
    "accepts_non_ascii_text": check_accepts_non_ascii_text,
    "rejects_bad_signatures": check_rejects_bad_signatures,
    "verifies_raw_bytes": check_verifies_raw_bytes,
    "idempotent_sequential": check_idempotent_sequential,
    "idempotent_concurrent": check_idempotent_concurrent,
    "remembers_duplicates": check_remembers_duplicates,
    "forged_copies_do_not_block": check_forged_copies_do_not_block,
    "distinct_events_processed": check_distinct_events_processed,
    "unknown_types_acknowledged": check_unknown_types_acknowledged,
    "unknown_fields_tolerated": check_unknown_fields_tolerated,
    "answers_within_timeout": check_answers_within_timeout,
}
#: The check names, in the order they run: parametrize over these for one pytest item each.
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)
