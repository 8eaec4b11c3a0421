"""Checks that what a receiver must acknowledge is answered 2xx in time: every documented type,
non-ASCII text, types and fields the provider adds later, all inside the provider's timeout."""

from __future__ import annotations

from pytest_lmif.checks.signatures import reserialisation_evidence
from pytest_lmif.report import CheckResult
from pytest_lmif.session import CheckSession, answer, first_attempts, ok

#: Types the provider may add: a new category, and new actions in categories receivers know.
UNKNOWN_TYPES = ("avatar.teleported", "license.renewed", "box.archived")
#: Names a receiver must take as they come (accents, CJK, emoji).
NON_ASCII_NAMES = {
    "accents": "Zoë Ünal-Ørsted",
    "CJK": "山田 太郎",
    "emoji": "DJ 🎧 Nova ✨",
}


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
        cause = reserialisation_evidence(session) if refused_as_unsigned else None
        return CheckResult(
            "accepts_non_ascii_text",
            False,
            "valid events with non-ASCII names were not acknowledged",
            (*problems, cause or "bodies are UTF-8: decode them as UTF-8 and store text in a "
             "column or encoding that holds any character"),
        )  # fmt: skip
    return CheckResult("accepts_non_ascii_text", True, "accents, CJK and emoji in names accepted")


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
