"""Reading a request body as JSON, with refusals in the API's words.

``json.loads`` on outside bytes fails in ways whose messages describe Python, not the request:
the interpreter's integer digit limit, its recursion limit, codec names. A client reading the
400 needs to know what to change in what it sent, so each failure is reworded here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

#: The longest integer literal read (Python's own conversion limit, 4300 by default).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300


class MalformedJSON(ValueError):
    """A body that is not JSON the API can read; the message says what is wrong with it."""


def _constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not valid JSON")


def _integer(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise MalformedJSON(f"a number has {digits} digits; at most {MAX_INT_DIGITS} are read")
    return int(text)


def read_json(raw: bytes, max_depth: int) -> Any:
    """``raw`` parsed as JSON, or :class:`MalformedJSON` saying why not (``max_depth`` is only
    named in the message for bodies nested past what can be parsed at all)."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        where = (
            f" (byte 0x{raw[exc.start]:02x} at position {exc.start})"
            if exc.start < len(raw)
            else ""
        )
        raise MalformedJSON(f"the body is not valid UTF-8 text{where}") from None
    try:
        return json.loads(text, parse_constant=_constant, parse_int=_integer)
    except MalformedJSON:
        raise
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise MalformedJSON(f"nested too deeply (at most {max_depth} levels)") from None
    except ValueError as exc:  # anything else json may raise on odd input: still a 400
        raise MalformedJSON(f"unreadable JSON ({type(exc).__name__})") from None
