"""Hypothesis strategies for LMIF webhooks: event types, events, raw bodies, bad signatures and
delivery plans, plus a one-line idempotency property.

Each strategy is a plain function with keyword-only arguments returning a ``SearchStrategy``;
arguments are checked when the strategy is made, not when it is drawn from.

>>> from hypothesis import given
>>> @given(event=events(types=["box.created"]))
... def test_handler(event): ...
"""

from __future__ import annotations

# Bound before hypothesis is imported: installs whose entry point still names this module load
# the hook from here while hypothesis is mid-import (see pytest_lmif.hypothesis_setup).
# isort: off
from pytest_lmif.hypothesis_setup import register_strategies as _hypothesis_setup_hook  # noqa: F401
# isort: on

import contextlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from lmif_mock import CATEGORIES, EVENT_TYPES, Event, EventFactory, FakeLMIF, Faults, sign
from lmif_mock import LAYOUTS as FAULT_LAYOUTS
from lmif_mock import lay_out as lay_out_as_faults_do
from pytest_lmif.races import gate_for
from pytest_lmif.session import new_event_id

#: Plausible types the provider does not (yet) send; a receiver must answer them 2xx.
UNKNOWN_TYPES = ("avatar.teleported", "box.archived", "license.renewed", "payment.due")
#: Ways the same event can be laid out as JSON, each signed over its own bytes.
LAYOUTS = ("compact", *FAULT_LAYOUTS)


def event_types(
    *, categories: Iterable[str] | None = None, include_unknown: bool = False
) -> st.SearchStrategy[str]:
    """Documented event types, optionally limited to ``categories`` (``"box"``, ``"license"``...).

    >>> event_types(categories=["grace_period"]).example() in EVENT_TYPES
    True
    """
    chosen = list(EVENT_TYPES)
    if categories is not None:
        wanted = list(categories)
        unknown = [c for c in wanted if c not in CATEGORIES]
        if unknown:
            raise InvalidArgument(f"unknown categories {unknown}; known: {list(CATEGORIES)}")
        chosen = [t for c in wanted for t in CATEGORIES[c]]
    if include_unknown:
        chosen += UNKNOWN_TYPES
    if not chosen:
        raise InvalidArgument("no event types to choose from")
    return st.sampled_from(chosen)


_MOMENTS = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31),
    timezones=st.just(timezone.utc),
)


def events(
    *,
    types: st.SearchStrategy[str] | Iterable[str] | None = None,
    data: Mapping[str, Any] | st.SearchStrategy[Mapping[str, Any]] | None = None,
    webhook_id: str = "wh_hypothesis",
) -> st.SearchStrategy[Event]:
    """Complete events with realistic data; ``data`` (or a strategy for it) is deep-merged in.

    >>> events(types=["violation.detected"], data={"policy": "MONETIZE"}).example().data["policy"]
    'MONETIZE'
    """
    type_strategy = _types(types)
    data_strategy = data if isinstance(data, st.SearchStrategy) else st.just(dict(data or {}))

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Event:
        event_type = draw(type_strategy)
        moment = draw(_MOMENTS).replace(microsecond=0)
        overrides = draw(data_strategy)
        factory = EventFactory(0)
        # Every choice the factory makes is a draw hypothesis records, so shrinking can
        # simplify each field on its own (a Random seeded from one integer could not).
        factory.random = draw(st.randoms(use_true_random=False))
        return factory.build(
            event_type, moment, overrides, webhook_id=webhook_id, allow_unknown=True
        )

    return build()


def _types(types: st.SearchStrategy[str] | Iterable[str] | None) -> st.SearchStrategy[str]:
    if types is None:
        return event_types()
    if isinstance(types, st.SearchStrategy):
        return types
    chosen = list(types)
    if not chosen:
        raise InvalidArgument("types must not be empty")
    return st.sampled_from(chosen)


def raw_bodies(
    *, events_strategy: st.SearchStrategy[Event] | None = None
) -> st.SearchStrategy[bytes]:
    """Event bodies as a receiver may get them: compact, pretty or ASCII-escaped JSON.

    >>> json.loads(raw_bodies().example())["id"].startswith("evt_")
    True
    """
    source = events_strategy if events_strategy is not None else events()
    return st.builds(lay_out, source.map(lambda event: event.body), st.sampled_from(LAYOUTS))


