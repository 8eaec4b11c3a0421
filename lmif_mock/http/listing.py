"""How every list is answered: one page of it (``limit``/``offset``) and the query filters.

Shared by all list routes so that a bad ``limit`` or ``status`` is refused in the same words
everywhere, with every problem listed at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast, get_args

from werkzeug.wrappers import Request

from lmif_mock.http.errors import validation_error
from lmif_mock.json_integers import whole_number_text
from lmif_mock.records import DeliveryStatus

Item = TypeVar("Item")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
#: The furthest a page may start (the OpenAPI document states it too).
MAX_OFFSET = 10**9
#: The delivery states a ``status`` query may ask for.
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatus)


def window(request: Request) -> tuple[int, int]:
    """The ``limit`` and ``offset`` a list query asks for (defaults 20 and 0), or one
    VALIDATION_ERROR listing every problem with them."""
    problems = []
    values = {}
    for name, default, low, high in (
        ("limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        ("offset", 0, 0, MAX_OFFSET),
    ):
        text = request.args.get(name)
        value = default if text is None else whole_number_text(text)
        if value is None:
            problems.append({"field": name, "message": "must be a whole number"})
            continue
        if not low <= value <= high:
            problems.append({"field": name, "message": f"must be between {low} and {high}"})
        values[name] = value
    if problems:
        raise validation_error(problems)
    return values["limit"], values["offset"]


def page(request: Request, items: list[Item], render: Callable[[Item], Any]) -> dict[str, Any]:
    """The page of ``items`` the query asks for, each rendered, with the total and the window."""
    limit, offset = window(request)
    return {
        "data": [render(item) for item in items[offset : offset + limit]],
        "meta": {"total": len(items), "limit": limit, "offset": offset},
    }


def page_by_id(
    request: Request,
    ids: list[str],
    read: Callable[[str], Item | None],
    render: Callable[[Item], Any],
) -> dict[str, Any]:
    """:func:`page` over ids, reading only the page's items: listing a long session must not
    read (or, from SQLite, parse) all of it for every page. An item gone between the listing
    and the reading (a reset meanwhile) is left out of the page."""
    limit, offset = window(request)
    found = (read(item_id) for item_id in ids[offset : offset + limit])
    return {
        "data": [render(item) for item in found if item is not None],
        "meta": {"total": len(ids), "limit": limit, "offset": offset},
    }


def delivery_status(request: Request) -> DeliveryStatus | None:
    """The ``status`` a delivery list is filtered by, if any (one of :data:`DELIVERY_STATUSES`)."""
    status = request.args.get("status")
    if status is not None and status not in DELIVERY_STATUSES:
        raise validation_error(
            [{"field": "status", "message": f"must be one of {list(DELIVERY_STATUSES)}"}]
        )
    return cast("DeliveryStatus | None", status)


def filtered(
    request: Request, items: list[Item], **filters: Callable[[Item], object]
) -> list[Item]:
    """``items`` whose value read by each filter equals that query argument, where it is given."""
    for name, read in filters.items():
        wanted = request.args.get(name)
        if wanted is not None:
            items = [item for item in items if str(read(item)) == wanted]
    return items
