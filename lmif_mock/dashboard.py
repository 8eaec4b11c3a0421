"""The provider's Settings -> Webhooks screens, locally: server-rendered HTML, almost no script.

Log in with the API key; then list endpoints, add one (its generated secret shown once, with a
copy button), open one to rotate its secret, enable or disable it, delete it, send a test event,
and see every delivery as a timeline of attempts with a Retry button. An event page shows the
exact payload and the signature header each attempt carried. A virtual clock can be advanced.

Safe by default: a session cookie (HttpOnly, SameSite=Strict) after an API-key login, a CSRF
token in every form (and checked on every POST), and everything that came from outside escaped.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from lmif_mock.api_keys import KeyRing
from lmif_mock.clock import VirtualClock
from lmif_mock.errors import LMIFMockError, NotFoundError
from lmif_mock.events import CATEGORIES, EVENT_TYPES
from lmif_mock.records import ALL_EVENTS, Delivery, Webhook
from lmif_mock.timestamps import format_timestamp
from lmif_mock.transcript import dumps as transcript_dumps
from lmif_mock.webhooks import WebhookError

if TYPE_CHECKING:
    from lmif_mock.fake import FakeLMIF

PREFIX = "/dashboard"
COOKIE = "lmif_dashboard"
SESSION_HOURS = 12

STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7fb}
header{background:#1d2330;color:#fff;padding:.7em 1.5em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header form{margin-left:auto}
main{max-width:1100px;margin:1.5em auto;padding:0 1.5em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45em .6em;border-bottom:1px solid #e3e6ee;vertical-align:top}
.card{background:#fff;border:1px solid #e3e6ee;border-radius:8px;padding:1em 1.2em;margin:1em 0}
.ok{color:#137333}.bad{color:#b3261e}.pending{color:#8a5a00}
button,.button{background:#3b5bdb;color:#fff;border:0;border-radius:5px;padding:.4em .9em;
cursor:pointer;font:inherit;text-decoration:none}button.danger{background:#b3261e}
input[type=text],input[type=url],input[type=password],select{padding:.35em;font:inherit;min-width:22em}
pre{background:#1d2330;color:#e8eaf2;padding:1em;overflow:auto;border-radius:6px;white-space:pre-wrap;
word-break:break-all}.secret{font-family:monospace;min-width:34em}
fieldset{border:1px solid #e3e6ee}label{margin-right:1em;display:inline-block}.inline{display:inline}
.flash{background:#e7f5ea;border:1px solid #9fd3ab;padding:.6em 1em;border-radius:6px}
.error{background:#fdecea;border:1px solid #f1a8a2;padding:.6em 1em;border-radius:6px}
"""

COPY_SCRIPT = (
    "document.querySelectorAll('[data-copy]').forEach(function(b){b.addEventListener('click',"
    "function(){var f=document.getElementById(b.dataset.copy);f.select();"
    "if(navigator.clipboard){navigator.clipboard.writeText(f.value)}"
    "b.textContent='Copied'})});"
)


def e(value: object) -> str:
    """Escape anything for HTML text or a quoted attribute."""
    return html.escape(str(value), quote=True)


