"""Per-attempt delivery scripts: what happens to attempt 1, 2, 3... of a delivery, in one line.

A receiver has to survive situations that are awkward to produce with a failing receiver: its
answer lost after it processed the event, a request stuck on the way and arriving late next to
the retry, a retry held back. A script says it directly and travels with the delivery's faults::

    "1-2: drop; 3: ok"                  attempts 1 and 2 reach the receiver, but the provider
                                        never sees the answers; attempt 3 arrives normally
    "1: delay 40s; 2: arrive with 3"    attempt 1 made 40 s late; attempt 2 is held up on the way
                                        and reaches the receiver at the same moment as attempt 3
    "1+: drop 30%"                      every attempt's answer lost with probability 0.3

Clauses are ``ATTEMPTS: ACTION[, ACTION]`` separated by ``;``; ATTEMPTS is ``N``, ``N-M`` or
``N+``. Actions:

``ok``             sent normally (the default, for readability)
``drop``           sent; the receiver's answer is lost, so the attempt fails (``dropped``)
``lose``           never reaches the receiver; the attempt fails (``lost``)
``delay D``        the attempt is made D later than the retry schedule says (``40s``, ``5m``,
                   ``2h``, ``1d``)
``arrive with N``  held up on the way (the attempt fails as ``delayed``); the same request then
                   reaches the receiver together with attempt N, released at the same instant

``drop`` and ``lose`` take an optional probability (``drop 50%``), drawn from the fake's seeded
random generator, so a run is the same under the same seed on a virtual clock. Each attempt
records the script steps applied to it (:attr:`lmif_mock.Attempt.script`).
"""

from __future__ import annotations

import contextlib
import functools
import random
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from lmif_mock.errors import LMIFMockError
from lmif_mock.exchanges import OutgoingRequest, Response, Transport, TransportError

#: The highest attempt number a script may name (the retry policy's own cap).
MAX_SCRIPT_ATTEMPT = 100
MAX_SCRIPT_LENGTH = 500
#: The longest ``delay`` a script may add to one attempt (as the ``delay`` fault).
MAX_SCRIPT_DELAY = timedelta(days=366)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ACTION = re.compile(
    r"^(?:(?P<plain>ok|drop|lose)(?:\s+(?P<chance>\d+(?:\.\d+)?)%)?"
    r"|delay\s+(?P<amount>\d+(?:\.\d+)?)(?P<unit>[smhd])"
    r"|arrive\s+with\s+(?P<with>\d+))$"
)
_ATTEMPTS = re.compile(r"^(?P<first>\d+)(?:(?P<open>\+)|-(?P<last>\d+))?$")

_NUMBER = r"0*(?:100|[1-9]\d?)"  # an attempt number, 1..MAX_SCRIPT_ATTEMPT
_CHANCE = r"0*(?:100(?:\.0+)?|\d{1,2}(?:\.\d+)?)%"  # at most 100%
_ACTION_SYNTAX = (
    rf"\s*(?:(?:ok|drop|lose)(?:\s+{_CHANCE})?|delay\s+\d+(?:\.\d+)?[smhd]"
    rf"|arrive\s+with\s+{_NUMBER})\s*"
)
_CLAUSE_SYNTAX = rf"\s*{_NUMBER}(?:\+|-{_NUMBER})?\s*:{_ACTION_SYNTAX}(?:,{_ACTION_SYNTAX})*"
#: The script's syntax as one regular expression, for the OpenAPI document (Python's ``re``
#: semantics, as the reader's): what it cannot say is left to :func:`parse` (first <= last, a
#: chance above 0%, a delay of at most 366 days, ``arrive with`` a later attempt).
SCRIPT_SYNTAX = rf"^(?:\s*;)*{_CLAUSE_SYNTAX}(?:;(?:{_CLAUSE_SYNTAX})?)*\s*$"


class ScriptError(LMIFMockError, ValueError):
    """A script that cannot be read; the message says which part and why."""


