"""The provider's event catalogue, the envelope every event travels in, and its exact wire bytes.

There is deliberately one function, :func:`encode`, that turns an event into bytes. The dispatcher
signs those bytes and sends those bytes; nothing serialises an event a second time, so the signature
can never cover something other than what the receiver reads.
"""

from __future__ import annotations

import functools
import json
import json.encoder as json_encoder
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, overload

from lmif_mock.errors import EncodingError, UnknownEventType
from lmif_mock.timestamps import format_timestamp, parse_timestamp, utc

API_VERSION = "v1"

#: Event types grouped as the provider's overview table lists them.
CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "box": ("box.created", "box.updated", "box.deleted"),
    "violation": ("violation.detected", "violation.resolved", "violation.appealed"),
    "grace_period": (
        "grace_period.started",
        "grace_period.reminder",
        "grace_period.ending",
        "grace_period.expired",
        "grace_period.resolved",
    ),
    "license": (
        "license.requested",
        "license.approved",
        "license.denied",
        "license.expiring",
        "license.expired",
        "license.revoked",
    ),
    "detection": ("detection.match_found", "detection.scan_complete"),
}

#: All 19 event types, in the order the provider documents them.
EVENT_TYPES: tuple[str, ...] = tuple(t for types in CATEGORIES.values() for t in types)

_KNOWN = frozenset(EVENT_TYPES)

#: How deeply event data may nest. The provider's own shapes need four levels; the cap keeps a
#: hostile payload from exhausting the interpreter's stack anywhere data is walked or encoded.
MAX_DATA_DEPTH = 32
#: Integers JSON can carry here: Python refuses to print ones much longer (``int_max_str_digits``).
_MAX_INT_BITS = 13_000


def check_event_type(event_type: object) -> str:
    """Return ``event_type`` if the provider documents it, else raise :class:`UnknownEventType`."""
    if not isinstance(event_type, str) or event_type not in _KNOWN:
        raise UnknownEventType(event_type)
    return event_type


def category_of(event_type: str) -> str:
    """The catalogue category (``"box"``, ``"license"``...) an event type belongs to."""
    return check_event_type(event_type).split(".", 1)[0]


T = TypeVar("T")


class _computed_once(Generic[T]):  # noqa: N801 - used as a decorator, named like one
    """``functools.cached_property`` without its lock (which Python 3.12 dropped too): every
    event pays for it once, on the hot path, and two threads computing an event's bytes at
    once compute the same bytes."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type[Any]) -> _computed_once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any]) -> T: ...
    def __get__(self, instance: object, owner: type[Any]) -> T | _computed_once[T]:
        if instance is None:
            return self
        value = self.compute(instance)
        instance.__dict__[self.name] = value  # found there first from now on
        return value


@dataclass(frozen=True)
class Event:
    """One event as a particular webhook receives it.

    The same event (same ``id``) fans out to every subscribed webhook; each copy differs only in
    ``meta.webhookId``, so :meth:`for_webhook` makes the copy and :attr:`body` gives its bytes.
    ``type`` is not checked here on purpose: tests need to send types a receiver has never heard of.
    """

    id: str
    type: str
    created_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)
    webhook_id: str | None = None
    api_version: str = API_VERSION

    def envelope(self) -> dict[str, Any]:
        """The JSON object the provider sends, keys in the documented order."""
        return {
            "id": self.id,
            "type": self.type,
            "createdAt": format_timestamp(self.created_at),
            "data": self.data,
            "meta": {"apiVersion": self.api_version, "webhookId": self.webhook_id},
        }

    @_computed_once
    def body(self) -> bytes:
        """The exact bytes sent (and signed) for this copy of the event; computed once."""
        return encode(self)

    def for_webhook(self, webhook_id: str | None) -> Event:
        """This event as delivered to ``webhook_id`` (same id, type, time and data).

        If this copy's bytes are already known, the new copy's are made from them by swapping
        the webhook id at the end (it is the last value of the envelope), not by encoding the
        whole event again: what a fan-out to many webhooks would otherwise pay per webhook.
        """
        mine = self.__dict__
        last: tuple[str | None, Event] | None = mine.get("_last_copy")
        if last is not None and last[0] == webhook_id:
            return last[1]  # an emit asks three times for its first webhook's copy
        # Made without __init__: every field is this (already checked) event's, so the copy
        # skips normalising its time again, which a fan-out and every emit would pay for.
        copy: Event = object.__new__(Event)
        fields = copy.__dict__
        fields.update(mine)
        fields.pop("_last_copy", None)
        fields["webhook_id"] = webhook_id
        known: bytes | None = fields.pop("body", None)
        if known is not None:
            fields["body"] = known[: -len(_meta_tail(self.webhook_id))] + _meta_tail(webhook_id)
            mine["_last_copy"] = (webhook_id, copy)  # immutable, so it can be handed out again
        return copy

    @classmethod
    def from_envelope(cls, envelope: Mapping[str, Any]) -> Event:
        """Rebuild an event from a decoded envelope (from storage or a fixture)."""
        meta = envelope.get("meta") or {}
        return cls(
            id=envelope["id"],
            type=envelope["type"],
            created_at=parse_timestamp(envelope["createdAt"]),
            data=envelope["data"],
            webhook_id=meta.get("webhookId"),
            api_version=meta.get("apiVersion", API_VERSION),
        )

    def __post_init__(self) -> None:
        object.__setattr__(self, "created_at", utc(self.created_at))


def check_json_value(
    value: Any,
    where: str = "data",
    max_depth: int = MAX_DATA_DEPTH,
    *,
    markers: tuple[object, ...] = (),
) -> None:
    """Raise :class:`EncodingError` naming the first part of ``value`` the wire cannot carry.

    Run on every piece of outside data before anything is stored, so nothing half-stored can
    later make an encoder or a list endpoint fail: non-finite numbers, lone surrogates (not
    UTF-8), non-string keys, objects JSON has no form for, and nesting past ``max_depth``. It
    walks with an explicit stack, so depth itself can never raise ``RecursionError``.
    ``markers`` are objects let through as they are (``REMOVE`` in overrides).
    """
    if _plainly_sendable(value, max_depth):
        return  # the common case, without building a path for every value
    stack: list[tuple[Any, str, int]] = [(value, where, 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > max_depth:
            raise EncodingError(f"{where}: nested deeper than {max_depth} levels (the cap)")
        if item is None or isinstance(item, bool) or any(item is m for m in markers):
            continue
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, int):
            if item.bit_length() > _MAX_INT_BITS:
                raise EncodingError(f"{path}: integer too large for JSON")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise EncodingError(f"{path}: {item!r} is not a JSON number")
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise EncodingError(f"{path}: key {key!r} is not a string")
                _check_text(key, f"{path}.{key!r}")
                stack.append((inner, f"{path}.{key}", depth + 1))
        elif isinstance(item, (list, tuple)):
            stack.extend((inner, f"{path}[{i}]", depth + 1) for i, inner in enumerate(item))
        else:
            raise EncodingError(f"{path}: a {type(item).__name__} has no JSON form")


def _plainly_sendable(value: Any, max_depth: int) -> bool:
    """Whether ``value`` is made only of plain JSON types, all sendable, within ``max_depth``.

    The fast path of :func:`check_json_value` (exact type checks, no paths); ``False`` sends the
    value to the slow walk, which names the problem or accepts what is unusual but fine.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is str:
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif kind is dict:
            if depth >= max_depth and item:
                return False
            for key, inner in item.items():
                if type(key) is not str or not key.isascii():
                    return False
                push((inner, depth + 1))
        elif kind is list:
            if depth >= max_depth and item:
                return False
            for inner in item:
                push((inner, depth + 1))
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is int:
            if item.bit_length() > _MAX_INT_BITS:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


