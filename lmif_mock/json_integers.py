"""JSON Schema's idea of an integer, for every reader of outside JSON.

JSON has one number type: ``5`` and ``5.0`` are the same value, and JSON Schema's ``integer``
accepts both (a number whose fraction is zero). JavaScript clients routinely send ``5.0`` for a
count computed in floating point, so a field the OpenAPI document calls an integer takes it, and
``5.5`` (or ``true``, which Python counts as an int) is refused.
"""

from __future__ import annotations

import re


def whole_number(value: object) -> int | None:
    """``value`` as an int when it is a JSON-Schema integer (``5`` or ``5.0``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


#: A whole number as text: digits, and a fraction of zeros at most (``5``, ``-3``, ``5.0``).
_WHOLE_TEXT = re.compile(r"-?[0-9]{1,30}(\.0{0,30})?")


def whole_number_text(text: str) -> int | None:
    """``text`` (a query value) as an int when it writes a JSON-Schema integer, else None.

    Stricter than ``int()``, which also takes ``" 5"``, ``"+5"``, ``"5_000"`` and digits of other
    scripts: none of those is how a client writes an integer into a URL.
    """
    if not _WHOLE_TEXT.fullmatch(text):
        return None
    return int(text.partition(".")[0])