@dataclass(frozen=True)
class Step:
    """One action for the attempts ``first``..``last`` (``last`` None: and every later one)."""

    first: int
    last: int | None
    action: str
    chance: float = 1.0
    delay: timedelta = timedelta()
    with_attempt: int | None = None

    def covers(self, number: int) -> bool:
        """Whether attempt ``number`` is one this step applies to."""
        return number >= self.first and (self.last is None or number <= self.last)

    @property
    def words(self) -> str:
        """The step as written, normalised (what the attempt records)."""
        if self.action == "delay":
            return f"delay {self.delay.total_seconds():g}s"
        if self.action == "arrive":
            return f"arrive with {self.with_attempt}"
        if self.chance < 1.0:
            return f"{self.action} {self.chance * 100:g}%"
        return self.action


def _attempts(text: str, clause: str) -> tuple[int, int | None]:
    found = _ATTEMPTS.match(text.strip())
    if found is None:
        raise ScriptError(f"{clause!r}: attempts must be N, N-M or N+ (e.g. 1-2), not {text!r}")
    first = int(found["first"])
    last = None if found["open"] else int(found["last"] or first)
    if not 1 <= first <= MAX_SCRIPT_ATTEMPT or (last is not None and not first <= last):
        raise ScriptError(f"{clause!r}: attempts run from 1 up, first <= last, not {text!r}")
    if last is not None and last > MAX_SCRIPT_ATTEMPT:
        raise ScriptError(f"{clause!r}: attempt numbers go up to {MAX_SCRIPT_ATTEMPT}")
    return first, last


def _step(first: int, last: int | None, text: str, clause: str) -> Step:
    found = _ACTION.match(" ".join(text.split()))
    if found is None:
        raise ScriptError(
            f"{clause!r}: unknown action {text.strip()!r}; use ok, drop, lose, delay 40s, "
            "arrive with N (drop and lose may add a chance, e.g. drop 50%)"
        )
    if found["plain"]:
        chance = 1.0 if found["chance"] is None else float(found["chance"]) / 100
        if not 0 < chance <= 1:
            raise ScriptError(f"{clause!r}: a chance is more than 0% and at most 100%")
        return Step(first, last, found["plain"], chance=chance)
    if found["amount"]:
        # Compared as seconds before building a timedelta: a huge amount would overflow one.
        seconds = float(found["amount"]) * _UNITS[found["unit"]]
        if seconds > MAX_SCRIPT_DELAY.total_seconds():
            raise ScriptError(f"{clause!r}: a delay is at most {MAX_SCRIPT_DELAY.days} days")
        return Step(first, last, "delay", delay=timedelta(seconds=seconds))
    partner = int(found["with"])
    if last is None or partner <= last or partner > MAX_SCRIPT_ATTEMPT:
        raise ScriptError(
            f"{clause!r}: 'arrive with N' needs a later attempt N (at most "
            f"{MAX_SCRIPT_ATTEMPT}) than every attempt it applies to"
        )
    return Step(first, last, "arrive", with_attempt=partner)


