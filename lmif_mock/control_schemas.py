"""OpenAPI components and query parameters of the control routes in :mod:`control_api`.

Kept apart from :mod:`lmif_mock.openapi` so that the document's core tables stay as they are;
that module merges these in.
"""

from __future__ import annotations

from typing import Any

from lmif_mock.waiting import UNTIL

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(**properties: Schema) -> Schema:
    return {"type": "object", "properties": properties, "required": list(properties)}


CONTROL_COMPONENTS: dict[str, Schema] = {
    "WaitResult": _obj(
        met={"type": "boolean", "description": "false: the timeout passed first"},
        waitedFor={"type": "string"},
        seen={"type": "string", "description": "every matching delivery as last seen"},
        deliveries={"type": "array", "items": _ref("Delivery"), "maxItems": 100},
    ),
    "IdleResult": _obj(
        idle={"type": "boolean", "description": "false: the timeout passed first"},
        seen={"type": "string", "description": "what was still busy (empty when idle)"},
    ),
}

CONTROL_PARAMETERS: dict[str, Schema] = {
    "eventType": {"type": "string"},
    "until": {"enum": list(UNTIL)},
    "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
    "count": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 10000}, {"const": "all"}]},
    "timeout": {"type": "number", "minimum": 0, "maximum": 60, "default": 10},
    "retries": {"enum": ["true", "false"], "default": "true"},
}
