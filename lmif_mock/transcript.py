"""Transcripts: a run of the fake as JSON, and replaying its requests to another receiver.

A transcript holds the webhooks (without their secrets), the events and every delivery with every
attempt: the exact request sent (method, path, headers, body bytes), when, and what came back.
Under a seed and a virtual clock two runs give the same transcript byte for byte, so a test can
snapshot it; attempt durations are left out for that reason (they are wall-clock noise), and so is
anything random that is not drawn from the seed.

:func:`replay` sends the recorded requests again, in the order they were first sent, to a URL or
an in-process WSGI/ASGI app: record while clicking through an app against ``serve``, replay in CI.
The signatures are the recorded ones, so the receiver must hold the secret the recording used.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lmif_mock.errors import LMIFMockError
from lmif_mock.events import Event
from lmif_mock.exchanges import OutgoingRequest, Transport, TransportError
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.records import Attempt, Delivery, Webhook
from lmif_mock.sendable_headers import unsendable_header
from lmif_mock.store import Store
from lmif_mock.timestamps import format_timestamp
from lmif_mock.transports import HTTPTransport, transport_for_app
from lmif_mock.webhook_url import InvalidWebhookURL, parse_webhook_url
from lmif_mock.wire import SentRequest

FORMAT = "lmif-mock-transcript"
VERSION = 1
#: Attempt outcomes in which no request left the fake: nothing to replay.
NOT_SENT = frozenset({"webhook_disabled", "webhook_deleted", "blocked_host", "lost", "delayed"})
#: The longest a replayed request may wait for its answer.
MAX_REPLAY_TIMEOUT = 3600.0


class TranscriptError(LMIFMockError, ValueError):
    """A transcript that cannot be read or replayed (wrong format, missing fields, bad target)."""


def _time(moment: datetime) -> str:
    """UTC with microseconds: attempts a few ms apart must keep their order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def request_path(webhook: Webhook) -> str:
    """The request target the webhook's deliveries were sent to (path and query).

    A URL webhook's own path, e.g. ``/webhooks/lmif``: replaying into an app routed like the
    real receiver needs it. ``Webhook.path`` only applies to in-process apps.
    """
    if webhook.url.startswith(("http://", "https://")):
        try:
            return parse_webhook_url(webhook.url).target
        except InvalidWebhookURL:
            return webhook.path
    return webhook.path


