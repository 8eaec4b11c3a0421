"""The provider's error shape, for every way a request to the fake can be wrong.

``{"error": {"code", "message", "details"}, "meta": {"requestId"}}`` with the provider's codes, plus
NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE and UNSUPPORTED_MEDIA_TYPE in the same
shape. Handlers raise :class:`APIError`, or let the library's own errors escape:
:data:`DOMAIN_ERRORS` is the one table that decides how each of those is answered, so a route
never needs an ``except`` to translate one. Anything else is a bug and answers INTERNAL_ERROR,
never an HTML page or a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.wrappers import Request

from lmif_mock.errors import ConflictError, LMIFMockError, NotFoundError
from lmif_mock.health import DeliveryControlError
from lmif_mock.waiting import WaitError
from lmif_mock.webhooks import SandboxOnlyError, WebhookError
from lmif_mock.world import WorldError

log = logging.getLogger("lmif_mock.http")

#: code -> (HTTP status, default message); the first eight are the provider's own.
CODES: dict[str, tuple[int, str]] = {
    "UNAUTHORIZED": (401, "Invalid API key"),
    "KEY_REVOKED": (401, "API key has been revoked"),
    "KEY_EXPIRED": (401, "API key has expired"),
    "WRONG_ENVIRONMENT": (401, "API key environment mismatch"),
    "FORBIDDEN": (403, "Access denied"),
    "INSUFFICIENT_TIER": (403, "Feature not available on your plan"),
    "VALIDATION_ERROR": (400, "Invalid request"),
    "RATE_LIMITED": (429, "Rate limit exceeded"),
    "NOT_FOUND": (404, "Not found"),
    "METHOD_NOT_ALLOWED": (405, "Method not allowed"),
    "CONFLICT": (409, "Conflict"),
    "PAYLOAD_TOO_LARGE": (413, "Request body too large"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "Unsupported media type"),
    "TOO_MANY_WAITS": (503, "Too many long polls at once"),
    "RECEIVERS_BUSY": (503, "Too many requests waiting on webhook receivers at once"),
    "INTERNAL_ERROR": (500, "Internal error"),
}


class APIError(LMIFMockError):
    """An error answer: its code decides the status; ``details`` says what exactly was wrong."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        status, default = CODES[code]
        super().__init__(message or default)
        self.code = code
        self.status = status
        self.message = message or default
        self.details = details
        self.headers = headers or {}

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body the provider would send: ``details`` is always there (null when the
        message says it all), so a client can read it without checking that it exists."""
        error = {"code": self.code, "message": self.message, "details": self.details}
        return {"error": error, "meta": {"requestId": request_id}}


def validation_error(problems: list[dict[str, str]]) -> APIError:
    """VALIDATION_ERROR with the documented message ("Invalid request"); its details list each
    field and what is wrong with it."""
    return APIError("VALIDATION_ERROR", details=problems)


def not_found(kind: str, ident: str) -> APIError:
    """NOT_FOUND naming the missing object."""
    return APIError("NOT_FOUND", f"No {kind} with id {ident!r}", {"resource": kind, "id": ident})


# -- the library's errors as answers ------------------------------------------------------------

#: What an answer's ``details`` say about an error raised while reading ``field``.
Details = Callable[[Exception, str], Any]


def _no_details(exc: Exception, field: str) -> None:
    return None


def _field_problem(exc: Exception, field: str) -> list[dict[str, str]]:
    return [{"field": field, "message": str(exc)}]


def _webhook_field(exc: Exception, field: str) -> list[dict[str, str]]:
    """The registry's errors name their field only in words; the answer names it as a field."""
    message = str(exc)
    named = "events" if "event" in message else "secret" if "secret" in message else "url"
    return [{"field": named, "message": message}]


def _sandbox_only(exc: Exception, field: str) -> str:
    return (
        "Test events are a sandbox feature: send them with a sandbox key (lmif_test_*) to the "
        "sandbox endpoint"
    )


@dataclass(frozen=True)
class Answer:
    """How one kind of library error is answered: its code, its details, and whether the
    error's own text is the message (else the code's documented one, e.g. "Invalid request")."""

    code: str
    details: Details
    own_message: bool = True

    def to(self, exc: Exception, field: str) -> APIError:
        """The answer to ``exc``, raised while reading ``field`` of the request."""
        return APIError(self.code, str(exc) if self.own_message else None, self.details(exc, field))


#: The library's invalid input: the error's text, naming the field it was found in.
_INVALID = Answer("VALIDATION_ERROR", _field_problem)

#: The one table from the library's typed errors to API errors, most specific first.
DOMAIN_ERRORS: tuple[tuple[type[Exception], Answer], ...] = (
    (SandboxOnlyError, Answer("FORBIDDEN", _sandbox_only, own_message=False)),
    (NotFoundError, Answer("NOT_FOUND", _no_details)),
    (ConflictError, Answer("CONFLICT", _no_details)),
    (WebhookError, Answer("VALIDATION_ERROR", _webhook_field, own_message=False)),
    (WorldError, Answer("VALIDATION_ERROR", _field_problem, own_message=False)),
    (WaitError, Answer("VALIDATION_ERROR", _field_problem, own_message=False)),
    (DeliveryControlError, Answer("VALIDATION_ERROR", _field_problem, own_message=False)),
    # Everything else the library refuses (faults, scripts, retry policies, the clock, event
    # types and data, URLs, hosts) is invalid input, in the error's own words.
    (LMIFMockError, _INVALID),
)


def domain_error(exc: Exception, field: str = "body") -> APIError | None:
    """``exc`` as the API answers it, per :data:`DOMAIN_ERRORS`; None if it is not the library's."""
    if isinstance(exc, APIError):
        return exc
    for kind, answer in DOMAIN_ERRORS:
        if isinstance(exc, kind):
            return answer.to(exc, field)
    return None


@contextmanager
def reported_as(field: str, *also: type[Exception]) -> Iterator[None]:
    """Library errors raised inside name ``field`` as the part of the request that was wrong
    (``body`` unless told); ``also`` are other errors that mean invalid input there."""
    catching: tuple[type[Exception], ...] = (LMIFMockError, *also)
    try:
        yield
    except catching as exc:
        raise (domain_error(exc, field) or _INVALID.to(exc, field)) from None


def as_api_error(exc: Exception, request: Request, max_body_bytes: int) -> APIError:
    """Any exception a handler let escape, as the answer the client gets."""
    known = domain_error(exc)
    if known is not None:
        return known
    if isinstance(exc, MethodNotAllowed):
        allowed = sorted(exc.valid_methods or [])
        return APIError(
            "METHOD_NOT_ALLOWED",
            f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
            {"allowed": allowed},
            {"Allow": ", ".join(allowed)},
        )
    if isinstance(exc, RequestEntityTooLarge):
        return APIError(
            "PAYLOAD_TOO_LARGE",
            f"Request body exceeds {max_body_bytes} bytes",
            {"limit": max_body_bytes},
        )
    if isinstance(exc, HTTPException):
        said = exc.description or "Bad request"
        return APIError("VALIDATION_ERROR", said, [{"field": "request", "message": said}])
    log.exception("internal error answering %s %s", request.method, request.path)
    return APIError("INTERNAL_ERROR", "lmif-mock failed to answer; see its log")
