"""The dashboard's pages as markup, from the fake's records (no request handling here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from urllib.parse import quote

from markupsafe import Markup

from lmif_mock.clock import Clock, VirtualClock
from lmif_mock.events import CATEGORIES, EVENT_TYPES, Event
from lmif_mock.http.dashboard.html import PREFIX, form, join, secret_box
from lmif_mock.http.dashboard.timeline import Step, schedule_summary, timeline, until
from lmif_mock.records import ALL_EVENTS, Attempt, Delivery, Webhook
from lmif_mock.timestamps import format_timestamp

#: The clock panel's buttons: label and seconds.
CLOCK_STEPS = (("1 min", 60), ("1 hour", 3600), ("1 day", 86400), ("30 days", 2592000))

ONCE = "Copy it now: it is shown here once."


def webhook_path(webhook_id: str) -> str:
    """The page of one endpoint."""
    return f"{PREFIX}/webhooks/{quote(webhook_id, safe='')}"


def login_form(csrf: str) -> Markup:
    """The login card, carrying the login page's token (see :mod:`.login_guard`)."""
    return Markup(
        '<form method=post action="{prefix}/login" class=card>'
        '<input type=hidden name=csrf value="{csrf}">'
        "<p>Log in with the API key the server printed when it started.</p>"
        "<label>API key <input type=password name=api_key autocomplete=off autofocus></label> "
        "<button>Log in</button></form>"
    ).format(prefix=PREFIX, csrf=csrf)


def navigation(csrf: str) -> Markup:
    """The header links, and the logout button."""
    links = Markup(
        '<a href="{p}/">Endpoints</a><a href="{p}/webhooks/new">Add endpoint</a>'
        '<a href="{p}/transcript.json" download>Download transcript</a>'
    )
    logout = form(csrf, f"{PREFIX}/logout", Markup("<button>Log out</button>"))
    return links.format(p=PREFIX) + logout


def new_secret(secret: str) -> Markup:
    """A secret shown this once, right after it was made."""
    return secret_box("new-secret", secret, "Signing secret") + Markup(
        "<p class=muted>{}</p>"
    ).format(ONCE)


def clock_panel(clock: Clock, csrf: str, back: str) -> Markup:
    """The fake's time, what falls due next, and buttons to move a virtual clock on."""
    pending = clock.pending()
    due = format_timestamp(pending[0]) if pending else "nothing scheduled"
    kind = "virtual" if isinstance(clock, VirtualClock) else "real"
    buttons = join(
        form(
            csrf,
            f"{PREFIX}/clock",
            Markup(
                '<input type=hidden name=seconds value="{seconds}">'
                '<input type=hidden name=next value="{back}"><button>+{label}</button>'
            ).format(seconds=seconds, back=back, label=label),
        )
        + " "
        for label, seconds in CLOCK_STEPS
    )
    return Markup(
        "<div class=card id=clock><strong>Clock</strong> ({kind}): "
        "<span id=clock-now>{now}</span>; next due: {due}<br>{buttons}</div>"
    ).format(kind=kind, now=format_timestamp(clock.now()), due=due, buttons=buttons)


def endpoints_table(rows: Iterable[tuple[Webhook, int, int, str]]) -> Markup:
    """Endpoints with their state, how many deliveries they had (and how many failed), and
    their health."""
    lines = [
        Markup(
            '<tr><td><a href="{href}">{id}</a></td><td>{url}</td><td>{events}</td>'
            "<td>{state}</td><td>{count} ({failed} failed)</td><td class=health>{health}</td></tr>"
        ).format(
            href=webhook_path(webhook.id),
            id=webhook.id,
            url=webhook.url,
            events=", ".join(webhook.events),
            state="enabled" if webhook.enabled else "disabled",
            count=count,
            failed=failed,
            health=health,
        )
        for webhook, count, failed, health in rows
    ]
    if not lines:
        return Markup("<p>No endpoints yet.</p>")
    return Markup(
        "<table id=endpoints><tr><th>Id</th><th>URL</th><th>Events</th><th>State</th>"
        "<th>Deliveries</th><th>Health</th></tr>{}</table>"
    ).format(join(lines))


