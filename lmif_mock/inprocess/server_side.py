"""What a web server in front of an in-process app would do for it: split the webhook URL into
the path and query the app is called with, and turn an exception escaping the app into a 500."""

from __future__ import annotations

import functools
import traceback
from urllib.parse import unquote, urlsplit

from lmif_mock.exchanges import Response


@functools.lru_cache(maxsize=1024)
def path_and_query(url: str) -> tuple[str, str]:
    """Path and query of ``url`` (pure, so remembered: a webhook's URL never changes)."""
    parts = urlsplit(url)
    return parts.path or "/", parts.query


@functools.lru_cache(maxsize=1024)
def path_info(path: str) -> str:
    """WSGI's ``PATH_INFO``: the path percent-decoded, as latin-1 text (PEP 3333)."""
    return unquote(path, encoding="latin-1")


def app_crash_response(exc: BaseException) -> Response:
    """An exception escaping an in-process app is what a real server turns into a 500."""
    summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Response(500, {"content-type": "text/plain"}, summary.encode("utf-8", "replace"))