def check_text(value: str, where: str) -> str:
    """``value`` if it can be sent as UTF-8, else :class:`EncodingError` naming ``where``."""
    _check_text(value, where)
    return value


def _check_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EncodingError(
            f"{where}: not valid Unicode text (lone surrogate at position {exc.start})"
        ) from None


def encode(event: Event) -> bytes:
    """Serialise ``event`` the way the provider's JavaScript does: ``JSON.stringify`` then UTF-8.

    Compact separators, non-ASCII characters kept as they are, and integral floats written as
    integers (``100.0`` becomes ``100``, as JavaScript has a single number type). Values JSON
    cannot carry (NaN, infinities, sets, arbitrary objects) raise :class:`EncodingError` naming
    the problem, rather than producing bytes no real provider would send.
    """
    envelope = event.envelope()
    try:
        try:
            text = _dumps(envelope)
        except TypeError:  # a Mapping that is not a dict: the walk below makes it one
            text = None
        if text is None or _MAYBE_JS_DIFFERS.search(text):
            text = _dumps(_javascript_numbers(envelope))
        return text.encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise EncodingError(f"event {event.id} cannot be encoded as JSON: {exc}") from None


#: Where Python's JSON can differ from JavaScript's: an integral float (``3.0``, ``1e+16``).
#: Text inside a string can match too; that only costs the walk, never a wrong byte.
_MAYBE_JS_DIFFERS = re.compile(r"\.0[,}\]]|e\+")


#: One encoder for every event: ``json.dumps`` with options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
#: The C encoder beneath it, made once: ``JSONEncoder.encode`` makes a new one on every call
#: (3 of an event's 8 us of encoding). No circular-reference check: the data is checked before
#: (``check_json_value``) and a cycle still ends in a ``RecursionError``, refused like the rest.
_C_ENCODER: Any = None
_make_c_encoder: Any = getattr(json_encoder, "c_make_encoder", None)
if _make_c_encoder is not None:  # CPython's C accelerator
    _C_ENCODER = _make_c_encoder(
        None, _ENCODER.default, json_encoder.encode_basestring, None, ":", ",", False, False, False
    )


def _dumps(value: Any) -> str:
    if _C_ENCODER is None:  # pragma: no cover - interpreters without the accelerator
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


@functools.lru_cache(maxsize=1024)
def _meta_tail(webhook_id: str | None) -> bytes:
    """How :func:`encode`'s bytes end for ``webhook_id``: its JSON value, two closing braces."""
    try:
        return json.dumps(webhook_id, ensure_ascii=False).encode("utf-8") + b"}}"
    except ValueError as exc:  # a lone surrogate cannot be UTF-8
        raise EncodingError(f"webhook id {webhook_id!r} cannot be encoded as JSON: {exc}") from None


def _javascript_numbers(value: Any) -> Any:
    """Copy ``value`` with floats like ``3.0`` as ints, so the text matches JavaScript's.

    Exact-type checks come first because this walks every event on the hot path, and an
    ``isinstance`` against ``Mapping`` costs several times a ``type() is dict``.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {key: _javascript_numbers(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [_javascript_numbers(item) for item in value]
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e21:
            return int(value)
        return value
    if isinstance(value, Mapping):
        return {key: _javascript_numbers(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_javascript_numbers(item) for item in value]
    return value
