"""Reading a request body as JSON, with refusals in the API's words.

``json.loads`` on outside bytes fails in ways whose messages describe Python, not the request:
the interpreter's integer digit limit, its recursion limit, codec names. A client reading the
400 needs to know what to change in what it sent, so each failure is reworded here.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.errors import EncodingError
from lmif_mock.events import MAX_DATA_DEPTH, check_json_value
from lmif_mock.http.errors import APIError
from lmif_mock.http.request_body import whole_body
from lmif_mock.http.routes import ROUTE_KEY, Route

#: Body nesting allowed: event data's cap plus the request's own envelope around it.
MAX_BODY_DEPTH = MAX_DATA_DEPTH + 2

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


class BodyReader:
    """Every route's way to its request body: whole, JSON, within the size cap, or refused with
    a 4xx before any handler can act on it."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def __call__(self, request: Request) -> Any:
        """The body as a JSON value; ``{}`` for an empty one where the route's body is optional
        (the route table says so, and the OpenAPI document says the same from it)."""
        raw = whole_body(request, self.max_bytes)
        if not raw.strip():
            route = request.environ.get(ROUTE_KEY)
            if isinstance(route, Route) and route.request_optional:
                return {}
            raise APIError(
                "VALIDATION_ERROR",
                "Request body is required",
                [{"field": "body", "message": "is required"}],
            )
        if request.mimetype != "application/json":
            sent = request.mimetype or "no Content-Type"
            raise APIError(
                "UNSUPPORTED_MEDIA_TYPE",
                f"Send JSON with 'Content-Type: application/json', not {sent!r}",
                {"contentType": request.mimetype or None, "expected": "application/json"},
            )
        try:
            body = read_json(raw, MAX_BODY_DEPTH)
        except MalformedJSON as exc:
            raise APIError(
                "VALIDATION_ERROR",
                f"Malformed JSON: {exc}",
                [{"field": "body", "message": f"malformed JSON: {exc}"}],
            ) from None
        try:
            # Numbers that overflow to infinity, lone surrogates, absurd nesting: refused here,
            # before any handler can store them (every body, every route).
            check_json_value(body, "body", MAX_BODY_DEPTH)
        except EncodingError as exc:
            problem = [{"field": "body", "message": str(exc)}]
            raise APIError("VALIDATION_ERROR", f"Unusable JSON: {exc}", problem) from None
        return body
