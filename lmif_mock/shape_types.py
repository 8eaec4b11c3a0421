"""The kinds of field an event shape is declared with: each knows its JSON Schema and what a
realistic value of it looks like.

A kind carries two things, so that one declaration (:mod:`lmif_mock.event_shapes`) is enough both
to describe an event (the schemas, the OpenAPI document) and to produce one (the payload builder
in :mod:`lmif_mock.payloads` compiles a generator from the same kinds). A kind that depends on
another field names it (``by=``, ``at_most=``...): always a top-level field of the same event,
since that is where the provider puts the values others are derived from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from lmif_mock.ids import PREFIXES

Schema = dict[str, Any]


class FieldType(Protocol):
    """What a field holds; it knows its own JSON Schema."""

    def schema(self, *, closed: bool) -> Schema:
        """The JSON Schema; ``closed`` forbids fields the declaration does not list."""
        ...


@dataclass(frozen=True)
class Plain:
    """A field whose schema needs no parameters and whose value nothing generates (``ANY``)."""

    fixed: Schema

    def schema(self, *, closed: bool) -> Schema:
        return dict(self.fixed)


_TIMESTAMP_SCHEMA: Final[Schema] = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
    "description": "UTC, ISO 8601, whole seconds, Z suffix",
}
_TEXT_SCHEMA: Final[Schema] = {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Ident:
    """A string id carrying the prefix of ``kind`` (a key of :data:`lmif_mock.ids.PREFIXES`)."""

    kind: str

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "string", "pattern": f"^{PREFIXES[self.kind]}[A-Za-z0-9_]+$"}


@dataclass(frozen=True)
class OneOf:
    """One of a fixed set of values."""

    values: tuple[Any, ...]

    def schema(self, *, closed: bool) -> Schema:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Lookup:
    """One of ``values``, decided by another field: ``table[<field by>]``."""

    by: str
    table: Mapping[Any, Any]
    values: tuple[Any, ...]

    def schema(self, *, closed: bool) -> Schema:
        return {"enum": list(self.values)}


@dataclass(frozen=True)
class Moment:
    """A timestamp relative to the event's ``createdAt``: ``days`` and ``years`` after it
    (calendar years), ``minutes_back`` up to that many minutes before it (at least one), and
    ``less_days_of`` a field's value in days before it."""

    days: int = 0
    years: int = 0
    minutes_back: int = 0
    less_days_of: str | None = None

    def schema(self, *, closed: bool) -> Schema:
        return dict(_TIMESTAMP_SCHEMA)


@dataclass(frozen=True)
class IdentityName:
    """Whose likeness a box protects: a person, or, per ``entity_by``'s value, an estate, a
    company or an agency."""

    entity_by: str | None = None

    def schema(self, *, closed: bool) -> Schema:
        return dict(_TEXT_SCHEMA)


@dataclass(frozen=True)
class AvatarName:
    """An avatar's name, made from the first word of field ``of`` and one of ``suffixes``."""

    suffixes: tuple[str, ...]
    of: str = "identityName"

    def schema(self, *, closed: bool) -> Schema:
        return dict(_TEXT_SCHEMA)


@dataclass(frozen=True)
class Phrase:
    """Free text, drawn from examples (the schema promises only a non-empty string)."""

    examples: tuple[str, ...]

    def schema(self, *, closed: bool) -> Schema:
        return dict(_TEXT_SCHEMA)


@dataclass(frozen=True)
class Count:
    """A whole number from ``low`` to ``high`` in ``step``s; ``less`` subtracts a field's value,
    or ``at_most`` caps it at a field's value (not both). ``low == high`` is a constant."""

    low: int = 0
    high: int = 100
    step: int = 1
    less: str | None = None
    at_most: str | None = None

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "integer", "minimum": 0}


@dataclass(frozen=True)
class Fraction:
    """A number from 0 to 1: one of ``choices`` if given, else from ``low`` to ``high``, in
    hundredths."""

    low: float = 0.0
    high: float = 1.0
    choices: tuple[float, ...] = ()

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "number", "minimum": 0, "maximum": 1}


@dataclass(frozen=True)
class Amount:
    """A whole amount of money in the range ``ranges[<field by>]``."""

    by: str
    ranges: Mapping[Any, tuple[int, int]]

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "number", "minimum": 0}


@dataclass(frozen=True)
class Flag:
    """A boolean: ``fixed`` if given, else a coin toss."""

    fixed: bool | None = None

    def schema(self, *, closed: bool) -> Schema:
        return {"type": "boolean"}


@dataclass(frozen=True)
class ListOf:
    """A JSON array of ``item``: ``min_items`` to ``max_items`` of them (a list of an enum's
    values holds distinct ones, in the enum's order)."""

    item: FieldType
    min_items: int = 0
    max_items: int = 3

    def schema(self, *, closed: bool) -> Schema:
        return {
            "type": "array",
            "items": self.item.schema(closed=closed),
            "minItems": self.min_items,
        }


@dataclass(frozen=True)
class Fields:
    """A JSON object whose declared fields are all present, in this order."""

    members: Mapping[str, FieldType]

    def schema(self, *, closed: bool) -> Schema:
        schema: Schema = {
            "type": "object",
            "properties": {name: kind.schema(closed=closed) for name, kind in self.members.items()},
            "required": list(self.members),
        }
        if closed:
            schema["additionalProperties"] = False
        return schema


@dataclass(frozen=True)
class Changes:
    """``box.updated``'s ``changes``: changed field name -> ``{from, to}``, only what changed
    (generated: every ``known`` field, each from one value to another)."""

    known: Mapping[str, tuple[Any, ...]]

    def schema(self, *, closed: bool) -> Schema:
        return {
            "type": "object",
            "description": "changed field name -> {from, to}; only changed fields appear",
            "properties": {
                name: Fields({"from": OneOf(values), "to": OneOf(values)}).schema(closed=closed)
                for name, values in self.known.items()
            },
            "additionalProperties": Fields({"from": ANY, "to": ANY}).schema(closed=closed),
            "minProperties": 1,
        }


ANY: Final = Plain({})
#: Plain forms of the common kinds, for declarations that need nothing more specific.
TIMESTAMP: Final = Moment()
UNIT: Final = Fraction()
COUNT: Final = Count()
FLAG: Final = Flag()
