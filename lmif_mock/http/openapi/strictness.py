"""Request body schemas as strict as the server reads them.

Every request body is read by :class:`lmif_mock.http.validation.Fields`, which refuses a field it
does not know and an empty string, so a client generated from the document must learn both from
it: each object with listed properties gets ``additionalProperties: false`` and each plain string
field ``minLength: 1`` and, unless it says less, the reader's longest (``maxLength``); each
list of strings the reader's most items (``maxItems``). Applied
once, to the schemas the routes name as request bodies, so the component tables stay written the
short way.
"""

from __future__ import annotations

import json

from lmif_mock.http.openapi.schema import Schema
from lmif_mock.http.validation import MAX_LIST_ITEMS, MAX_STRING_LENGTH

#: What makes a string field more than a plain string: left as declared.
_ALREADY_CONSTRAINED = ("enum", "const", "pattern", "minLength", "format")


def strict(schema: Schema) -> Schema:
    """A copy of a request body's ``schema`` refusing unknown fields and empty strings."""
    # A JSON round trip, not deepcopy: the tables reuse one dict (e.g. STRING) in many places,
    # and a field tightened here must not tighten every other place sharing it.
    tightened: Schema = json.loads(json.dumps(schema))
    _tighten(tightened)
    return tightened


def _tighten(schema: Schema) -> None:
    properties = schema.get("properties")
    if isinstance(properties, dict):
        if schema.get("type") == "object":  # not a branch of anyOf that only constrains a field
            schema.setdefault("additionalProperties", False)
        for field in properties.values():
            if _plain_string(field):
                field["minLength"] = 1
                field.setdefault("maxLength", MAX_STRING_LENGTH)
            elif _list_of_strings(field):
                field.setdefault("maxItems", MAX_LIST_ITEMS)
    for part in (*(properties or {}).values(), schema.get("items")):
        if isinstance(part, dict):
            _tighten(part)
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, []):
            _tighten(part)


def _list_of_strings(field: Schema) -> bool:
    """A list the reader takes as strings (capped at its default unless the field says less)."""
    items = field.get("items")
    return (
        field.get("type") == "array"
        and isinstance(items, dict)
        and (items.get("type") == "string" or "enum" in items)
    )


def _plain_string(field: Schema) -> bool:
    """A string field (or a string-or-null one: minLength does not apply to null)."""
    typed = field.get("type") in ("string", ["string", "null"])
    return typed and not any(k in field for k in _ALREADY_CONSTRAINED)
