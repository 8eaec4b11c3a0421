"""JSON Schemas (draft 2020-12) for the envelope and the ``data`` of every event type.

The schemas describe what the fake sends and what a receiver may rely on. They list every field
as required but allow extra ones (``additionalProperties`` is left open), because a receiver that
validates real traffic must not break when the provider adds a field; the project's own tests
check with the closed form (:meth:`lmif_mock.event_shapes.EventShape.schema`) that what the fake
sends has exactly the listed fields. Nothing here is written by hand: the shapes are declared once
in :mod:`lmif_mock.event_shapes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lmif_mock.event_shapes import SHAPES
from lmif_mock.events import API_VERSION, EVENT_TYPES
from lmif_mock.shape_types import TIMESTAMP as _TIMESTAMP
from lmif_mock.shape_types import Ident, OneOf

Schema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TIMESTAMP: Schema = _TIMESTAMP.schema(closed=False)

#: The ``data`` schema of every event type, generated from :data:`lmif_mock.event_shapes.SHAPES`.
DATA: Mapping[str, Schema] = {event_type: SHAPES[event_type].schema() for event_type in EVENT_TYPES}


def envelope_schema(data: Schema | None = None, event_type: str | None = None) -> Schema:
    """The envelope's schema: exactly ``id, type, createdAt, data, meta``, nothing else."""
    schema: Schema = {
        "type": "object",
        "properties": {
            "id": Ident("event").schema(closed=False),
            "type": {"const": event_type}
            if event_type
            else OneOf(EVENT_TYPES).schema(closed=False),
            "createdAt": TIMESTAMP,
            "data": data or {"type": "object"},
            "meta": {
                "type": "object",
                "properties": {
                    "apiVersion": {"const": API_VERSION},
                    "webhookId": Ident("webhook").schema(closed=False),
                },
                "required": ["apiVersion", "webhookId"],
                "additionalProperties": False,
            },
        },
        "required": ["id", "type", "createdAt", "data", "meta"],
        "additionalProperties": False,
    }
    return schema


def event_schema(event_type: str) -> Schema:
    """The full schema of one event type, envelope included, ready to write to a file."""
    return {
        "$schema": DIALECT,
        "$id": f"https://lmif-mock.invalid/schemas/{event_type}.json",
        "title": f"LMIF {event_type} webhook event",
        **envelope_schema(DATA[event_type], event_type),
    }
