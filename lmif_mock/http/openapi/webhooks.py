"""The document's ``webhooks``: what the fake sends to a receiver, one entry per event type."""

from __future__ import annotations

from lmif_mock.events import EVENT_TYPES
from lmif_mock.http.openapi.schema import Schema
from lmif_mock.schemas import DATA, envelope_schema


def webhooks() -> Schema:
    """What the fake sends to a receiver, one entry per event type, generated from the event
    shapes (:mod:`lmif_mock.event_shapes`) like the schema fixtures are."""
    return {
        event_type: {
            "post": {
                "summary": f"The {event_type} event, signed with X-LMIF-Signature",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": envelope_schema(DATA[event_type], event_type)
                        }
                    },
                },
                "responses": {"2XX": {"description": "Received; anything else is retried"}},
            }
        }
        for event_type in EVENT_TYPES
    }
