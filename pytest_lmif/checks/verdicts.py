"""The verdicts every effect-counting check shares: skipped without ``processed=``, inconclusive
when the receiver never acted or had not settled. Written once so that every check words them alike
and none of them turns "could not judge" into a pass."""

from __future__ import annotations

from pytest_lmif.report import CheckResult
from pytest_lmif.session import CheckSession
from pytest_lmif.settling import Settled


def needs_processed(name: str) -> CheckResult:
    """Skipped, saying how to run it: without a way to count effects the check cannot judge."""
    return CheckResult(
        name,
        None,
        "skipped: pass processed=lambda event_id: <times your receiver acted on it> to run it",
    )


def never_acted(name: str, session: CheckSession) -> CheckResult:
    """Inconclusive: no effect at all is no evidence of acting once, nor of acting twice."""
    return CheckResult(
        name,
        None,
        f"inconclusive: the receiver never acted on {session.event_type} within "
        f"{session.settler.limit if session.settler else 0:g} s; pass event_type= one it acts "
        "on, or a longer settle_timeout= if it acts later (a receiver that deduplicates on the "
        "type instead of the event id looks like this too: see distinct_events_processed)",
    )


def unsettled(name: str, session: CheckSession, settled: Settled) -> CheckResult:
    """No failure seen, but the receiver had not finished acting: not enough to pass."""
    return CheckResult(
        name,
        None,
        f"inconclusive: the receiver had not acted on every event it was sent, or kept "
        f"changing its effects, within settle_timeout="
        f"{session.settler.limit if session.settler else 0:g} s (first effect after "
        f"{settled.latency:.2f} s); pass a longer settle_timeout= so extra effects can show",
    )


def watched_for(settled: Settled) -> str:
    """How long extra effects were watched for, when the receiver was slow enough to matter."""
    if settled.latency < 0.05:
        return ""
    return f" (it acts {settled.latency:.2f} s after a delivery; watched {settled.waited:.1f} s)"
