"""Checks of signature verification: forged and broken signatures refused with no side effect,
and verification done on the raw bytes (a receiver re-serialising JSON is told so)."""

from __future__ import annotations

from lmif_mock import SIGNATURE_FAULTS, Faults
from pytest_lmif.report import CheckResult
from pytest_lmif.session import CheckSession, answer, first_attempts, ok

#: A name every JSON encoder writes the same way, escaped or not.
ASCII_NAME = "Ada Lovelace"


def reserialisation_evidence(session: CheckSession) -> str | None:
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
