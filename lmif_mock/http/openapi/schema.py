"""The JSON Schema building blocks every part of the OpenAPI document is written with."""

from __future__ import annotations

from typing import Any

from lmif_mock.events import EVENT_TYPES

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: list[str] | None = None, **properties: Schema) -> Schema:
    """An object with ``properties``, all of them required unless ``required`` names some."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }


STRING: Schema = {"type": "string"}
NULLABLE_STRING: Schema = {"type": ["string", "null"]}
SECONDS: Schema = {"type": "number", "minimum": 0}
#: The shortest positive duration, in seconds: durations are kept to the microsecond, so a
#: smaller one would be zero, which a duration that must be positive cannot be.
MICROSECOND = 1e-6
EVENT_TYPE: Schema = {"enum": list(EVENT_TYPES)}
SUBSCRIPTION: Schema = {"enum": [*EVENT_TYPES, "*"]}
