"""``check_receiver``: point the receiver checks at a URL, a WSGI app or an ASGI app."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from lmif_mock import EVENT_TYPES, FakeLMIF
from pytest_lmif.checks import CHECK_NAMES, CHECKS
from pytest_lmif.outcomes import receiver_checked
from pytest_lmif.races import RaceProbe, gate_for
from pytest_lmif.report import ReceiverReport
from pytest_lmif.session import CheckSession, Witness
from pytest_lmif.settling import EffectCounter, Settler


def check_receiver(
    target: Any,
    *,
    secret: str,
    processed: EffectCounter | None = None,
    path: str | None = None,
    only: Iterable[str] | None = None,
    event_type: str = "box.created",
    event_types: Sequence[str] = EVENT_TYPES,
    concurrency: int = RaceProbe.copies,
    rounds: int = RaceProbe.rounds,
    timeout: float = 30.0,
    settle: float = 0.1,
    settle_timeout: float = 5.0,
    fake: FakeLMIF | None = None,
    seed: int = 0,
    race_probe: RaceProbe | None = None,
) -> ReceiverReport:
    """Run the receiver checks against ``target`` (a URL, a WSGI app or an ASGI app).

    ``secret`` is the webhook secret the receiver verifies with. ``processed(event_id)`` reads
    its side effects: how many times it *acted* on that event (count the effect, not the
    deduplication record); it is polled until the counts have not changed for ``settle``
    seconds, waiting at most ``settle_timeout`` seconds for an expected effect, so receivers that
    act in a background worker are judged too. ``only`` picks checks by name (see
    :data:`CHECK_NAMES`); ``event_type`` is one the receiver acts on; ``path`` is where an
    in-process app listens (a URL target carries its own path). ``concurrency`` copies of an
    event are sent at once in each of ``rounds`` rounds to expose a check-then-insert race.
    ``timeout`` is the provider's 30 s unless lowered to keep a suite fast. ``fake`` reuses a
    running fake (e.g. the ``lmif_server`` fixture); it is reset first. Otherwise a fresh
    in-process one is made and closed. ``race_probe`` replaces ``concurrency`` and ``rounds``
    with every knob of the race probe (see :class:`pytest_lmif.races.RaceProbe`).
    """
    chosen = list(CHECK_NAMES if only is None else only)
    unknown = [name for name in chosen if name not in CHECKS]
    if unknown:
        raise ValueError(f"unknown check(s) {unknown}; known: {', '.join(CHECK_NAMES)}")
    probe = race_probe or RaceProbe(copies=concurrency, rounds=rounds)
    if probe.copies < 2:
        raise ValueError("concurrency must be at least 2 (the original plus one copy)")
    if probe.rounds < 1:
        raise ValueError("rounds must be at least 1")
    if isinstance(target, str) and path is not None:
        raise ValueError(
            f"path={path!r} is for in-process apps; a URL target carries its own path: "
            "put it in the URL"
        )
    settler = None if processed is None else Settler(processed, quiet=settle, limit=settle_timeout)
    own = fake is None
    engine = FakeLMIF(seed=seed) if fake is None else fake
    if not own:
        engine.reset()
    gate = gate_for(target)
    try:
        old = "lmif_whsec_previous_" + secrets.token_hex(8)
        webhook = engine.webhooks.create(gate or target, ["*"], old, path=path or "/")
        engine.webhooks.rotate_secret(webhook.id, secret)  # so previous_secret is a real old one
        witness = Witness()
        witness_hook = engine.webhooks.create(witness, ["*"], old, path=path or "/")
        engine.webhooks.rotate_secret(witness_hook.id, secret)
        session = CheckSession(
            fake=engine,
            webhook_id=webhook.id,
            witness_id=witness_hook.id,
            witness=witness,
            settler=settler,
            event_type=event_type,
            event_types=event_types,
            probe=probe,
            timeout=timeout,
            gate=gate,
        )
        name = getattr(target, "__name__", None) or str(webhook.url)
        report = ReceiverReport(name if isinstance(name, str) else str(webhook.url))
        for check in chosen:
            report.results.append(CHECKS[check](session))
        receiver_checked(report, engine)
        return report
    finally:
        if own:
            engine.close()
