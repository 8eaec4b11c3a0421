"""The provider's Settings -> Webhooks screens, locally: server-rendered HTML, one small script.

Log in with the API key; then list endpoints, add one (its generated secret shown once, with a
Copy button), open one to rotate its secret, enable or disable it, delete it, send a test event,
and see every delivery as a timeline of its retry schedule. An event page shows the exact payload
and the signature header each attempt carried. A virtual clock can be advanced.

Safe by construction: routes are a werkzeug ``Map`` (a GET on a POST page is a 405); every page
is built from ``markupsafe`` templates (escaping is the default); sessions end with their API key
(:mod:`lmif_mock.http.dashboard.sessions`); every POST carries a CSRF token, the login too
(:mod:`lmif_mock.http.dashboard.login_guard`); redirects go only to
paths this module built or matched against its own routes; no inline script, so the CSP forbids it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from markupsafe import Markup
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from lmif_mock.errors import ConflictError, LMIFMockError, NotFoundError
from lmif_mock.events import EVENT_TYPES
from lmif_mock.http.api_keys import KeyRing
from lmif_mock.http.dashboard import views
from lmif_mock.http.dashboard.html import (
    PREFIX,
    STATIC_TYPES,
    notice,
    page,
    redirect,
    secure,
    static_file,
)
from lmif_mock.http.dashboard.login_guard import LOGIN_COOKIE, LOGIN_COOKIE_SECONDS, LoginGuard
from lmif_mock.http.dashboard.paging import pager
from lmif_mock.http.dashboard.sessions import END_MESSAGES, WALL_LIFETIME, Flash, Session, Sessions
from lmif_mock.http.receiver_share import ReceiverShare
from lmif_mock.timestamps import format_timestamp
from lmif_mock.transcript import dumps as transcript_dumps
from lmif_mock.unretryable import why_not_retryable
from lmif_mock.webhooks import SandboxOnlyError, WebhookError

if TYPE_CHECKING:
    from lmif_mock.fake import FakeLMIF

log = logging.getLogger("lmif_mock.http.dashboard")

COOKIE = "lmif_dashboard"
#: Whole-transcript downloads built at once (each holds a worker and the run's size in memory).
MAX_CONCURRENT_DOWNLOADS = 2
#: The largest clock step one form may ask for.
MAX_ADVANCE = timedelta(days=400)

Page = Callable[[Request, Session, dict[str, str]], Response]

_ROUTES = Map(
    [
        Rule("/", endpoint="endpoints", methods=["GET"]),
        Rule("/login", endpoint="login", methods=["GET", "POST"]),
        Rule("/logout", endpoint="logout", methods=["POST"]),
        Rule("/clock", endpoint="advance", methods=["POST"]),
        Rule("/webhooks/new", endpoint="new_webhook", methods=["GET"]),
        Rule("/webhooks", endpoint="create_webhook", methods=["POST"]),
        Rule("/webhooks/<webhook_id>", endpoint="webhook", methods=["GET"]),
        Rule(
            "/webhooks/<webhook_id>/<any(rotate, enable, disable, delete, test):action>",
            endpoint="webhook_action",
            methods=["POST"],
        ),
        Rule("/deliveries/<delivery_id>/retry", endpoint="retry", methods=["POST"]),
        Rule("/events/<event_id>", endpoint="event", methods=["GET"]),
        Rule("/transcript.json", endpoint="transcript", methods=["GET"]),
        Rule(
            "/static/<any(dashboard.css, dashboard.js, favicon.svg):name>",
            endpoint="static",
            methods=["GET"],
        ),
    ],
    strict_slashes=False,
)
#: The forms that may make (and wait on) delivery attempts: advancing the clock runs what falls
#: due, retrying attempts at once, and a webhook's ``test`` action sends an event.
_DELIVERING = {"advance", "retry"}


def _may_deliver(endpoint: str, args: Mapping[str, object]) -> bool:
    return endpoint in _DELIVERING or (endpoint == "webhook_action" and args["action"] == "test")


#: Pages a redirect may return to: the GET pages behind a login.
_RETURNABLE = {"endpoints", "new_webhook", "webhook", "event"}
_SAFE_PATH = re.compile(r"/[A-Za-z0-9_./-]*")


class Dashboard:
    """The dashboard's WSGI handling, mounted by the API under ``/dashboard``."""

    def __init__(
        self, fake: FakeLMIF, keys: KeyRing, receiver_share: ReceiverShare | None = None
    ) -> None:
        self.fake = fake
        self.keys = keys
        #: Shared with the API: the forms that may wait on a receiver take a slot of it.
        self.receiver_share = receiver_share or ReceiverShare()
        self._downloads = threading.BoundedSemaphore(MAX_CONCURRENT_DOWNLOADS)
        self.sessions = Sessions(keys, lambda: fake.clock.now())
        self.login_guard = LoginGuard()
        self._pages: dict[str, Page] = {
            "endpoints": self._endpoints,
            "logout": self._logout,
            "advance": self._advance,
            "new_webhook": self._new_webhook,
            "create_webhook": self._create_webhook,
            "webhook": self._webhook,
            "webhook_action": self._webhook_action,
            "retry": self._retry,
            "event": self._event,
            "transcript": self._transcript,
        }

    def handle(self, request: Request) -> Response:
        """Answer a request under ``/dashboard``; never raises."""
        path = request.path[len(PREFIX) :]
        if not path:
            return redirect(f"{PREFIX}/")
        try:
            endpoint, args = _ROUTES.bind("dashboard").match(path, method=request.method)
        except MethodNotAllowed as exc:
            allowed = ", ".join(sorted(exc.valid_methods or []))
            response = page("Method not allowed", Markup(), status=405)
            response.headers["Allow"] = allowed
            return response
        except NotFound:
            return page("Not found", notice(f"No dashboard page {path}", cls="error"), status=404)
        if endpoint == "static":
            return self._static(args["name"])
        if endpoint == "login":
            return self._login(request)
        session, ended = self.sessions.find(request.cookies.get(COOKIE))
        if session is None:
            response = redirect(f"{PREFIX}/login" + (f"?ended={ended}" if ended else ""))
            response.delete_cookie(COOKIE, path=PREFIX)
            return response
        if request.method == "POST" and not session.csrf_ok(request.form.get("csrf", "")):
            message = notice("Missing or wrong form token.", cls="error")
            return self._page(session, "Forbidden", message, 403)
        delivering = _may_deliver(str(endpoint), args)
        if delivering and not self.receiver_share.try_take():
            return self._busy(session)
        try:
            return self._pages[str(endpoint)](request, session, dict(args))
        except NotFoundError as exc:
            return self._page(session, "Not found", notice(str(exc), cls="error"), 404)
        except ConflictError as exc:
            return self._page(session, "Conflict", notice(str(exc), cls="error"), 409)
        except LMIFMockError as exc:
            return self._page(session, "Cannot do that", notice(str(exc), cls="error"), 400)
        except Exception:
            log.exception("dashboard failed answering %s %s", request.method, request.path)
            failed = notice("The dashboard failed; see the server's log.", cls="error")
            return self._page(session, "Error", failed, 500)
        finally:
            if delivering:
                self.receiver_share.give_back()

    # -- plumbing -------------------------------------------------------------------------------

    def _busy(self, session: Session) -> Response:
        """503 for a form that may wait on a receiver while too many already do: nothing done."""
        refusal = self.receiver_share.refusal()
        message = notice(f"{refusal.message}. Nothing was done.", role="alert", cls="error")
        response = self._page(session, "Busy", message, 503)
        response.headers.update(refusal.headers)
        return response

    def _page(self, session: Session, title: str, body: Markup, status: int = 200) -> Response:
        flash = session.take_flash()
        top = Markup()
        if flash is not None:
            top = notice(flash.message)
            if flash.secret is not None:
                top += views.new_secret(flash.secret)
        nav = views.navigation(session.csrf)
        return page(title, body, nav=nav, notice=top, status=status)

    def _transcript(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        """The run as a transcript file, to replay elsewhere (``python -m lmif_mock replay``).

        The whole run in one answer: a long session's is tens of megabytes and takes a worker
        and much memory to build, so only :data:`MAX_CONCURRENT_DOWNLOADS` are built at once.
        """
        if not self._downloads.acquire(blocking=False):
            message = f"{MAX_CONCURRENT_DOWNLOADS} transcript downloads are already being built"
            busy = self._page(
                session, "Busy", notice(f"{message}; try again shortly.", cls="error"), 503
            )
            busy.headers["Retry-After"] = "1"
            return busy
        try:
            text = transcript_dumps(self.fake.transcript())
        finally:
            self._downloads.release()
        response = Response(text, mimetype="application/json")
        response.headers["Content-Disposition"] = 'attachment; filename="lmif-transcript.json"'
        response.headers["Cache-Control"] = "no-store"
        return secure(response)

    def _static(self, name: str) -> Response:
        response = Response(static_file(name), mimetype=STATIC_TYPES[name])
        return secure(response)

    def _return_path(self, request: Request) -> str:
        """The page a form came from, if it is one of this dashboard's pages; else the start."""
        wanted = request.form.get("next", "")
        if wanted.startswith(PREFIX + "/"):
            path = wanted[len(PREFIX) :]
            if _SAFE_PATH.fullmatch(path) and "//" not in path:
                try:
                    endpoint, _ = _ROUTES.bind("dashboard").match(path, method="GET")
                except (NotFound, MethodNotAllowed):
                    endpoint = None
                if endpoint in _RETURNABLE:
                    return PREFIX + path
        return f"{PREFIX}/"

    # -- pages ----------------------------------------------------------------------------------

    def _login(self, request: Request) -> Response:
        top = Markup()
        ended = request.args.get("ended", "")
        if ended in END_MESSAGES:
            top = notice(END_MESSAGES[ended])
        status = 200
        nonce = request.cookies.get(LOGIN_COOKIE)
        fresh = not self.login_guard.well_formed(nonce)
        if nonce is None or fresh:
            nonce = self.login_guard.new_nonce()
        if request.method == "POST":
            given = request.form.get("api_key", "")
            if fresh or not self.login_guard.accepts(nonce, request.form.get("csrf", "")):
                message = "This login did not come from this dashboard's login page; log in here."
                top = notice(message, role="alert", cls="error")
                status = 403
            elif self.keys.status(given, self.fake.clock.now())[0] == "valid":
                session = self.sessions.start(given)
                response = redirect(f"{PREFIX}/")
                response.set_cookie(
                    COOKIE, session.token, httponly=True, samesite="Strict", path=PREFIX,
                    max_age=int(WALL_LIFETIME.total_seconds()),
                )  # fmt: skip
                response.delete_cookie(LOGIN_COOKIE, path=f"{PREFIX}/login")
                return response
            else:
                top = notice("That is not this server's API key.", role="alert", cls="error")
                status = 401
        form = views.login_form(self.login_guard.form_token(nonce))
        response = page("Log in", form, notice=top, status=status)
        if fresh:
            response.set_cookie(
                LOGIN_COOKIE, nonce, httponly=True, samesite="Strict", path=f"{PREFIX}/login",
                max_age=LOGIN_COOKIE_SECONDS,
            )  # fmt: skip
        return response

    def _logout(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        self.sessions.end(session.token)
        response = redirect(f"{PREFIX}/login")
        response.delete_cookie(COOKIE, path=PREFIX)
        return response

    def _endpoints(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        webhooks = self.fake.webhooks.list()
        shown = pager(request, len(webhooks))
        store = self.fake.store
        rows = [
            (
                webhook,
                len(store.delivery_ids(webhook_id=webhook.id)),
                len(store.delivery_ids(webhook_id=webhook.id, status="failed")),
                self.fake.endpoint_health(webhook.id).summary(),
            )
            for webhook in shown.rows(webhooks)
        ]
        body = (
            views.clock_panel(self.fake.clock, session.csrf, f"{PREFIX}/")
            + Markup('<p><a class=button href="{}/webhooks/new">Add endpoint</a></p>').format(
                PREFIX
            )
            + views.endpoints_table(rows)
            + shown.links(f"{PREFIX}/")
        )
        return self._page(session, "Endpoints", body)

    def _new_webhook(
        self, request: Request, session: Session, args: dict[str, str], *, error: str = ""
    ) -> Response:
        url = request.form.get("url", "") if error else ""
        body = views.new_webhook_form(session.csrf, url)
        if error:
            body = notice(error, role="alert", cls="error") + body
        return self._page(session, "Add endpoint", body, 400 if error else 200)

    def _create_webhook(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        url = request.form.get("url", "").strip()
        events = request.form.getlist("events")
        secret = request.form.get("secret", "").strip() or None
        try:
            webhook = self.fake.webhooks.create(url, events, secret)
        except WebhookError as exc:
            return self._new_webhook(request, session, args, error=str(exc))
        session.flash = Flash(f"Endpoint {webhook.id} added.", webhook.secret)
        return redirect(views.webhook_path(webhook.id))

    def _webhook(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        webhook = self.fake.webhooks.get(args["webhook_id"])
        now = self.fake.clock.now()
        store = self.fake.store
        ids = store.delivery_ids(webhook_id=webhook.id)  # only the page's are read
        shown = pager(request, len(ids))
        on_page = [store.get_delivery(delivery_id) for delivery_id in shown.rows(ids[::-1])]
        cards = [views.delivery_card(d, session.csrf, now) for d in on_page if d is not None]
        path = views.webhook_path(webhook.id)
        body = (
            views.webhook_details(webhook, session.csrf)
            + views.clock_panel(self.fake.clock, session.csrf, path)
            + Markup("<h2>Deliveries ({})</h2>").format(len(ids))
            + (Markup("").join(cards) if cards else Markup("<p>None yet.</p>"))
            + shown.links(path, newer_first=True)
        )
        return self._page(session, f"Endpoint {webhook.id}", body)

    def _webhook_action(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        webhook = self.fake.webhooks.get(args["webhook_id"])
        action = args["action"]
        if action == "rotate":
            rotated = self.fake.webhooks.rotate_secret(webhook.id)
            session.flash = Flash("Secret rotated. The old one no longer signs.", rotated.secret)
        elif action in ("enable", "disable"):
            self.fake.webhooks.update(webhook.id, enabled=action == "enable")
            session.flash = Flash(f"Endpoint {action}d.")
        elif action == "delete":
            self.fake.webhooks.delete(webhook.id)
            session.flash = Flash(f"Endpoint {webhook.id} deleted.")
            return redirect(f"{PREFIX}/")
        else:
            event_type = request.form.get("event_type", "")
            if event_type not in EVENT_TYPES:
                raise NotFoundError(f"no event type {event_type!r}")
            try:
                event = self.fake.webhooks.test(event_type, webhook_id=webhook.id)
            except SandboxOnlyError:
                session.flash = Flash("Test events are a sandbox feature: none sent.")
            else:
                session.flash = Flash(f"Test event {event.id} ({event_type}) sent.")
        return redirect(views.webhook_path(webhook.id))

    def _retry(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        found = self.fake.store.get_delivery(args["delivery_id"])
        why_not = None if found is None else why_not_retryable(found, self.fake.store)
        if found is not None and why_not is not None:
            session.flash = Flash(f"Not retried: {why_not}.")
            delivery = found
        else:
            delivery = self.fake.retry(args["delivery_id"])
            session.flash = Flash(f"Attempted {delivery.id} again: {delivery.status}.")
        if request.form.get("next"):
            return redirect(self._return_path(request))  # the page the button was on
        return redirect(views.webhook_path(delivery.webhook_id))

    def _event(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        event = self.fake.store.get_event(args["event_id"])
        if event is None:
            raise NotFoundError(f"no event {args['event_id']!r}")
        deliveries = self.fake.deliveries(event_id=event.id)
        why_not = {d.id: why_not_retryable(d, self.fake.store) for d in deliveries}
        body = views.event_details(event, deliveries, session.csrf, why_not)
        return self._page(session, f"Event {event.id}", body)

    def _advance(self, request: Request, session: Session, args: dict[str, str]) -> Response:
        try:
            seconds = float(request.form.get("seconds", "0"))
            step = timedelta(seconds=seconds)
            if not timedelta(0) <= step <= MAX_ADVANCE:
                raise ValueError
            self.fake.clock.advance(step)
        except (ValueError, OverflowError, LMIFMockError):
            session.flash = Flash("Could not advance the clock by that.")
        else:
            now = format_timestamp(self.fake.clock.now())
            session.flash = Flash(f"Clock advanced to {now}.")
        return redirect(self._return_path(request))
