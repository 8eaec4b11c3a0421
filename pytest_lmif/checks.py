"""Receiver checks: one call that tells whether a webhook receiver is correct, check by check.

Each check drives the receiver through a fake LMIF and judges what came back (and, where the
caller says how to read them, the receiver's side effects). Every check is proven in this
project's own tests to fail on a receiver with exactly the bug it names and to pass on a correct
one.

``processed(event_id) -> int`` is how the checks see side effects: how many times the receiver
*acted* on that event (sent the email, created the row...). Count the effect, not the
deduplication record, or a receiver that records an id twice-safely but acts twice looks fine.
"""

from __future__ import annotations

import secrets as _secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lmif_mock import EVENT_TYPES, FakeLMIF, Faults, RetryPolicy
from lmif_mock.faults import SIGNATURE_FAULTS
from lmif_mock.records import Attempt, Delivery
from pytest_lmif.outcomes import receiver_checked

Processed = Callable[[str], int]
UNKNOWN_TYPE = "avatar.teleported"


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check, with what was seen, in words a person can act on."""

    name: str
    passed: bool | None  # None: could not be judged (skipped)
    summary: str
    problems: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        """Whether the check could not run (e.g. no ``processed`` callable was given)."""
        return self.passed is None

    def __str__(self) -> str:
        mark = "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"
        lines = [f"[{mark}] {self.name}: {self.summary}"]
        lines += [f"         - {problem}" for problem in self.problems]
        return "\n".join(lines)


class ReceiverCheckFailed(AssertionError):
    """Raised by :meth:`ReceiverReport.assert_ok` with the whole report as its message."""


@dataclass
class ReceiverReport:
    """All check results for one receiver."""

    target: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No check failed (skipped checks do not count as failures)."""
        return all(r.passed is not False for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if r.passed is False]

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def assert_ok(self) -> None:
        """Raise :class:`ReceiverCheckFailed` listing every result if any check failed."""
        if not self.passed:
            raise ReceiverCheckFailed(str(self))

    def __str__(self) -> str:
        failed = len(self.failures)
        verdict = f"{failed} failed" if failed else "all passed"
        head = f"LMIF receiver checks for {self.target}: {verdict}"
        return "\n".join([head, *(str(r) for r in self.results)])


@dataclass
class _Context:
    fake: FakeLMIF
    webhook_id: str
    secret: str
    processed: Processed | None
    event_type: str
    event_types: Sequence[str]
    concurrency: int
    timeout: float

    def emit(self, event_type: str | None = None, **kwargs: Any) -> list[Delivery]:
        # Fresh ids every run: a receiver's database outlives one check run, and a repeated
        # id would look like a duplicate to a correct receiver.
        event = self.fake.emit(
            event_type or self.event_type,
            event_id="evt_check" + _secrets.token_hex(8),
            webhook_ids=[self.webhook_id],
            retry_policy=RetryPolicy.no_retries(self.timeout),
            **kwargs,
        )
        return self.fake.deliveries(event_id=event.id)

    def count(self, event_id: str) -> int:
        assert self.processed is not None
        return int(self.processed(event_id))


def _answer(attempt: Attempt) -> str:
    if attempt.status_code is not None:
        return f"HTTP {attempt.status_code}"
    return f"{attempt.error} ({attempt.message})"


def _ok(attempt: Attempt) -> bool:
    return attempt.status_code is not None and 200 <= attempt.status_code < 300


def _needs_processed(name: str) -> CheckResult:
    return CheckResult(
        name,
        None,
        "skipped: pass processed=lambda event_id: <times your receiver acted on it> to run it",
    )


def check_accepts_valid_events(ctx: _Context) -> CheckResult:
    """Every correctly signed event, of every type, is acknowledged with a 2xx."""
    problems = []
    for event_type in ctx.event_types:
        (delivery,) = ctx.emit(event_type)
        attempt = delivery.attempts[0]
        if not _ok(attempt):
            problems.append(f"{event_type} {delivery.event_id}: answered {_answer(attempt)}")
    if problems:
        return CheckResult(
            "accepts_valid_events", False, "valid events were refused", tuple(problems)
        )
    return CheckResult(
        "accepts_valid_events", True, f"{len(ctx.event_types)} event types answered with 2xx"
    )


