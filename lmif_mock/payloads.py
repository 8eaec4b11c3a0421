"""Realistic ``data`` for every event type, compiled from the one declaration of its shape.

Nothing here lists an event's fields: for each type, :data:`BUILDERS` holds a generator compiled
once, at import, from :data:`lmif_mock.event_shapes.SHAPES`. Each field's kind says what to draw
(an id with its prefix, a name, a moment relative to ``createdAt``, one of an enum...), and kinds
that depend on another field (an avatar named after the identity, the action a policy asks for,
days remaining after a reminder's day) read it from the event being built, which is drawn in an
order that puts every such field after the one it reads. So related values agree: a grace period
expires 30 days after it starts, reminders fall on days 7, 21 and 28, ``ending`` comes 2 days
before expiry, and every time is anchored on the event's ``createdAt``. One seeded ``random``
is the only source of randomness: the same seed gives the same data.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from lmif_mock import event_shapes, shape_types
from lmif_mock.events import Event, check_event_type
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.names import identity_name, name_pool
from lmif_mock.terms import years_after
from lmif_mock.timestamps import format_timestamp, utc

# The vocabulary is declared once, with the event shapes; the builders' users import it here.
ACTIONS: Final = event_shapes.ACTIONS
APPEAL_REASONS: Final = event_shapes.APPEAL_REASONS
CLASSIFICATIONS: Final = event_shapes.CLASSIFICATIONS
DENIAL_REASONS: Final = event_shapes.DENIAL_REASONS
DETECTION_LAYERS: Final = event_shapes.DETECTION_LAYERS
ENFORCEMENTS: Final = event_shapes.ENFORCEMENTS
ENTITY_TYPES: Final = event_shapes.ENTITY_TYPES
LICENSE_TIERS: Final = event_shapes.LICENSE_TIERS
POLICIES: Final = event_shapes.POLICIES
REMINDER_DAYS: Final = event_shapes.REMINDER_DAYS
RESOLUTIONS: Final = event_shapes.RESOLUTIONS
REVENUE_TYPES: Final = event_shapes.REVENUE_TYPES
REVOCATION_REASONS: Final = event_shapes.REVOCATION_REASONS
SCAN_TRIGGERS: Final = event_shapes.SCAN_TRIGGERS
VIOLATION_RESOLUTIONS: Final = event_shapes.VIOLATION_RESOLUTIONS
GRACE_PERIOD_DAYS: Final = event_shapes.GRACE_PERIOD_DAYS
ENDING_DAYS_BEFORE_EXPIRY: Final = event_shapes.ENDING_DAYS_BEFORE_EXPIRY
LICENSE_EXPIRING_DAYS: Final = event_shapes.LICENSE_EXPIRING_DAYS
ROYALTY_RATES: Final = event_shapes.ROYALTY_RATES
ACTION_FOR_POLICY: Final = event_shapes.ACTION_FOR_POLICY

#: EPOCH anchors generated timestamps when no clock is given (the provider's own sample date).
EPOCH: Final = datetime(2024, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


class _Remove:
    """Type of :data:`REMOVE`."""

    _instance: _Remove | None = None

    def __new__(cls) -> _Remove:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REMOVE"


#: Use as an override value to delete a generated field, e.g. to test a receiver against
#: ``{"avatar": {"creatorId": REMOVE}}``.
REMOVE: Final = _Remove()


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings merge key by key, anything else replaces.

    Lists replace whole (merging element-wise would surprise), and :data:`REMOVE` deletes the key.
    Neither argument is modified.
    """
    merged = dict(base)
    for key, value in overrides.items():
        if value is REMOVE:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = deep_merge({}, value)
        else:
            merged[key] = value
    return merged


# Values are drawn as ``seq[int(rng.random() * len(seq))]``, the way ``random.choices`` draws:
# one C call, where ``choice`` and ``randint`` make two or three Python-level ones per value.

#: Draws one field's value from the random source, the event's moment and the event so far.
Maker = Callable[[random.Random, datetime, dict[str, Any]], Any]
#: Draws a whole event's ``data``.
Builder = Callable[[random.Random, datetime], dict[str, Any]]


def _constant(value: Any) -> Maker:
    return lambda rng, at, event: value


