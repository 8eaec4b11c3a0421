"""A request's whole body, or a refusal: never a prefix cut at the size limit.

werkzeug enforces ``max_content_length`` on a ``Content-Length`` at once, but a chunked body has
no length up front: werkzeug reads it up to the limit and stops, so a body one byte too large
came back as its first megabyte, and the API acted on a truncated request (a JSON object with its
end cut off, or a valid one followed by megabytes of padding). Here one more byte is asked for
when the limit is reached: if the client has it, the body is too large (413).
"""

from __future__ import annotations

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.wrappers import Request


def whole_body(request: Request, limit: int) -> bytes:
    """The body of ``request``; ``RequestEntityTooLarge`` when it is longer than ``limit``."""
    raw = request.get_data(cache=True)
    if request.content_length is not None or len(raw) < limit:
        return raw  # a declared length was checked by werkzeug; a short stream ended by itself
    try:
        beyond = request.environ["wsgi.input"].read(1)
    except (OSError, ValueError):
        raise BadRequest("The chunked body is malformed") from None
    if beyond:
        raise RequestEntityTooLarge()
    return raw