def check_rejects_bad_signatures(ctx: _Context) -> CheckResult:
    """Every signature fault is answered 401 and leaves no side effect."""
    problems = []
    for fault in SIGNATURE_FAULTS:
        (delivery,) = ctx.emit(faults=Faults(signature=fault))
        attempt = delivery.attempts[0]
        if attempt.status_code != 401:
            hint = ""
            if fault == "truncated" and attempt.status_code == 500:
                hint = (
                    " - a signature of the wrong length crashed the receiver; the provider's "
                    "documented timingSafeEqual check throws when lengths differ: compare lengths "
                    "first (or use hmac.compare_digest / lmif_mock.verify) and answer 401"
                )
            problems.append(
                f"{fault} ({SIGNATURE_FAULTS[fault]}): answered {_answer(attempt)}, "
                f"expected HTTP 401{hint}"
            )
        if ctx.processed is not None and ctx.count(delivery.event_id) != 0:
            problems.append(f"{fault}: the receiver acted on an event whose signature was bad")
    if problems:
        return CheckResult(
            "rejects_bad_signatures",
            False,
            "forged or broken signatures got through",
            tuple(problems),
        )
    effects = "" if ctx.processed is not None else " (side effects not checked: no processed=)"
    return CheckResult(
        "rejects_bad_signatures",
        True,
        f"all {len(SIGNATURE_FAULTS)} signature faults got 401{effects}",
    )


def check_verifies_raw_bytes(ctx: _Context) -> CheckResult:
    """A correctly signed body in another JSON layout is accepted: verification uses raw bytes."""
    problems = []
    for layout in ("pretty", "ascii"):
        (delivery,) = ctx.emit(
            data={"identityName": "Zoë Ünal-Ørsted"}, faults=Faults(layout=layout)
        )
        attempt = delivery.attempts[0]
        if not _ok(attempt):
            problems.append(
                f"a correctly signed {layout}-layout body was answered {_answer(attempt)}: the "
                "receiver seems to verify re-serialised JSON instead of the raw request body"
            )
    if problems:
        return CheckResult(
            "verifies_raw_bytes", False, "verification is not over the raw body", tuple(problems)
        )
    return CheckResult("verifies_raw_bytes", True, "bodies in other JSON layouts verified")


def check_idempotent_sequential(ctx: _Context) -> CheckResult:
    """The same event delivered again (and again) is acknowledged and acted on once."""
    name = "idempotent_sequential"
    if ctx.processed is None:
        return _needs_processed(name)
    deliveries = ctx.emit(faults=Faults(duplicates=2))
    event_id = deliveries[0].event_id
    problems = [
        f"copy {i + 1}: answered {_answer(d.attempts[0])}"
        for i, d in enumerate(deliveries)
        if not _ok(d.attempts[0])
    ]
    count = ctx.count(event_id)
    if count == 0:
        never = f"inconclusive: the receiver never acted on {ctx.event_type}"
        return CheckResult(name, None, never + "; pass event_type= one it acts on")
    if count != 1:
        problems.append(
            f"{event_id} delivered 3 times one after another was acted on {count} times"
        )
    if problems:
        return CheckResult(name, False, "duplicates were processed again", tuple(problems))
    return CheckResult(name, True, "3 sequential deliveries of one event, acted on once")


def check_idempotent_concurrent(ctx: _Context) -> CheckResult:
    """Copies of one event arriving at one instant are acted on once (no check-then-insert race)."""
    name = "idempotent_concurrent"
    if ctx.processed is None:
        return _needs_processed(name)
    copies = ctx.concurrency
    deliveries = ctx.emit(faults=Faults(concurrent_duplicates=copies - 1))
    event_id = deliveries[0].event_id
    problems = [
        f"copy {i + 1}: answered {_answer(d.attempts[0])}"
        for i, d in enumerate(deliveries)
        if d.attempts[0].status_code is None or d.attempts[0].status_code >= 500
    ]
    count = ctx.count(event_id)
    if count == 0:
        return CheckResult(
            name, None, f"inconclusive: the receiver never acted on {ctx.event_type}"
        )
    if count != 1:
        problems.append(
            f"{event_id} delivered {copies} times at the same instant was acted on {count} times: "
            "a check-then-insert race; make the 'already processed?' check and the insert atomic "
            "(a unique constraint, or a lock)"
        )
    if problems:
        return CheckResult(
            name, False, "concurrent duplicates were processed more than once", tuple(problems)
        )
    return CheckResult(name, True, f"{copies} simultaneous deliveries of one event, acted on once")