def _moment(kind: shape_types.Moment) -> Maker:
    ahead = timedelta(days=kind.days)
    years, back, field = kind.years, kind.minutes_back, kind.less_days_of
    minute, day = timedelta(minutes=1), timedelta(days=1)
    if sum((bool(years), bool(back), field is not None)) > 1:  # no declaration does this yet

        def combined(rng: random.Random, at: datetime, event: dict[str, Any]) -> str:
            moment = (years_after(at, years) if years else at) + ahead
            if back:
                moment -= (1 + int(rng.random() * back)) * minute
            if field is not None:
                moment -= event[field] * day
            return format_timestamp(moment)

        return combined
    if years:
        return lambda rng, at, event: format_timestamp(years_after(at, years) + ahead)
    if back:
        return lambda rng, at, event: format_timestamp(
            at + ahead - (1 + int(rng.random() * back)) * minute
        )
    if field is not None:
        return lambda rng, at, event: format_timestamp(at + ahead - event[field] * day)
    if not kind.days:
        return lambda rng, at, event: format_timestamp(at)
    return lambda rng, at, event: format_timestamp(at + ahead)


def _count(kind: shape_types.Count) -> Maker:
    low, high, step, less, cap = kind.low, kind.high, kind.step, kind.less, kind.at_most
    steps = (high - low) // step + 1
    if cap is not None and less is not None:
        raise ValueError(f"{kind!r}: a count either subtracts a field or is capped by one")
    if cap is not None:
        return lambda rng, at, event: (
            low + int(rng.random() * (max(low, min(high, event[cap])) - low + 1))
        )
    if less is not None:
        return lambda rng, at, event: low + step * int(rng.random() * steps) - event[less]
    if low == high:
        return _constant(low)
    return lambda rng, at, event: low + step * int(rng.random() * steps)


def _list_of(kind: shape_types.ListOf) -> Maker:
    least, most, item = max(1, kind.min_items), kind.max_items, kind.item
    if isinstance(item, shape_types.OneOf):  # distinct values, in the enum's order
        values = item.values
        if least == 1 and most >= len(values):  # any non-empty subset: one draw picks it
            subsets = 2 ** len(values) - 1

            def any_values(rng: random.Random, at: datetime, event: dict[str, Any]) -> Any:
                chosen = 1 + int(rng.random() * subsets)
                return [value for place, value in enumerate(values) if chosen >> place & 1]

            return any_values

        def some_values(rng: random.Random, at: datetime, event: dict[str, Any]) -> Any:
            picked = sorted(rng.sample(range(len(values)), rng.randint(least, most)))
            return [values[i] for i in picked]

        return some_values
    make = _maker(item)
    spread = most - least + 1
    return lambda rng, at, event: [
        make(rng, at, event) for _ in range(least + int(rng.random() * spread))
    ]


def _fields(kind: shape_types.Fields) -> Maker:
    members = tuple((name, _maker(member)) for name, member in kind.members.items())
    return lambda rng, at, event: {name: make(rng, at, event) for name, make in members}


def _changes(kind: shape_types.Changes) -> Maker:
    known = tuple(kind.known.items())

    def changes(rng: random.Random, at: datetime, event: dict[str, Any]) -> Any:
        drawn = {}
        for name, values in known:
            before, after = rng.sample(values, 2)
            drawn[name] = {"from": before, "to": after}
        return drawn

    return changes


def _maker(kind: shape_types.FieldType) -> Maker:
    """Compile one field's kind into a function drawing its value."""
    k = shape_types
    if isinstance(kind, k.Ident):
        prefix = PREFIXES[kind.kind]
        return lambda rng, at, event: new_id(prefix, rng)
    if isinstance(kind, k.OneOf):
        values, count = kind.values, len(kind.values)
        if count == 1:
            return _constant(values[0])
        return lambda rng, at, event: values[int(rng.random() * count)]
    if isinstance(kind, k.Lookup):
        table, by = kind.table, kind.by
        return lambda rng, at, event: table[event[by]]
    if isinstance(kind, k.Moment):
        return _moment(kind)
    if isinstance(kind, k.IdentityName):
        entity = kind.entity_by
        if entity is None:
            return lambda rng, at, event: name_pool().name(rng)
        return lambda rng, at, event: identity_name(rng, event[entity])
    if isinstance(kind, k.AvatarName):
        suffixes, of = kind.suffixes, kind.of
        return lambda rng, at, event: (
            f"{_first_word(event[of])} {suffixes[int(rng.random() * len(suffixes))]}"
        )
    if isinstance(kind, k.Phrase):
        examples = kind.examples
        return lambda rng, at, event: examples[int(rng.random() * len(examples))]
    if isinstance(kind, k.Count):
        return _count(kind)
    if isinstance(kind, k.Fraction):
        low, span, choices = kind.low, kind.high - kind.low, kind.choices
        if choices:
            return lambda rng, at, event: choices[int(rng.random() * len(choices))]
        return lambda rng, at, event: round(low + span * rng.random(), 2)
    if isinstance(kind, k.Amount):
        ranges, by = kind.ranges, kind.by
        return lambda rng, at, event: _between(rng, *ranges[event[by]])
    if isinstance(kind, k.Flag):
        if kind.fixed is not None:
            return _constant(kind.fixed)
        return lambda rng, at, event: rng.random() < 0.5
    if isinstance(kind, k.ListOf):
        return _list_of(kind)
    if isinstance(kind, k.Fields):
        return _fields(kind)
    if isinstance(kind, k.Changes):
        return _changes(kind)
    raise TypeError(f"no generator for a field of kind {kind!r}")


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


