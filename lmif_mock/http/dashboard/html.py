"""The dashboard's HTML building blocks, escaping by default.

Everything is built with :class:`markupsafe.Markup` templates: a plain ``str`` put into one is
escaped, only ``Markup`` (markup this package wrote) goes in as is. So text from outside (an
endpoint URL, an event's payload, a receiver's answer) cannot become markup by forgetting a call.
Pages load one stylesheet and one script from the dashboard itself and nothing inline, which is
what lets the Content-Security-Policy forbid inline script and style.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources

from markupsafe import Markup
from werkzeug.wrappers import Response

PREFIX = "/dashboard"

#: No inline script or style, nothing from elsewhere, forms only to this origin, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

NOTHING = Markup()

#: The files under ``/dashboard/static/`` and their media types.
STATIC_TYPES = {
    "dashboard.css": "text/css",
    "dashboard.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}

_SHELL = Markup(
    "<!doctype html><html lang=en><head><meta charset=utf-8>"
    "<meta name=viewport content='width=device-width, initial-scale=1'>"
    "<title>{title} - lmif-mock</title>"
    '<link rel=icon href="{prefix}/static/favicon.svg" type="image/svg+xml">'
    '<link rel=stylesheet href="{prefix}/static/dashboard.css">'
    '<script src="{prefix}/static/dashboard.js" defer></script></head><body>'
    "<header><strong>lmif-mock</strong>{nav}</header>"
    "<main><h1>{title}</h1>{notice}{body}</main></body></html>"
)


def static_file(name: str) -> bytes:
    """One of the dashboard's own files (see :data:`STATIC_TYPES`)."""
    return (resources.files("lmif_mock.http.dashboard") / "static" / name).read_bytes()


def secure(response: Response) -> Response:
    """The headers every dashboard answer carries."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def page(
    title: str,
    body: Markup,
    *,
    nav: Markup = NOTHING,
    notice: Markup = NOTHING,
    status: int = 200,
) -> Response:
    """A whole page."""
    document = _SHELL.format(title=title, prefix=PREFIX, nav=nav, notice=notice, body=body)
    return secure(Response(str(document), status=status, mimetype="text/html"))


def redirect(location: str) -> Response:
    """303 to one of the dashboard's own paths (callers pass only paths they built or checked)."""
    if not location.startswith(PREFIX + "/") or location.startswith(PREFIX + "//"):
        raise ValueError(f"the dashboard redirects only to its own pages, not {location!r}")
    return secure(Response("", status=303, headers={"Location": location}))


def join(parts: Iterable[Markup]) -> Markup:
    """Markup pieces side by side."""
    return Markup("").join(parts)


def form(
    csrf: str, action: str, inner: Markup, *, cls: str = "inline", confirm: str | None = None
) -> Markup:
    """A POST form carrying the session's CSRF token; ``confirm`` asks before submitting."""
    ask = Markup(" data-confirm={}").format(Markup('"{}"').format(confirm)) if confirm else ""
    return Markup(
        '<form method=post action="{action}" class="{cls}"{ask}>'
        '<input type=hidden name=csrf value="{csrf}">{inner}</form>'
    ).format(action=action, cls=cls, ask=ask, csrf=csrf, inner=inner)


def secret_box(ident: str, secret: str, label: str) -> Markup:
    """A read-only field holding a secret, with a Copy button."""
    return Markup(
        '<p><label for="{ident}">{label}</label> '
        '<input class=secret id="{ident}" type=text readonly value="{secret}"> '
        '<button type=button data-copy="{ident}">Copy</button></p>'
    ).format(ident=ident, label=label, secret=secret)


def notice(message: str, *, role: str = "status", cls: str = "flash") -> Markup:
    """A message at the top of a page."""
    return Markup('<p class="{cls}" role="{role}">{message}</p>').format(
        cls=cls, role=role, message=message
    )
