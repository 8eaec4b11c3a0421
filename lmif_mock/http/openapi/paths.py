"""The document's ``paths``: one operation per route of :data:`lmif_mock.http.routes.ROUTES`,
with its parameters, request body, answer and every error status it can give."""

from __future__ import annotations

from lmif_mock.http.openapi.schema import STRING, Schema, obj, ref
from lmif_mock.http.query_parameters import parameter_schema
from lmif_mock.http.receiver_share import may_deliver
from lmif_mock.http.routes import ROUTES, Route, openapi_path

#: The documented headers on every answer (counted or not).
RATE_LIMIT_HEADERS: Schema = {
    "X-RateLimit-Limit": {
        "description": "requests allowed per minute",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-RateLimit-Remaining": {
        "description": "requests left in the current window",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "X-RateLimit-Reset": {
        "description": "Unix time (seconds) when the window resets",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
}

_ERROR_TEXT = {
    400: "Invalid request (VALIDATION_ERROR, details list each field)",
    401: "Missing, wrong, expired, revoked or wrong-environment API key",
    403: "The plan lacks the feature (INSUFFICIENT_TIER) or it is sandbox-only (FORBIDDEN)",
    404: "No such object",
    405: "Method not allowed",
    409: "Conflict with the current state",
    413: "Request body too large",
    415: "Body is not JSON",
    429: "Rate limit exceeded",
    503: "Too many long polls waiting at once (TOO_MANY_WAITS); ask again after Retry-After",
}
#: What a 503 (a cap reached, nothing done) says about when to ask again.
_RETRY_AFTER: Schema = {
    "Retry-After": {
        "description": "seconds to wait before asking again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
#: The 503 of a route that may wait on receivers (lmif_mock.http.receiver_share).
_RECEIVERS_BUSY_TEXT = (
    "Too many requests already waiting on webhook receivers (RECEIVERS_BUSY); nothing was "
    "done, ask again after Retry-After"
)


def _operation(route: Route) -> Schema:
    if route.list_of is not None and route.query:
        body = obj(data={"type": "array", "items": ref(route.list_of)}, meta=ref("ListMeta"))
    elif route.list_of is not None:
        body = obj(data={"type": "array", "items": ref(route.list_of)})
    elif route.response is not None and "limit" in route.query:  # one page of a document
        body = obj(data=ref(route.response), meta=ref("ListMeta"))
    elif route.endpoint in ("health", "openapi", "identity_check", "identity_check_batch"):
        body = ref(route.response or "OpenAPI")
    else:
        body = obj(data=ref(route.response or "OpenAPI"))
    responses: Schema = {
        str(route.status): {
            "description": route.summary,
            "headers": RATE_LIMIT_HEADERS,
            "content": {"application/json": {"schema": body}},
        }
    }
    errors = {400, 405, *route.extra_statuses}
    if route.auth:
        errors.add(401)
    if route.path.startswith("/v1/"):  # only the provider's API is rate limited
        errors.add(429)
    if route.request is not None or route.method in ("POST", "PUT", "PATCH"):
        errors |= {413, 415}
    if may_deliver(route):
        errors.add(503)
    for status in sorted(errors):
        responses[str(status)] = {
            "description": _RECEIVERS_BUSY_TEXT
            if status == 503 and may_deliver(route)
            else _ERROR_TEXT[status],
            "headers": {**RATE_LIMIT_HEADERS, **_RETRY_AFTER}
            if status == 503
            else RATE_LIMIT_HEADERS,
            "content": {"application/json": {"schema": ref("Error")}},
        }
    operation: Schema = {
        "operationId": route.endpoint,
        "summary": route.summary,
        "tags": [route.tag],
        "responses": responses,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in ("id", "name")
        if f"<{name}>" in route.path
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": parameter_schema(route, name)}
        for name in route.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if route.request is not None:
        operation["requestBody"] = {
            "required": not route.request_optional,
            "content": {"application/json": {"schema": ref(route.request)}},
        }
    if not route.auth:
        operation["security"] = []
    return operation


def paths() -> Schema:
    """Every route as an OpenAPI path item, in the route table's order."""
    found: dict[str, Schema] = {}
    for route in ROUTES:
        found.setdefault(openapi_path(route.path), {})[route.method.lower()] = _operation(route)
    return found
