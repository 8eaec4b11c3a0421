"""Reading fields out of untrusted JSON, collecting every problem instead of stopping at the first.

A client that sends three wrong fields learns about all three in one VALIDATION_ERROR whose
``details`` lists ``{"field", "message"}`` for each.

Fields are read as the OpenAPI document states them, JSON Schema's way: ``null`` is a value, not
an absent field, so it is refused unless the field is declared nullable (a client that sends
``"secret": null`` meaning "generate one" learns at once that it must leave the field out), and
an integer field takes ``5.0``, which JSON Schema's ``integer`` counts as 5 (JavaScript clients
send whole numbers that way).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from lmif_mock.errors import LMIFMockError
from lmif_mock.http.errors import validation_error
from lmif_mock.json_integers import whole_number

Parsed = TypeVar("Parsed")

_MISSING = object()
#: The longest string a field takes unless its route says otherwise (the OpenAPI document's
#: request bodies state it as their strings' ``maxLength``).
MAX_STRING_LENGTH = 2048
#: The most items a list of strings may have unless its field says fewer.
MAX_LIST_ITEMS = 100
#: What a ``null`` given for a field that is not nullable is told.
NULL_REFUSED = "cannot be null; leave the field out to use its default"


class Fields:
    """Typed access to a JSON object's fields; :meth:`done` raises if anything was wrong."""

    def __init__(self, body: Any, *, prefix: str = "", allowed: set[str] | None = None) -> None:
        self.problems: list[dict[str, str]] = []
        self.prefix = prefix
        self.whole_body_wrong = not isinstance(body, Mapping)
        if self.whole_body_wrong:
            # One problem says it all; "url is required" on a list would only confuse.
            self.problems.append({"field": prefix or "body", "message": "must be a JSON object"})
            body = {}
        self.body: Mapping[str, Any] = body
        if allowed is not None:
            for name in sorted(set(body) - allowed):
                self.fail(name, f"unknown field; allowed: {', '.join(sorted(allowed))}")

    def fail(self, name: str, message: str) -> None:
        """Record a problem with field ``name``."""
        self.problems.append({"field": self.prefix + name, "message": message})

    def _get(self, name: str, required: bool, nullable: bool = False) -> Any:
        value = self.body.get(name, _MISSING)
        if value is None and not nullable:
            self.fail(name, "is required and cannot be null" if required else NULL_REFUSED)
            return _MISSING
        if value is _MISSING or value is None:
            if required and not self.whole_body_wrong:
                self.fail(name, "is required")
            return _MISSING
        return value

    def string(
        self, name: str, *, required: bool = False, max_length: int = MAX_STRING_LENGTH
    ) -> str | None:
        """A non-empty string of at most ``max_length`` characters."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not value:
            self.fail(name, "must be a non-empty string")
            return None
        if len(value) > max_length:
            self.fail(name, f"must be at most {max_length} characters")
            return None
        return value

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        """``true`` or ``false``."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, bool):
            self.fail(name, "must be true or false")
            return None
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int = 0,
        maximum: int = 2**31,
        nullable: bool = False,
    ) -> int | None:
        """A whole number within bounds (``5.0`` is 5, as JSON Schema's ``integer`` reads it)."""
        raw = self._get(name, required, nullable)
        if raw is _MISSING:
            return None
        value = whole_number(raw)
        if value is None:
            self.fail(name, "must be a whole number")
            return None
        if not minimum <= value <= maximum:
            self.fail(name, f"must be between {minimum} and {maximum}")
            return None
        return value

    def number(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: float = 0,
        maximum: float = 1e12,
        nullable: bool = False,
    ) -> float | None:
        """A finite number within bounds."""
        value = self._get(name, required, nullable)
        if value is _MISSING:
            return None
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value != value:
            self.fail(name, "must be a number")
            return None
        if not minimum <= value <= maximum:
            self.fail(name, f"must be between {minimum:g} and {maximum:g}")
            return None
        return float(value)

    def strings(
        self, name: str, *, required: bool = False, max_items: int = MAX_LIST_ITEMS
    ) -> list[str] | None:
        """A list of strings."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(name, "must be a list of strings")
            return None
        if len(value) > max_items:
            self.fail(name, f"must have at most {max_items} items")
            return None
        return value

    def obj(self, name: str, *, required: bool = False) -> dict[str, Any] | None:
        """A JSON object."""
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            self.fail(name, "must be a JSON object")
            return None
        return value

    def given(self, name: str, *, required: bool = False) -> Any:
        """The value as sent, for a field its route reads itself (a list of objects); None when
        absent (a null is refused, as for every other field)."""
        value = self._get(name, required)
        return None if value is _MISSING else value

    def not_null(self, *names: str) -> None:
        """Refuse a null in any of ``names``, fields a library reader takes from the body."""
        for name in names:
            if name in self.body and self.body[name] is None:
                self.fail(name, NULL_REFUSED)

    def nested(self, name: str, allowed: set[str]) -> Fields:
        """The object in field ``name`` (``{}`` when absent), read with the same rules; its
        problems are this body's, so one answer lists them all."""
        inner = Fields(self.obj(name) or {}, prefix=f"{self.prefix}{name}.", allowed=allowed)
        self.problems.extend(inner.problems)
        inner.problems = self.problems
        return inner

    def parsed(
        self,
        name: str,
        parse: Callable[[dict[str, Any]], Parsed],
        *also: type[Exception],
    ) -> Parsed | None:
        """A JSON object read by ``parse`` (e.g. ``Faults.from_dict``); the library's error
        saying why it cannot be (or one of ``also``) is recorded as this field's problem."""
        raw = self.obj(name)
        if raw is None:
            return None
        catching: tuple[type[Exception], ...] = (LMIFMockError, *also)
        try:
            return parse(raw)
        except catching as exc:
            self.fail(name, str(exc))
            return None

    def done(self) -> None:
        """Raise VALIDATION_ERROR listing every problem found, if any."""
        if self.problems:
            raise validation_error(self.problems)
