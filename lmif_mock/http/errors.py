"""The provider's error shape, for every way a request to the fake can be wrong.

``{"error": {"code", "message", "details"}, "meta": {"requestId"}}`` with the provider's codes, plus
NOT_FOUND, METHOD_NOT_ALLOWED, CONFLICT, PAYLOAD_TOO_LARGE and UNSUPPORTED_MEDIA_TYPE in the same
shape. Handlers raise :class:`APIError`; the app turns it (and anything unexpected) into JSON, so no
client ever sees an HTML page or a traceback.
"""

from __future__ import annotations

from typing import Any

from lmif_mock.errors import LMIFMockError

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
        """The JSON body the provider would send."""
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error, "meta": {"requestId": request_id}}


def validation_error(problems: list[dict[str, str]]) -> APIError:
    """VALIDATION_ERROR with the documented message ("Invalid request"); its details list each
    field and what is wrong with it."""
    return APIError("VALIDATION_ERROR", details=problems)


def not_found(kind: str, ident: str) -> APIError:
    """NOT_FOUND naming the missing object."""
    return APIError("NOT_FOUND", f"No {kind} with id {ident!r}", {"resource": kind, "id": ident})