def _request(webhook: Webhook | None, delivery: Delivery, attempt: Attempt) -> dict[str, Any]:
    """The request as the attempt recorded it; an attempt read from an older database file,
    which did not record it, is shown as the delivery's body with the signature it carried."""
    sent = attempt.request or SentRequest(delivery.body, attempt.signature)
    body = sent.body
    shown: dict[str, Any] = {
        "method": "POST",
        "url": webhook.url if webhook is not None else None,
        "path": request_path(webhook) if webhook is not None else "/",
        "headers": sent.headers,
    }
    try:
        shown["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        shown["bodyBase64"] = base64.b64encode(body).decode("ascii")
    return shown


def _attempt(webhook: Webhook | None, delivery: Delivery, attempt: Attempt) -> dict[str, Any]:
    sent = attempt.error not in NOT_SENT
    shown: dict[str, Any] = {
        "number": attempt.number,
        "at": _time(attempt.at),
        "trigger": attempt.trigger,
        "sent": sent,
        "request": _request(webhook, delivery, attempt) if sent else None,
        "response": (
            {"statusCode": attempt.status_code, "excerpt": attempt.response_excerpt}
            if attempt.status_code is not None
            else None
        ),
        "error": attempt.error,
        "message": attempt.message,
    }
    script = getattr(attempt, "script", None)
    if script:
        shown["script"] = script
    return shown


def _webhook_json(webhook: Webhook) -> dict[str, Any]:
    return {
        "id": webhook.id,
        "url": webhook.url,
        "path": request_path(webhook),
        "events": list(webhook.events),
        "enabled": webhook.enabled,
    }


def _event_json(event: Event) -> dict[str, Any]:
    return {"id": event.id, "type": event.type, "createdAt": format_timestamp(event.created_at)}


def _delivery_json(delivery: Delivery, by_id: Mapping[str, Webhook]) -> dict[str, Any]:
    webhook = by_id.get(delivery.webhook_id)
    return {
        "id": delivery.id,
        "eventId": delivery.event_id,
        "eventType": delivery.event_type,
        "webhookId": delivery.webhook_id,
        "status": delivery.status,
        "duplicateOf": delivery.duplicate_of,
        "faults": delivery.faults.to_dict() if delivery.faults.any else None,
        "attempts": [_attempt(webhook, delivery, a) for a in delivery.attempts],
    }


def record(store: Store, seed: int | None) -> dict[str, Any]:
    """Everything ``store`` holds as a transcript (a JSON-ready dict)."""
    webhooks = store.list_webhooks()
    by_id = {w.id: w for w in webhooks}
    return {
        "format": FORMAT,
        "version": VERSION,
        "seed": seed,
        "webhooks": [_webhook_json(w) for w in webhooks],
        "events": [_event_json(e) for e in store.list_events()],
        "deliveries": [_delivery_json(d, by_id) for d in store.list_deliveries()],
    }


def record_page(
    store: Store, seed: int | None, offset: int, limit: int
) -> tuple[dict[str, Any], int]:
    """Items ``offset`` to ``offset + limit`` of the transcript, and how many it has in all.

    The items are the webhooks, then the events, then the deliveries, in that order, so the
    pages concatenated list by list are :func:`record` exactly; a page holds at most ``limit``
    of them, and only those are read and rendered, however long the session.
    """
    webhooks = store.list_webhooks()
    by_id = {w.id: w for w in webhooks}
    event_count, delivery_count = store.count_events(), store.count_deliveries()
    total = len(webhooks) + event_count + delivery_count
    start, stop = offset, offset + limit
    # Each list's share of the window [start, stop), in that list's own positions.
    first = len(webhooks)
    second = first + event_count
    events = store.events_between(max(0, start - first), max(0, min(stop, second) - first))
    deliveries = store.deliveries_between(max(0, start - second), max(0, stop - second))
    page = {
        "format": FORMAT,
        "version": VERSION,
        "seed": seed,
        "webhooks": [_webhook_json(w) for w in webhooks[start:stop]],
        "events": [_event_json(e) for e in events],
        "deliveries": [_delivery_json(d, by_id) for d in deliveries],
    }
    return page, total


def page_items(page: Mapping[str, Any]) -> int:
    """How many items (webhooks, events and deliveries) a transcript or one page of it holds."""
    return sum(len(page.get(name) or ()) for name in ("webhooks", "events", "deliveries"))


def dumps(transcript: Mapping[str, Any]) -> str:
    """The transcript as stable, readable JSON (keys in a fixed order, two-space indent)."""
    return json.dumps(transcript, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class RecordedRequest:
    """One request from a transcript, ready to send again."""

    delivery_id: str
    attempt: int
    event_id: str
    at: str
    path: str
    headers: dict[str, str]
    body: bytes
    recorded_status: int | None


@dataclass(frozen=True)
class Replayed:
    """What the new receiver answered to one recorded request (``error`` None: an answer came)."""

    request: RecordedRequest
    status_code: int | None
    error: str | None
    #: What went wrong, in words (None when an answer came).
    message: str | None = None

    @property
    def same_status(self) -> bool:
        """Whether the new receiver answered with the recorded status code."""
        return self.status_code == self.request.recorded_status


def load(source: Mapping[str, Any] | str | bytes | Path) -> Mapping[str, Any]:
    """A transcript from a dict, JSON text or bytes, or a file path; checks its format.

    A ``str`` starting with ``{`` is JSON text, any other ``str`` a file path. The answer of
    ``GET /_mock/transcript`` (the transcript inside ``{"data": ...}``) is accepted as it is, so
    what curl saved replays without editing, if that page holds the whole run; a page holding
    only part of it is refused rather than replayed in part.
    """
    if isinstance(source, str) and not source.lstrip().startswith("{"):
        source = Path(source)
    if isinstance(source, Path):
        where = source
        try:
            source = where.read_bytes()
        except OSError as exc:
            raise TranscriptError(f"cannot read {where}: {exc.strerror}") from None
    if isinstance(source, (str, bytes)):
        try:
            value = json.loads(source)
        except ValueError as exc:
            raise TranscriptError(f"not JSON: {exc}") from None
    else:
        value = source
    if (
        isinstance(value, Mapping)
        and "format" not in value
        and isinstance(value.get("data"), Mapping)
    ):
        _check_whole(value["data"], value.get("meta"))
        value = value["data"]  # the control API's envelope around the transcript
    if not isinstance(value, Mapping) or value.get("format") != FORMAT:
        raise TranscriptError(f"not a transcript (format must be {FORMAT!r})")
    if value.get("version") != VERSION:
        raise TranscriptError(f"transcript version {value.get('version')!r}; expected {VERSION}")
    if not isinstance(value.get("deliveries"), list):
        raise TranscriptError("a transcript needs a 'deliveries' list")
    _check_no_orphans(value)
    return value


def _check_no_orphans(transcript: Mapping[str, Any]) -> None:
    """Refuse deliveries of events (or to webhooks) the file does not hold: it is then a part of
    a transcript (a page's ``data`` saved without its ``meta``), and replaying it would quietly
    leave the rest out. Files without an ``events`` or ``webhooks`` list are not checked."""
    for kind, key in (("events", "eventId"), ("webhooks", "webhookId")):
        held = transcript.get(kind)
        if not isinstance(held, list):
            continue
        known = {item.get("id") for item in held if isinstance(item, Mapping)}
        for delivery in transcript["deliveries"]:
            named = delivery.get(key) if isinstance(delivery, Mapping) else None
            if named is not None and named not in known:
                raise TranscriptError(
                    f"delivery {delivery.get('id')!r} names {key} {named!r}, which this file "
                    f"does not hold: it is part of a transcript, not all of it; get every page "
                    "with: python -m lmif_mock transcript --server URL --api-key KEY > FILE"
                )


def requests_of(transcript: Mapping[str, Any]) -> list[RecordedRequest]:
    """Every request the transcript says was sent, in the order it was sent."""
    found: list[RecordedRequest] = []
    try:
        for delivery in transcript["deliveries"]:
            for attempt in delivery["attempts"]:
                if not attempt.get("sent") or attempt.get("request") is None:
                    continue
                request = attempt["request"]
                if "bodyBase64" in request:
                    body = base64.b64decode(request["bodyBase64"], validate=True)
                else:
                    body = str(request["body"]).encode("utf-8")
                headers = request["headers"]
                if not isinstance(headers, Mapping):
                    raise TypeError("headers must be an object")
                response = attempt.get("response") or {}
                # A request held up by a script ("arrive with N") reached the receiver again
                # alongside this attempt: it is replayed too, right after it.
                copies = 1 + str(attempt.get("script") or "").count("late copy of attempt")
                found.extend(
                    [
                        RecordedRequest(
                            delivery_id=str(delivery["id"]),
                            attempt=int(attempt["number"]),
                            event_id=str(delivery["eventId"]),
                            at=str(attempt["at"]),
                            path=str(request.get("path") or "/"),
                            headers={str(k): str(v) for k, v in headers.items()},
                            body=body,
                            recorded_status=response.get("statusCode"),
                        )
                    ]
                    * copies
                )
    except (KeyError, TypeError, ValueError) as exc:
        raise TranscriptError(f"malformed transcript: {type(exc).__name__}: {exc}") from None
    return sorted(found, key=lambda r: r.at)  # stable: ties keep the transcript's order


def _check_whole(page: Mapping[str, Any], meta: object) -> None:
    """Refuse one page of ``GET /_mock/transcript`` that is not the whole run: replaying it
    would silently leave the other pages' requests out."""
    if not isinstance(meta, Mapping) or not isinstance(meta.get("total"), int):
        return
    held, total = page_items(page), meta["total"]
    if held < total:
        raise TranscriptError(
            f"this is one page of a transcript ({held} of its {total} items); get every page "
            "with: python -m lmif_mock transcript --server URL --api-key KEY > FILE"
        )


def replay(
    transcript: Mapping[str, Any] | str | bytes | Path,
    target: str | Callable[..., Any],
    *,
    path: str | None = None,
    allowed_hosts: Iterable[str] = (),
    timeout: float = 30.0,
) -> list[Replayed]:
    """Send every recorded request again, in order, to ``target``: a URL (loopback unless
    ``allowed_hosts`` names the host, as for webhooks) or a WSGI/ASGI app (to ``path``, by
    default each request's recorded path). Returns what each one got back."""
    loaded = load(transcript)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TranscriptError(f"timeout must be a number of seconds, not {timeout!r}")
    if not 0 < timeout <= MAX_REPLAY_TIMEOUT:
        raise TranscriptError(f"timeout must be in (0, {MAX_REPLAY_TIMEOUT:g}] seconds")
    transport: Transport
    if isinstance(target, str):
        try:
            HostPolicy(allowed_hosts).check_url(target)
        except BlockedHostError as exc:
            raise TranscriptError(str(exc)) from None
        transport = HTTPTransport(HostPolicy(allowed_hosts))
    elif callable(target):
        transport = transport_for_app(target)
    else:
        raise TranscriptError(f"target must be a URL or a WSGI/ASGI app, not {target!r}")
    results: list[Replayed] = []
    try:
        for recorded in requests_of(loaded):
            where = target if isinstance(target, str) else (path or recorded.path)
            # Content-Length comes from the body itself: a hand-edited body keeps its framing.
            headers = {k: v for k, v in recorded.headers.items() if k.lower() != "content-length"}
            unsendable = unsendable_header(headers)
            if unsendable is not None:  # refused here, before any connection is made
                results.append(Replayed(recorded, None, "invalid_request", unsendable))
                continue
            outgoing = OutgoingRequest(where, recorded.body, headers)
            try:
                response = transport.send(outgoing, timeout)
            except TransportError as exc:
                results.append(Replayed(recorded, None, exc.kind, exc.message))
                continue
            results.append(Replayed(recorded, response.status, None))
    finally:
        transport.close()
    return results


class Recording:
    """``transcript()``, mixed into :class:`lmif_mock.FakeLMIF`."""

    store: Store
    seed: int | None

    def transcript(self) -> dict[str, Any]:
        """The run so far as a transcript (see :mod:`lmif_mock.transcript`): JSON-ready and,
        under a seed and a virtual clock, the same on every run."""
        return record(self.store, self.seed)