def event_checkboxes(chosen: Iterable[str] = ()) -> Markup:
    """Every event type to subscribe to, grouped as the provider lists them."""
    picked = set(chosen)

    def box(value: str, label: str) -> Markup:
        checked = Markup(" checked") if value in picked else Markup()
        return Markup(
            '<label><input type=checkbox name=events value="{value}"{checked}> {label}</label>'
        ).format(value=value, checked=checked, label=label)

    groups = [box(ALL_EVENTS, "every event (*)")]
    for category, types in CATEGORIES.items():
        boxes = join(box(t, t) for t in types)
        groups.append(Markup("<fieldset><legend>{}</legend>{}</fieldset>").format(category, boxes))
    return join(groups)


def new_webhook_form(csrf: str, url: str = "") -> Markup:
    """The form that adds an endpoint."""
    inner = Markup(
        '<p><label>Endpoint URL <input type=url name=url required value="{url}" '
        'placeholder="http://127.0.0.1:3000/webhooks/lmif"></label></p>{boxes}'
        "<p><label>Secret (optional) <input type=text name=secret autocomplete=off "
        'placeholder="generated when empty"></label></p><p><button>Add endpoint</button></p>'
    ).format(url=url, boxes=event_checkboxes())
    return form(csrf, f"{PREFIX}/webhooks", inner, cls="card")


def webhook_details(webhook: Webhook, csrf: str) -> Markup:
    """An endpoint's settings and actions; its secret is only hinted at (it was shown once)."""
    base = webhook_path(webhook.id)
    toggle = "disable" if webhook.enabled else "enable"
    actions = join(
        [
            form(csrf, f"{base}/rotate", Markup("<button>Rotate secret</button>")),
            Markup(" "),
            form(csrf, f"{base}/{toggle}", Markup("<button>{}</button>").format(toggle.title())),
            Markup(" "),
            form(
                csrf,
                f"{base}/delete",
                Markup("<button class=danger>Delete</button>"),
                confirm="Delete this endpoint?",
            ),
        ]
    )
    options = join(Markup('<option value="{0}">{0}</option>').format(t) for t in EVENT_TYPES)
    test = form(
        csrf,
        f"{base}/test",
        Markup(
            "<label>Send test event <select name=event_type>{}</select></label> "
            "<button>Send test event</button>"
        ).format(options),
    )
    return Markup(
        "<div class=card><p>URL: <code id=webhook-url>{url}</code></p><p>Events: {events}</p>"
        "<p>State: <strong id=webhook-state>{state}</strong></p>"
        "<p>Signing secret: <code id=secret-hint>…{tail}</code> <span class=muted>(shown in "
        "full once, when it was made; rotate it to get a new one)</span></p>"
        "<p>{actions}</p><p>{test}</p></div>"
    ).format(
        url=webhook.url,
        events=", ".join(webhook.events),
        state="enabled" if webhook.enabled else "disabled",
        tail=webhook.secret[-4:],
        actions=actions,
        test=test,
    )


def delivery_action(delivery: Delivery, csrf: str, back: str, why_not: str | None = None) -> Markup:
    """Retry (failed) or Attempt now (pending), saying what it does; nothing once it succeeded,
    and no button but the reason when a retry cannot succeed (``why_not``)."""
    path = f"{PREFIX}/deliveries/{quote(delivery.id, safe='')}/retry"
    if delivery.status != "succeeded" and why_not is not None:
        return Markup("<span class=muted>No retry: {}</span>").format(why_not)
    if delivery.status == "failed":
        button, meaning = "Retry", "one more attempt now; the schedule is used up"
    elif delivery.status == "pending":
        button, meaning = "Attempt now", "instead of waiting for the next scheduled attempt"
    else:
        return Markup()
    inner = Markup('<input type=hidden name=next value="{}"><button>{}</button>').format(
        back, button
    )
    return form(csrf, path, inner) + Markup(" <span class=muted>{}</span>").format(meaning)


def delivery_card(delivery: Delivery, csrf: str, now: datetime) -> Markup:
    """One delivery: its state, its retry schedule as a timeline, and what can be done."""
    css = {"succeeded": "ok", "failed": "bad"}.get(delivery.status, "pending")
    action = delivery_action(delivery, csrf, webhook_path(delivery.webhook_id))
    rows = join(_timeline_row(step, now) for step in timeline(delivery))
    return Markup(
        '<div class="card delivery" id="{id}" data-status="{status}">'
        '<strong>{type}</strong> <a href="{href}">{event}</a> - '
        '<span class="{css}">{status}</span> {action}'
        "<p class=muted>Schedule: {summary}</p>"
        "<table class=timeline><tr><th>#</th><th>When</th><th>Trigger</th><th>Status</th>"
        "<th>Latency</th><th>Error</th><th>Response</th></tr>{rows}</table></div>"
    ).format(
        id=delivery.id,
        status=delivery.status,
        type=delivery.event_type,
        href=f"{PREFIX}/events/{quote(delivery.event_id, safe='')}",
        event=delivery.event_id,
        css=css,
        action=action,
        summary=schedule_summary(delivery),
        rows=rows,
    )