def _first_word(text: str) -> str:
    return text.split()[0] if text.strip() else "Avatar"


def _reads(kind: object) -> set[str]:
    """The top-level fields a kind's value is derived from (in nested kinds too)."""
    if isinstance(kind, shape_types.Fields):
        return set().union(*(_reads(member) for member in kind.members.values()))
    if isinstance(kind, shape_types.ListOf):
        return _reads(kind.item)
    names = (getattr(kind, attribute, None) for attribute in ("by", "entity_by", "less",
             "at_most", "less_days_of"))  # fmt: skip
    found = {name for name in names if name is not None}
    if isinstance(kind, shape_types.AvatarName):
        found.add(kind.of)
    return found


def compile_builder(shape: event_shapes.EventShape) -> Builder:
    """A generator for ``shape``'s data, in the declared order, each field drawn after those it
    reads: in order where it can be, else (a field reading a later one) held by a placeholder
    and drawn once what it reads is there."""
    members = dict(shape.data.members)
    reads = {name: _reads(kind) for name, kind in members.items()}
    for name, needed in reads.items():
        if not needed <= members.keys() - {name}:
            missing = sorted(needed - members.keys() | needed & {name})
            raise ValueError(f"{shape.type}.{name} reads fields it cannot: {missing}")
    in_order: list[str] = []
    for name in members:
        if reads[name] <= set(in_order):
            in_order.append(name)
    later: list[str] = []
    while len(in_order) + len(later) < len(members):
        drawn = set(in_order) | set(later)
        ready = [n for n in members if n not in drawn and reads[n] <= drawn]
        if not ready:
            raise ValueError(f"{shape.type}: fields read each other in a circle")
        later.append(ready[0])
    placeholder = _constant(None)
    steps = tuple(
        (name, _maker(members[name]) if name in in_order else placeholder) for name in members
    ) + tuple((name, _maker(members[name])) for name in later)

    def build(rng: random.Random, at: datetime) -> dict[str, Any]:
        event: dict[str, Any] = {}
        for name, make in steps:
            event[name] = make(rng, at, event)
        return event

    return build


#: One compiled generator per event type (a test may swap one out).
BUILDERS: Final[dict[str, Builder]] = {
    event_type: compile_builder(shape) for event_type, shape in event_shapes.SHAPES.items()
}


def build_data(
    event_type: str,
    rng: random.Random,
    created_at: datetime = EPOCH,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Generated ``data`` for ``event_type`` at ``created_at``, ``overrides`` merged in.

    ``rng`` is the only source of randomness (a Faker instance's ``.random`` works), so the
    same seeded ``rng`` gives the same data.
    """
    data = BUILDERS[check_event_type(event_type)](rng, utc(created_at))
    return deep_merge(data, overrides) if overrides else data


class EventFactory:
    """Builds whole events (id, time, data) reproducibly: the same seed gives the same events.

    Only a seeded ``random.Random`` is kept (names come from Faker's lists, drawn directly), so a
    factory costs microseconds to make and can be made per test. An unknown ``event_type`` is
    allowed through :meth:`build` only with ``allow_unknown=True``, which is how a test sends a
    type the receiver has never heard of.
    """

    def __init__(self, seed: int | None = 0) -> None:
        self.random = random.Random()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Start the sequence again from ``seed`` (``None`` means unpredictable)."""
        self.seed = seed
        self.random.seed(seed)

    def new_id(self, kind: str) -> str:
        """A fresh id of ``kind`` (a key of :data:`lmif_mock.ids.PREFIXES`)."""
        return new_id(PREFIXES[kind], self.random)

    def data(
        self,
        event_type: str,
        created_at: datetime = EPOCH,
        overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Generated ``data`` for one event of ``event_type``."""
        return build_data(event_type, self.random, created_at, overrides)

    def build(
        self,
        event_type: str,
        created_at: datetime = EPOCH,
        data: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        webhook_id: str | None = None,
        allow_unknown: bool = False,
    ) -> Event:
        """A complete event; unknown types (with ``allow_unknown``) carry ``data`` as given."""
        if allow_unknown and event_type not in BUILDERS:
            body = deep_merge({}, data or {})
        else:
            body = self.data(event_type, created_at, data)
        return Event(event_id or self.new_id("event"), event_type, created_at, body, webhook_id)
