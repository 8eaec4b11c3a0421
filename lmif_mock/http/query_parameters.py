"""Every query parameter a route takes, with its schema: the one table the OpenAPI document
states and the app checks, so a filter cannot take a value the document does not list.

A list filter compared by equality answered ``?status=bogus`` with an empty list, which a client
cannot tell from "nothing in that state"; a value outside a parameter's ``enum`` is refused
instead (400 naming the values allowed), for every route, before its handler runs. ``status``
is the one name whose values differ by route (a delivery's states are not a license's).
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request

from lmif_mock.http.errors import validation_error
from lmif_mock.http.listing import DELIVERY_STATUSES, MAX_LIMIT, MAX_OFFSET
from lmif_mock.http.routes import Route
from lmif_mock.payloads import ENTITY_TYPES, LICENSE_TIERS, POLICIES
from lmif_mock.waiting import UNTIL
from lmif_mock.world import (
    CLAIM_STATUSES,
    GRACE_PERIOD_STATUSES,
    LICENSE_STATUSES,
    SEVERITIES,
    VIOLATION_STATUSES,
)

Schema = dict[str, Any]

#: The furthest ahead ``expiringWithin`` looks, in days.
MAX_EXPIRING_WITHIN = 99999

_STRING: Schema = {"type": "string"}

#: Each query parameter's schema, by name.
PARAMETERS: dict[str, Schema] = {
    "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
    "offset": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    "status": {"enum": list(DELIVERY_STATUSES)},
    "type": _STRING,
    "eventId": _STRING,
    "webhookId": _STRING,
    "policy": {"enum": list(POLICIES)},
    "claimId": _STRING,
    "boxId": _STRING,
    "severity": {"enum": list(SEVERITIES)},
    "expiringWithin": {"type": "integer", "minimum": 0, "maximum": MAX_EXPIRING_WITHIN},
    "tier": {"enum": list(LICENSE_TIERS)},
    "entityType": {"enum": list(ENTITY_TYPES)},
    # the control routes' long polls
    "eventType": _STRING,
    "until": {"enum": list(UNTIL)},
    "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
    "count": {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 10000}, {"const": "all"}]},
    "timeout": {"type": "number", "minimum": 0, "maximum": 60, "default": 10},
    "retries": {"enum": ["true", "false"], "default": "true"},
}

#: ``status`` where it is not a delivery's, by the route's endpoint.
_STATUS_BY_ENDPOINT: dict[str, tuple[str, ...]] = {
    "list_claims": CLAIM_STATUSES,
    "list_violations": VIOLATION_STATUSES,
    "list_grace_periods": GRACE_PERIOD_STATUSES,
    "list_licenses": LICENSE_STATUSES,
}


def parameter_schema(route: Route, name: str) -> Schema:
    """The schema of query parameter ``name`` of ``route``."""
    if name == "status" and route.endpoint in _STATUS_BY_ENDPOINT:
        return {"enum": list(_STATUS_BY_ENDPOINT[route.endpoint])}
    return PARAMETERS[name]


def check_choices(route: Route, request: Request) -> None:
    """Refuse (VALIDATION_ERROR listing every one) query values outside their ``enum``."""
    problems = []
    for name in route.query:
        allowed = parameter_schema(route, name).get("enum")
        given = request.args.getlist(name)
        if allowed is None or not given:
            continue
        if len(given) > 1:
            problems.append({"field": name, "message": "give it once"})
        elif given[0] not in allowed:
            problems.append({"field": name, "message": f"must be one of {allowed}"})
    if problems:
        raise validation_error(problems)