def _timeline_row(step: Step, now: datetime) -> Markup:
    when = format_timestamp(step.at)
    attempt = step.attempt
    if attempt is None:
        label = "next, due" if step.kind == "next" else "planned if the last fails"
        return Markup(
            '<tr class="{kind}"><td>{n}</td><td class=when>{when} ({until})</td>'
            "<td colspan=5>{label}</td></tr>"
        ).format(kind=step.kind, n=step.number, when=when, until=until(step.at, now), label=label)
    status = attempt.status_code if attempt.status_code is not None else "-"
    error = " ".join(p for p in (attempt.error, attempt.message) if p)
    return Markup(
        "<tr class=made><td>{n}</td><td class=when>{when}</td><td>{trigger}</td>"
        "<td>{status}</td><td>{ms} ms</td><td>{error}</td><td><code>{excerpt}</code></td></tr>"
    ).format(
        n=step.number,
        when=when,
        trigger=attempt.trigger,
        status=status,
        ms=f"{attempt.duration * 1000:.0f}",
        error=error,
        excerpt=attempt.response_excerpt[:200],
    )


def sent_request(delivery: Delivery, attempt: Attempt) -> Markup:
    """One attempt's signature header and, folded, every header and the body it sent: with a
    ``layout`` or ``tampered_body`` fault that body is not the delivery's payload, and it is the
    one the signature has to be checked against."""
    request = attempt.request
    if request is None:
        return Markup("<li>attempt {n}: nothing sent ({why})</li>").format(
            n=attempt.number, why=attempt.error or "-"
        )
    same = (
        "the payload above, byte for byte"
        if request.body == delivery.body
        else "NOT the payload above"
    )
    return Markup(
        "<li>attempt {n}: <code class=signature>X-LMIF-Signature: {sig}</code>"
        "<details class=sent><summary>Request as sent: {size} bytes, {same}</summary>"
        "<pre class=sent-headers>{headers}</pre><pre class=sent-body>{body}</pre></details></li>"
    ).format(
        n=attempt.number,
        sig=request.signature if request.signature is not None else "(none sent)",
        size=len(request.body),
        same=same,
        headers="\n".join(f"{name}: {value}" for name, value in request.headers.items()),
        body=request.body.decode("utf-8", "replace"),
    )


def event_details(
    event: Event,
    deliveries: Sequence[Delivery],
    csrf: str,
    why_not: Mapping[str, str | None],
) -> Markup:
    """An event: for each delivery, its state, its payload, and each attempt's request exactly
    as sent (signature, headers, body); ``why_not`` says, by delivery id, why one cannot be
    retried."""
    back = f"{PREFIX}/events/{quote(event.id, safe='')}"
    parts = [
        Markup("<p>Type <strong>{}</strong>, created {}</p>").format(
            event.type, format_timestamp(event.created_at)
        )
    ]
    for delivery in deliveries:
        headers = join(sent_request(delivery, attempt) for attempt in delivery.attempts)
        parts.append(
            Markup(
                '<div class="card delivery" id="{id}" data-status="{status}">'
                '<h2>Delivery {id} to <a href="{href}">{webhook}</a></h2>'
                '<p><span class="{css}">{status}</span> {action}</p>'
                "<p>Payload ({size} bytes; each attempt below shows what it sent):</p>"
                '<pre class=payload id="payload-{id}">{payload}</pre><ul>{headers}</ul></div>'
            ).format(
                id=delivery.id,
                status=delivery.status,
                css={"succeeded": "ok", "failed": "bad"}.get(delivery.status, "pending"),
                action=delivery_action(delivery, csrf, back, why_not.get(delivery.id)),
                href=webhook_path(delivery.webhook_id),
                webhook=delivery.webhook_id,
                size=len(delivery.body),
                payload=delivery.body.decode("utf-8", "replace"),
                headers=headers,
            )
        )
    return join(parts)
