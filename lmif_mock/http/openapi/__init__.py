"""The OpenAPI 3.1 document of every route, built from :mod:`lmif_mock.http.routes`.

Clients in any language can generate a client from it, and tools like schemathesis can check the
fake against it; because routes and document come from one table, a route cannot be left out.
The parts: :mod:`.paths` (the operations), the components in :mod:`.core_components`,
:mod:`.resource_components` and :mod:`.control_components`, and :mod:`.webhooks` (the events).
"""

from __future__ import annotations

from lmif_mock.http.openapi.control_components import CONTROL_COMPONENTS
from lmif_mock.http.openapi.core_components import CORE_COMPONENTS, key_rotate_schema
from lmif_mock.http.openapi.paths import paths
from lmif_mock.http.openapi.resource_components import RESOURCE_COMPONENTS
from lmif_mock.http.openapi.schema import Schema
from lmif_mock.http.openapi.strictness import strict
from lmif_mock.http.openapi.webhooks import webhooks
from lmif_mock.http.routes import ROUTES

VERSION = "0.1.0"
#: Every component schema, in the order the document lists them.
COMPONENTS: dict[str, Schema] = {**CORE_COMPONENTS, **RESOURCE_COMPONENTS, **CONTROL_COMPONENTS}
#: The schemas some route reads as its request body: as strict as the server (see strictness).
REQUEST_BODIES = frozenset(route.request for route in ROUTES if route.request is not None)
COMPONENTS.update({name: strict(COMPONENTS[name]) for name in sorted(REQUEST_BODIES)})


def document(server_url: str = "http://127.0.0.1", key_prefix: str = "lmif_test_") -> Schema:
    """The whole OpenAPI 3.1 document, for a fake served at ``server_url`` whose API keys start
    with ``key_prefix`` (its environment's)."""
    schemas = {**COMPONENTS, "KeyRotate": key_rotate_schema(key_prefix)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "lmif-mock: a fake LMIF webhook provider",
            "version": VERSION,
            "description": (
                "The provider's webhook management API under /v1/lmif and the fake's control "
                "API under /_mock. Served by the lmif_mock package."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "lmif_test_… key"}
            },
            "schemas": schemas,
        },
        "paths": paths(),
        "webhooks": webhooks(),
    }