def check_unknown_types_acknowledged(ctx: _Context) -> CheckResult:
    """An event type the receiver has never heard of is answered 2xx (the provider adds types)."""
    (delivery,) = ctx.emit(UNKNOWN_TYPE, allow_unknown=True, data={"avatarId": "avatar_unknown"})
    attempt = delivery.attempts[0]
    if not _ok(attempt):
        return CheckResult(
            "unknown_types_acknowledged",
            False,
            f"an unknown event type ({UNKNOWN_TYPE}) was answered {_answer(attempt)}",
            ("answer 2xx and ignore types you do not handle; otherwise the provider retries "
             "them for 34 hours",),
        )  # fmt: skip
    return CheckResult("unknown_types_acknowledged", True, f"{UNKNOWN_TYPE} answered with 2xx")


def check_answers_within_timeout(ctx: _Context) -> CheckResult:
    """The receiver answers inside the provider's timeout (30 s unless configured)."""
    (delivery,) = ctx.emit()
    attempt = delivery.attempts[0]
    slowest = max(
        (a.duration for d in ctx.fake.deliveries(webhook_id=ctx.webhook_id) for a in d.attempts),
        default=attempt.duration,
    )
    timed_out = [
        d.event_id
        for d in ctx.fake.deliveries(webhook_id=ctx.webhook_id)
        if any(a.error == "timeout" for a in d.attempts)
    ]
    if timed_out:
        return CheckResult(
            "answers_within_timeout",
            False,
            f"{len(timed_out)} deliveries got no answer within {ctx.timeout:g} s",
            ("acknowledge first and do slow work afterwards (a queue, a background task)",),
        )
    return CheckResult(
        "answers_within_timeout",
        True,
        f"slowest answer {slowest * 1000:.0f} ms (limit {ctx.timeout:g} s)",
    )


CHECKS: dict[str, Callable[[_Context], CheckResult]] = {
    "accepts_valid_events": check_accepts_valid_events,
    "rejects_bad_signatures": check_rejects_bad_signatures,
    "verifies_raw_bytes": check_verifies_raw_bytes,
    "idempotent_sequential": check_idempotent_sequential,
    "idempotent_concurrent": check_idempotent_concurrent,
    "unknown_types_acknowledged": check_unknown_types_acknowledged,
    "answers_within_timeout": check_answers_within_timeout,
}
#: The check names, in the order they run: parametrize over these for one pytest item each.
CHECK_NAMES: tuple[str, ...] = tuple(CHECKS)


def check_receiver(
    target: Any,
    *,
    secret: str,
    processed: Processed | None = None,
    path: str = "/",
    only: Iterable[str] | None = None,
    event_type: str = "box.created",
    event_types: Sequence[str] = EVENT_TYPES,
    concurrency: int = 4,
    timeout: float = 30.0,
    fake: FakeLMIF | None = None,
    seed: int = 0,
) -> ReceiverReport:
    """Run the receiver checks against ``target`` (a URL, a WSGI app or an ASGI app).

    ``secret`` is the webhook secret the receiver verifies with; ``processed`` reads its side
    effects (see the module docstring); ``only`` picks checks by name (see :data:`CHECK_NAMES`);
    ``event_type`` is one the receiver acts on; ``timeout`` is the provider's 30 s unless lowered to
    keep a suite fast. ``fake`` reuses a running fake (e.g. the ``lmif_server`` fixture); it is
    reset first. Otherwise a fresh in-process one is made and closed.
    """
    chosen = list(CHECK_NAMES if only is None else only)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECK_NAMES)}")
    if concurrency < 2:
        raise ValueError("concurrency must be at least 2 (the original plus one copy)")
    own = fake is None
    engine = FakeLMIF(seed=seed) if fake is None else fake
    if not own:
        engine.reset()
    try:
        old = "lmif_whsec_previous_" + _secrets.token_hex(8)
        webhook = engine.webhooks.create(target, ["*"], old, path=path)
        engine.webhooks.rotate_secret(webhook.id, secret)  # so previous_secret is a real old one
        ctx = _Context(
            engine, webhook.id, secret, processed, event_type, event_types, concurrency, timeout
        )
        report = ReceiverReport(getattr(target, "__name__", None) or str(webhook.url))
        for name in chosen:
            report.results.append(CHECKS[name](ctx))
        receiver_checked(report, engine)
        return report
    finally:
        if own:
            engine.close()