def lay_out(body: bytes, layout: str) -> bytes:
    """``body`` in one of :data:`LAYOUTS`: the provider's compact bytes, or the same content in one
    of the fake's other layouts (the very ones its ``layout`` fault sends)."""
    if layout == "compact":
        return body
    if layout not in LAYOUTS:
        raise InvalidArgument(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")
    return lay_out_as_faults_do(body, layout)


def bad_signatures(body: bytes | str, secret: str) -> st.SearchStrategy[str | None]:
    """Header values that must *not* verify for ``body`` under ``secret``.

    Missing, empty, wrong prefix, wrong case, truncated or extended digests, random digests,
    another secret's signature, the right one padded or repeated, non-ASCII junk.

    >>> from lmif_mock import verify
    >>> verify(b"{}", bad_signatures(b"{}", "k").example(), "k")
    False
    """
    good = sign(body, secret)
    digest = good.removeprefix("sha256=")
    hex_digits = "0123456789abcdef"
    candidates: list[st.SearchStrategy[str | None]] = [
        st.none(),
        st.just(""),
        st.just(digest),
        st.just("SHA256=" + digest),
        st.just("sha256=" + digest.upper()),
        st.just("sha1=" + digest),
        st.just(" " + good),
        st.just(good + " "),
        st.just(good + "," + good),
        st.integers(0, 63).map(lambda n: good[: len("sha256=") + n]),
        st.text(hex_digits, min_size=1, max_size=8).map(lambda extra: good + extra),
        st.text(hex_digits, min_size=64, max_size=64).map(lambda h: "sha256=" + h),
        st.text(min_size=1).map(lambda other: sign(body, secret + other)),
        st.text(max_size=80),
    ]
    return st.one_of(candidates).filter(lambda value: value != good)


@dataclass(frozen=True)
class DeliveryPlan:
    """How one event reaches a receiver: copies in sequence, copies at once, lost answers."""

    event_type: str
    duplicates: int = 0
    concurrent_duplicates: int = 0
    drop_after_response: int = 0
    layout: str | None = None

    def faults(self) -> Faults:
        """The plan as the fake's faults."""
        return Faults(
            duplicates=self.duplicates,
            concurrent_duplicates=self.concurrent_duplicates,
            drop_after_response=self.drop_after_response,
            layout=None if self.layout == "compact" else self.layout,
        )

    @property
    def copies(self) -> int:
        """How many times the receiver is sent the event (at least)."""
        return 1 + self.duplicates + self.concurrent_duplicates + self.drop_after_response


def delivery_plans(
    *,
    types: st.SearchStrategy[str] | Iterable[str] | None = None,
    max_duplicates: int = 3,
    max_concurrent: int = 4,
    max_dropped: int = 2,
) -> st.SearchStrategy[DeliveryPlan]:
    """Plans mixing sequential duplicates, simultaneous copies and lost 2xx answers.

    >>> delivery_plans(types=["box.created"]).example().event_type
    'box.created'
    """
    for name, value in (
        ("max_duplicates", max_duplicates),
        ("max_concurrent", max_concurrent),
        ("max_dropped", max_dropped),
    ):
        if value < 0:
            raise InvalidArgument(f"{name} must be >= 0, not {value}")
    return st.builds(
        DeliveryPlan,
        event_type=_types(types),
        duplicates=st.integers(0, max_duplicates),
        concurrent_duplicates=st.integers(0, max_concurrent),
        drop_after_response=st.integers(0, max_dropped),
        layout=st.sampled_from([None, "pretty", "ascii"]),
    )


def assert_idempotent(
    fake: FakeLMIF,
    target: Any,
    plan: DeliveryPlan,
    *,
    secret: str,
    processed: Callable[[str], int],
    path: str = "/",
    race_rounds: int = 5,
) -> None:
    """Deliver an event to ``target`` the way ``plan`` says and assert it was acted on once.

    Resets ``fake`` first and sends an event id no earlier call used, so a receiver whose
    database outlives one example still meets a new event in every example (the same id again
    would be a duplicate it rightly ignores, and the property would test nothing). A plan with
    simultaneous copies is delivered ``race_rounds`` times, each a fresh event whose copies enter
    an in-process ``target`` together: one overlap rarely shows a race, several usually do. Lost
    answers are retried on the fake's clock, exactly as the provider would.
    """
    if race_rounds < 1:
        raise InvalidArgument(f"race_rounds must be >= 1, not {race_rounds}")
    fake.reset()
    gate = gate_for(target)
    webhook = fake.webhooks.create(gate or target, ["*"], secret, path=path)
    for _ in range(race_rounds if plan.concurrent_duplicates else 1):
        holding = (
            gate.holding(1 + plan.concurrent_duplicates)
            if gate is not None and plan.concurrent_duplicates
            else contextlib.nullcontext()
        )
        with holding:
            event = fake.emit(
                plan.event_type,
                faults=plan.faults(),
                webhook_ids=[webhook.id],
                event_id=new_event_id(),
            )
        fake.clock.advance(timedelta(hours=1))
        deliveries = fake.deliveries(event_id=event.id)
        refused = [d for d in deliveries if d.status != "succeeded"]
        assert not refused, (
            f"{plan}: {len(refused)} of {len(deliveries)} deliveries were not acknowledged: "
            + "; ".join(f"{a.status_code or a.error}" for d in refused for a in d.attempts[-1:])
        )
        count = processed(event.id)
        race = (
            " - simultaneous copies were acted on more than once: a check-then-insert race "
            "(make the check and the insert one atomic step); thread timing is not replayed, "
            "so hypothesis may report this failure as flaky"
            if count > 1 and plan.concurrent_duplicates
            else ""
        )
        assert count == 1, (
            f"{plan}: event {event.id} was acted on {count} times, expected once{race}"
        )


__all__ = [
    "LAYOUTS",
    "UNKNOWN_TYPES",
    "DeliveryPlan",
    "assert_idempotent",
    "bad_signatures",
    "delivery_plans",
    "event_types",
    "events",
    "lay_out",
    "raw_bodies",
]