@functools.lru_cache(maxsize=256)
def parse(text: str) -> tuple[Step, ...]:
    """The steps of ``text``; raises :class:`ScriptError` naming the clause that is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ScriptError("a script is a non-empty string such as '1-2: drop; 3: ok'")
    if len(text) > MAX_SCRIPT_LENGTH:
        raise ScriptError(f"a script is at most {MAX_SCRIPT_LENGTH} characters")
    steps: list[Step] = []
    for clause in (c.strip() for c in text.split(";")):
        if not clause:
            continue
        which, colon, actions = clause.partition(":")
        if not colon:
            raise ScriptError(f"{clause!r}: write ATTEMPTS: ACTION, e.g. '1-2: drop'")
        first, last = _attempts(which, clause)
        for action in actions.split(","):
            steps.append(_step(first, last, action, clause))
    if not steps:
        raise ScriptError("a script needs at least one clause such as '1: drop'")
    return tuple(steps)


def steps_for(script: str | None, number: int) -> list[Step]:
    """The steps that apply to attempt ``number``."""
    if script is None:
        return []
    return [s for s in parse(script) if s.covers(number)]


_NO_DELAY: Final = timedelta()


def extra_delay(script: str | None, number: int) -> timedelta:
    """How much later than scheduled attempt ``number`` is made."""
    if script is None:
        return _NO_DELAY  # no script: the case of almost every attempt, kept cheap
    return sum((s.delay for s in steps_for(script, number) if s.action == "delay"), timedelta())


def late_partners(script: str | None, number: int) -> list[int]:
    """Earlier attempts whose held-up request reaches the receiver together with ``number``."""
    if script is None:
        return []
    return [
        earlier
        for earlier in range(1, number)
        for s in steps_for(script, earlier)
        if s.action == "arrive" and s.with_attempt == number
    ]


@dataclass(frozen=True)
class Decision:
    """What a script decided for one attempt before sending: ``error`` set means not sent."""

    notes: tuple[str, ...]
    error: str | None = None
    message: str | None = None
    drop_answer: bool = False


def decide(script: str | None, number: int, rng: random.Random) -> Decision | None:
    """Apply the steps of attempt ``number`` (drawing chances from ``rng``); ``None``: no script
    step applies."""
    steps = steps_for(script, number)
    if not steps:
        return None
    notes: list[str] = []
    error: str | None = None
    message: str | None = None
    drop = False
    for step in steps:
        happens = step.chance >= 1.0 or rng.random() < step.chance
        drawn = "" if step.chance >= 1.0 else (" (drawn: yes)" if happens else " (drawn: no)")
        notes.append(step.words + drawn)
        if not happens or error is not None:
            continue
        if step.action == "lose":
            error, message = "lost", "scripted: lost on the way; the receiver never saw it"
        elif step.action == "arrive":
            error = "delayed"
            message = (
                f"scripted: held up on the way; reaches the receiver with attempt "
                f"{step.with_attempt}"
            )
        elif step.action == "drop":
            drop = True
    return Decision(tuple(notes), error, message, drop)


class LateCopies:
    """Requests held up by ``arrive with N``, sent alongside attempt N from their own threads;
    :meth:`release` (called by the sender of attempt N) lets all go at the same instant."""

    def __init__(
        self, transport: Transport, request: OutgoingRequest, timeout: float, partners: list[int]
    ) -> None:
        self.partners = partners
        self._barrier = threading.Barrier(len(partners) + 1)
        self._answers: list[str] = ["no answer"] * len(partners)
        self._threads = [
            threading.Thread(target=self._send, args=(i, transport, request, timeout), daemon=True)
            for i in range(len(partners))
        ]
        for thread in self._threads:
            thread.start()

    def _send(
        self, index: int, transport: Transport, request: OutgoingRequest, timeout: float
    ) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait(timeout=timeout)
        try:
            answer: Response = transport.send(request, timeout)
            self._answers[index] = f"answered {answer.status}"
        except TransportError as exc:
            self._answers[index] = exc.kind
        except Exception as exc:  # a transport bug must not lose the record
            self._answers[index] = f"internal error {type(exc).__name__}"

    def release(self, timeout: float) -> None:
        """Let the copies go, together with the caller's own request."""
        with contextlib.suppress(threading.BrokenBarrierError):
            self._barrier.wait(timeout=timeout)

    def notes(self, timeout: float) -> tuple[str, ...]:
        """Wait for the copies' answers; one note per copy for the attempt record."""
        for thread in self._threads:
            thread.join(timeout + 5)
        return tuple(
            f"late copy of attempt {partner} arrived with it: {answer}"
            for partner, answer in zip(self.partners, self._answers, strict=True)
        )


def start_late_copies(
    script: str | None,
    number: int,
    transport: Transport,
    request: OutgoingRequest,
    timeout: float,
) -> LateCopies | None:
    """The held-up copies that arrive with attempt ``number``, started and waiting, or None."""
    partners = late_partners(script, number)
    if not partners:
        return None
    return LateCopies(transport, request, timeout, partners)