class Dashboard:
    """The dashboard's WSGI handling, mounted by the API under ``/dashboard``."""

    def __init__(self, fake: FakeLMIF, keys: KeyRing) -> None:
        self.fake = fake
        self.keys = keys
        self._sessions: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer a request under ``/dashboard``."""
        path = request.path[len(PREFIX) :] or "/"
        try:
            if path == "/login":
                return self._login(request)
            session = self._session(request)
            if session is None:
                return _redirect(f"{PREFIX}/login")
            if request.method == "POST" and not self._csrf_ok(request, session):
                return self._page(
                    session, "Forbidden", "<p class=error>Missing or wrong form token.</p>", 403
                )
            return self._route(request, path, session)
        except NotFoundError as exc:
            return self._page(None, "Not found", f"<p class=error>{e(exc)}</p>", 404)

    def _route(self, request: Request, path: str, session: dict[str, Any]) -> Response:
        parts = [p for p in path.split("/") if p]
        method = request.method
        if parts == [] and method == "GET":
            return self._endpoints(session)
        if parts == ["logout"] and method == "POST":
            with self._lock:
                self._sessions.pop(session["token"], None)
            response = _redirect(f"{PREFIX}/login")
            response.delete_cookie(COOKIE, path=PREFIX)
            return response
        if parts == ["clock"] and method == "POST":
            return self._advance(request, session)
        if parts == ["webhooks", "new"] and method == "GET":
            return self._new_webhook(session)
        if parts == ["webhooks"] and method == "POST":
            return self._create_webhook(request, session)
        if len(parts) == 2 and parts[0] == "webhooks" and method == "GET":
            return self._webhook(parts[1], session)
        if len(parts) == 3 and parts[0] == "webhooks" and method == "POST":
            return self._webhook_action(parts[1], parts[2], request, session)
        if (
            len(parts) == 3
            and parts[0] == "deliveries"
            and parts[2] == "retry"
            and method == "POST"
        ):
            delivery = self.fake.retry(parts[1])
            self._flash(session, f"Retried {delivery.id}: {delivery.status}")
            return _redirect(f"{PREFIX}/webhooks/{quote(delivery.webhook_id)}")
        if len(parts) == 2 and parts[0] == "events" and method == "GET":
            return self._event(parts[1], session)
        if parts == ["transcript.json"] and method == "GET":
            return _transcript_download(self.fake)
        if method not in ("GET", "POST"):
            return Response("method not allowed", status=405, headers={"Allow": "GET, POST"})
        raise NotFoundError(f"no dashboard page {path!r}")

    def _session(self, request: Request) -> dict[str, Any] | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        with self._lock:
            return self._sessions.get(token)

    def _csrf(self, session: dict[str, Any]) -> str:
        return hmac.new(session["token"].encode(), b"csrf", hashlib.sha256).hexdigest()

    def _csrf_ok(self, request: Request, session: dict[str, Any]) -> bool:
        return hmac.compare_digest(request.form.get("csrf", ""), self._csrf(session))

    def _flash(self, session: dict[str, Any], message: str, secret: str | None = None) -> None:
        session["flash"] = (message, secret)

    def _form(
        self, session: dict[str, Any], action: str, inner: str, *, cls: str = "inline"
    ) -> str:
        return (
            f'<form method=post action="{e(action)}" class={cls}>'
            f'<input type=hidden name=csrf value="{e(self._csrf(session))}">{inner}</form>'
        )

    def _page(
        self, session: dict[str, Any] | None, title: str, body: str, status: int = 200
    ) -> Response:
        nav = ""
        flash = ""
        if session is not None:
            nav = (
                f'<a href="{PREFIX}/">Endpoints</a><a href="{PREFIX}/webhooks/new">Add endpoint</a>'
                f'<a href="{PREFIX}/transcript.json" download>Download transcript</a>'
                + self._form(session, f"{PREFIX}/logout", "<button>Log out</button>")
            )
            message = session.pop("flash", None)
            if message is not None:
                text, secret = message
                flash = f"<p class=flash role=status>{e(text)}</p>"
                if secret is not None:
                    flash += _secret_box(
                        "new-secret", secret, "Copy it now: it is shown here once."
                    )
        document = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{e(title)} - lmif-mock</title><style>{STYLE}</style></head><body>"
            f"<header><strong>lmif-mock</strong>{nav}</header><main><h1>{e(title)}</h1>"
            f"{flash}{body}</main><script>{COPY_SCRIPT}</script></body></html>"
        )
        response = Response(document, status=status, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cache-Control"] = "no-store"
        return response

    # -- pages ------------------------------------------------------------------------------------

    def _login(self, request: Request) -> Response:
        error = ""
        if request.method == "POST":
            given = request.form.get("api_key", "")
            if self.keys.status(given, self.fake.clock.now())[0] == "valid":
                token = secrets.token_urlsafe(32)
                with self._lock:
                    self._sessions[token] = {"token": token}
                response = _redirect(f"{PREFIX}/")
                response.set_cookie(
                    COOKIE, token, httponly=True, samesite="Strict", path=PREFIX,
                    max_age=SESSION_HOURS * 3600,
                )  # fmt: skip
                return response
            error = "<p class=error role=alert>That is not this server's API key.</p>"
        form = (
            f'<form method=post action="{PREFIX}/login" class=card>'
            "<p>Log in with the API key the server printed when it started.</p>"
            "<label>API key <input type=password name=api_key autocomplete=off autofocus></label> "
            "<button>Log in</button></form>"
        )
        return self._page(None, "Log in", error + form, 401 if error else 200)

    def _clock_panel(self, session: dict[str, Any]) -> str:
        clock = self.fake.clock
        now = format_timestamp(clock.now())
        pending = clock.pending()
        due = format_timestamp(pending[0]) if pending else "nothing scheduled"
        kind = "virtual" if isinstance(clock, VirtualClock) else "real"
        buttons = "".join(
            self._form(session, f"{PREFIX}/clock",
                       f'<input type=hidden name=seconds value="{seconds}"><button>+{label}</button>')
            + " "
            for label, seconds in (("1 min", 60), ("1 hour", 3600), ("1 day", 86400), ("30 days", 2592000))
        )  # fmt: skip
        return (
            f"<div class=card id=clock><strong>Clock</strong> ({kind}): "
            f"<span id=clock-now>{e(now)}</span>; next due: {e(due)}<br>{buttons}</div>"
        )

    def _endpoints(self, session: dict[str, Any]) -> Response:
        rows = []
        for webhook in self.fake.webhooks.list():
            deliveries = self.fake.deliveries(webhook_id=webhook.id)
            failed = sum(1 for d in deliveries if d.status == "failed")
            rows.append(
                f'<tr><td><a href="{PREFIX}/webhooks/{quote(webhook.id)}">{e(webhook.id)}</a></td>'
                f"<td>{e(webhook.url)}</td><td>{e(', '.join(webhook.events))}</td>"
                f"<td>{'enabled' if webhook.enabled else 'disabled'}</td>"
                f"<td>{len(deliveries)} ({failed} failed)</td>"
                f"<td class=health>{e(self.fake.endpoint_health(webhook.id).summary())}</td></tr>"
            )
        table = (
            "<table id=endpoints><tr><th>Id</th><th>URL</th><th>Events</th><th>State</th>"
            f"<th>Deliveries</th><th>Health</th></tr>{''.join(rows)}</table>"
            if rows
            else "<p>No endpoints yet.</p>"
        )
        body = (
            f'{self._clock_panel(session)}<p><a class=button href="{PREFIX}/webhooks/new">'
            f"Add endpoint</a></p>{table}"
        )
        return self._page(session, "Endpoints", body)

    def _event_checkboxes(self, chosen: Iterable[str] = ()) -> str:
        picked = set(chosen)
        groups = [
            f'<label><input type=checkbox name=events value="{ALL_EVENTS}"'
            f"{' checked' if ALL_EVENTS in picked else ''}> every event (*)</label>"
        ]
        for category, types in CATEGORIES.items():
            boxes = "".join(
                f'<label><input type=checkbox name=events value="{e(t)}"'
                f"{' checked' if t in picked else ''}> {e(t)}</label>"
                for t in types
            )
            groups.append(f"<fieldset><legend>{e(category)}</legend>{boxes}</fieldset>")
        return "".join(groups)

    def _new_webhook(self, session: dict[str, Any], error: str = "", url: str = "") -> Response:
        inner = (
            f'<p><label>Endpoint URL <input type=url name=url required value="{e(url)}" '
            'placeholder="http://127.0.0.1:3000/webhooks/lmif"></label></p>'
            f"{self._event_checkboxes()}"
            "<p><label>Secret (optional) <input type=text name=secret autocomplete=off "
            'placeholder="generated when empty"></label></p><p><button>Add endpoint</button></p>'
        )
        body = (f"<p class=error role=alert>{e(error)}</p>" if error else "") + self._form(
            session, f"{PREFIX}/webhooks", inner, cls="card"
        )
        return self._page(session, "Add endpoint", body, 400 if error else 200)

    def _create_webhook(self, request: Request, session: dict[str, Any]) -> Response:
        url = request.form.get("url", "").strip()
        events = request.form.getlist("events")
        secret = request.form.get("secret", "").strip() or None
        try:
            webhook = self.fake.webhooks.create(url, events, secret)
        except WebhookError as exc:
            return self._new_webhook(session, str(exc), url)
        self._flash(session, f"Endpoint {webhook.id} added. Its signing secret:", webhook.secret)
        return _redirect(f"{PREFIX}/webhooks/{quote(webhook.id)}")

    def _webhook(self, webhook_id: str, session: dict[str, Any]) -> Response:
        webhook = self.fake.webhooks.get(webhook_id)
        base = f"{PREFIX}/webhooks/{quote(webhook.id)}"
        toggle = "disable" if webhook.enabled else "enable"
        options = "".join(f'<option value="{e(t)}">{e(t)}</option>' for t in EVENT_TYPES)
        actions = (
            self._form(session, f"{base}/rotate", "<button>Rotate secret</button>") + " "
            + self._form(session, f"{base}/{toggle}", f"<button>{toggle.title()}</button>") + " "
            + self._form(session, f"{base}/delete",
                         "<button class=danger onclick=\"return confirm('Delete this endpoint?')\">"
                         "Delete</button>")
        )  # fmt: skip
        test = self._form(
            session,
            f"{base}/test",
            f"<label>Send test event <select name=event_type>{options}</select></label> "
            "<button>Send test event</button>",
        )
        details = (
            f"<div class=card><p>URL: <code id=webhook-url>{e(webhook.url)}</code></p>"
            f"<p>Events: {e(', '.join(webhook.events))}</p>"
            f"<p>State: <strong id=webhook-state>{'enabled' if webhook.enabled else 'disabled'}</strong></p>"
            f"{_secret_box('webhook-secret', webhook.secret, 'Signing secret')}"
            f"<p>{actions}</p><p>{test}</p></div>"
        )
        deliveries = self.fake.deliveries(webhook_id=webhook.id)
        timeline = "".join(self._delivery_card(d, session) for d in reversed(deliveries))
        body = (
            details
            + self._clock_panel(session)
            + "<h2>Deliveries</h2>"
            + (timeline or "<p>None yet.</p>")
        )
        return self._page(session, f"Endpoint {webhook.id}", body)

    def _delivery_card(self, delivery: Delivery, session: dict[str, Any]) -> str:
        css = {"succeeded": "ok", "failed": "bad"}.get(delivery.status, "pending")
        rows = "".join(
            f"<tr><td>{a.number}</td><td>{e(format_timestamp(a.at))}</td><td>{e(a.trigger)}</td>"
            f"<td>{e(a.status_code if a.status_code is not None else '-')}</td>"
            f"<td>{a.duration * 1000:.0f} ms</td><td>{e(a.error or '')} {e(a.message or '')}</td>"
            f"<td><code>{e(a.response_excerpt[:200])}</code></td></tr>"
            for a in delivery.attempts
        )
        nxt = (
            f"; next attempt {e(format_timestamp(delivery.next_attempt_at))}"
            if delivery.next_attempt_at
            else ""
        )
        retry = self._form(
            session, f"{PREFIX}/deliveries/{quote(delivery.id)}/retry", "<button>Retry</button>"
        )
        return (
            f'<div class="card delivery" id="{e(delivery.id)}" data-status="{e(delivery.status)}">'
            f'<strong>{e(delivery.event_type)}</strong> <a href="{PREFIX}/events/{quote(delivery.event_id)}">'
            f"{e(delivery.event_id)}</a> - <span class={css}>{e(delivery.status)}</span>{nxt} {retry}"
            "<table><tr><th>#</th><th>At</th><th>Trigger</th><th>Status</th><th>Latency</th>"
            f"<th>Error</th><th>Response</th></tr>{rows}</table></div>"
        )

    def _webhook_action(
        self, webhook_id: str, action: str, request: Request, session: dict[str, Any]
    ) -> Response:
        webhook: Webhook = self.fake.webhooks.get(webhook_id)
        base = f"{PREFIX}/webhooks/{quote(webhook.id)}"
        if action == "rotate":
            rotated = self.fake.webhooks.rotate_secret(webhook.id)
            self._flash(session, "Secret rotated. The new one:", rotated.secret)
        elif action in ("enable", "disable"):
            self.fake.webhooks.update(webhook.id, enabled=action == "enable")
            self._flash(session, f"Endpoint {action}d.")
        elif action == "delete":
            self.fake.webhooks.delete(webhook.id)
            self._flash(session, f"Endpoint {webhook.id} deleted.")
            return _redirect(f"{PREFIX}/")
        elif action == "test":
            event_type = request.form.get("event_type", "")
            if event_type not in EVENT_TYPES:
                raise NotFoundError(f"no event type {event_type!r}")
            event = self.fake.emit(event_type, webhook_ids=[webhook.id])
            self._flash(session, f"Test event {event.id} ({event_type}) sent.")
        else:
            raise NotFoundError(f"no action {action!r}")
        return _redirect(base)

    def _event(self, event_id: str, session: dict[str, Any]) -> Response:
        event = self.fake.store.get_event(event_id)
        if event is None:
            raise NotFoundError(f"no event {event_id!r}")
        parts = [
            f"<p>Type <strong>{e(event.type)}</strong>, created {e(format_timestamp(event.created_at))}</p>"
        ]
        for delivery in self.fake.deliveries(event_id=event.id):
            headers = "".join(
                f"<li>attempt {a.number}: <code class=signature>X-LMIF-Signature: "
                f"{e(a.signature if a.signature is not None else '(none sent)')}</code></li>"
                for a in delivery.attempts
            )
            parts.append(
                f"<div class=card><h2>Delivery {e(delivery.id)} to "
                f'<a href="{PREFIX}/webhooks/{quote(delivery.webhook_id)}">{e(delivery.webhook_id)}</a></h2>'
                f"<p>Exact payload ({len(delivery.body)} bytes):</p>"
                f'<pre class=payload id="payload-{e(delivery.id)}">{e(delivery.body.decode("utf-8", "replace"))}</pre>'
                f"<ul>{headers}</ul></div>"
            )
        return self._page(session, f"Event {event.id}", "".join(parts))

    def _advance(self, request: Request, session: dict[str, Any]) -> Response:
        try:
            seconds = float(request.form.get("seconds", "0"))
            if not 0 <= seconds <= 400 * 86400:
                raise ValueError
            self.fake.clock.advance(timedelta(seconds=seconds))
        except (ValueError, LMIFMockError):
            self._flash(session, "Could not advance the clock by that.")
        else:
            self._flash(session, f"Clock advanced to {format_timestamp(self.fake.clock.now())}.")
        return _redirect(request.referrer if _same_site(request.referrer) else f"{PREFIX}/")


def _secret_box(ident: str, secret: str, label: str) -> str:
    return (
        f'<p>{e(label)}: <input class=secret id="{e(ident)}" type=text readonly value="{e(secret)}"> '
        f'<button type=button data-copy="{e(ident)}">Copy</button></p>'
    )


def _same_site(referrer: str | None) -> bool:
    return bool(referrer) and PREFIX in str(referrer) and "//" in str(referrer)


def _redirect(location: str) -> Response:
    return Response("", status=303, headers={"Location": location})


def _transcript_download(fake: FakeLMIF) -> Response:
    """The run as a transcript file, to replay elsewhere (``python -m lmif_mock replay``)."""
    response = Response(transcript_dumps(fake.transcript()), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="lmif-transcript.json"'
    response.headers["Cache-Control"] = "no-store"
    return response
