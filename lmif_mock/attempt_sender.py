"""Making one attempt: build its request, send it over the webhook's transport, judge the answer.

Whatever happens (the webhook is gone, a script loses the request, the receiver hangs or answers
garbage), the result is an :class:`~lmif_mock.records.Attempt` carrying the exact request it sent;
recording it and deciding what comes next is the dispatcher's. Transports of in-process apps are
kept here, one per app, so an app keeps its worker thread between attempts.
"""

from __future__ import annotations

import contextlib
import logging
import random
import sys
import threading
import time
from dataclasses import replace
from datetime import datetime

from lmif_mock.clock import Clock
from lmif_mock.records import Attempt, Delivery, Trigger, Webhook
from lmif_mock.retry_after import with_retry_after
from lmif_mock.scripts import decide, start_late_copies
from lmif_mock.store import Store
from lmif_mock.transports import Response, Transport, TransportError, transport_for_app
from lmif_mock.wire import SentRequest, wire_request

log = logging.getLogger("lmif_mock.dispatcher")

#: How much of a receiver's answer is kept on the attempt record.
EXCERPT_CHARS = 1024
#: Excerpts up to this long are interned: receivers answer the same short text again and again.
_SHARED_EXCERPT = 16


class AttemptSender:
    """Sends the attempts of deliveries and says how each went."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        rng: random.Random,
        http: Transport,
        *,
        enforce_inprocess_timeout: bool = True,
    ) -> None:
        self.store = store
        self.clock = clock
        self.rng = rng
        self.http = http
        self.enforce_inprocess_timeout = enforce_inprocess_timeout
        self._app_transports: dict[int, Transport] = {}
        self._lock = threading.Lock()

    def attempt_or_internal_error(
        self,
        delivery: Delivery,
        manual: bool,
        barrier: threading.Barrier | None,
        due: datetime | None = None,
    ) -> Attempt:
        """:meth:`attempt`, with a bug in this very code recorded as an ``internal_error``
        attempt rather than raised: the dispatcher must live on, and nothing may be lost."""
        try:
            return self.attempt(delivery, manual, barrier, due)
        except Exception as exc:  # pragma: no cover - defensive
            log.exception("internal error while attempting %s", delivery.id)
            return Attempt(
                number=delivery.attempt_count + 1,
                at=due or self.clock.now(),
                status_code=None,
                error="internal_error",
                duration=0.0,
                message=f"lmif-mock internal error: {type(exc).__name__}: {exc}",
                trigger="manual" if manual else "scheduled",
            )

    def attempt(
        self,
        delivery: Delivery,
        manual: bool,
        barrier: threading.Barrier | None,
        due: datetime | None = None,
    ) -> Attempt:
        """Make attempt number ``attempt_count + 1`` of ``delivery`` (at ``due``, if the clock
        already passed it); ``barrier`` holds it back until its concurrent siblings are ready."""
        number = delivery.attempt_count + 1
        trigger: Trigger = "manual" if manual else "scheduled"
        at = due or self.clock.now()
        webhook = self.store.get_webhook(delivery.webhook_id)
        if webhook is None or not webhook.enabled:
            if barrier is not None:
                barrier.abort()
            kind = "webhook_deleted" if webhook is None else "webhook_disabled"
            return Attempt(number, at, None, kind, 0.0, f"not sent: {kind.replace('_', ' ')}",
                           trigger=trigger)  # fmt: skip
        earlier = delivery.attempts[-1].sent_body if delivery.attempts else None
        sent = wire_request(
            delivery.body,
            delivery.faults,
            webhook.secret,
            previous_secret=webhook.previous_secret,
            rng=self.rng,
            earlier_body=earlier,
        )
        request = sent.to_outgoing(self._url_of(webhook))
        transport = self.transport_for(webhook)
        timeout = delivery.policy.timeout.total_seconds()
        scripted = decide(delivery.faults.script, number, self.rng)
        if scripted is not None and scripted.error is not None:
            if barrier is not None:
                barrier.abort()
            return Attempt(number, at, None, scripted.error, 0.0, scripted.message,
                           trigger=trigger, signature=sent.signature,
                           script="; ".join(scripted.notes), sent_body=sent.body)  # fmt: skip
        late = start_late_copies(delivery.faults.script, number, transport, request, timeout)
        if barrier is not None:
            # A sibling that could not be sent breaks the barrier; send this one anyway.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=timeout)
        if late is not None:
            late.release(timeout)
        started = time.perf_counter()
        try:
            response: Response | None = transport.send(request, timeout)
            failure: TransportError | None = None
        except TransportError as exc:
            response, failure = None, exc
        duration = time.perf_counter() - started
        judged = judge(delivery, number, at, duration, trigger, sent, response, failure)
        judged = with_retry_after(judged, response)
        notes = (*(scripted.notes if scripted else ()), *(late.notes(timeout) if late else ()))
        if not notes:
            return judged
        if scripted is not None and scripted.drop_answer and response is not None:
            lost = f"receiver answered {judged.status_code}; script: the answer was lost"
            judged = replace(judged, error="dropped", message=lost)
        return replace(judged, script="; ".join(notes))

    # -- transports ---------------------------------------------------------------------------

    def transport_for(self, webhook: Webhook) -> Transport:
        """The HTTP transport for a URL, else the (kept) in-process transport of its app."""
        target = webhook.target
        if target is None or isinstance(target, str):
            return self.http
        with self._lock:
            transport = self._app_transports.get(id(target))
            if transport is None:
                transport = transport_for_app(
                    target, enforce_timeout=self.enforce_inprocess_timeout
                )
                self._app_transports[id(target)] = transport
            return transport

    def forget_app(self, app: object) -> None:
        """Drop the kept transport of an in-process app (when its webhook is deleted)."""
        with self._lock:
            transport = self._app_transports.pop(id(app), None)
        if transport is not None:
            transport.close()

    def forget_apps(self) -> None:
        """Let go of every in-process app: a session-long fake would otherwise keep every test's
        app, and its worker thread, alive until the session ends."""
        with self._lock:
            transports = list(self._app_transports.values())
            self._app_transports.clear()
        for transport in transports:
            transport.close()

    def close(self) -> None:
        """Release every connection and thread."""
        self.forget_apps()
        self.http.close()

    @staticmethod
    def _url_of(webhook: Webhook) -> str:
        return webhook.target if isinstance(webhook.target, str) else webhook.path


def judge(
    delivery: Delivery,
    number: int,
    at: datetime,
    duration: float,
    trigger: Trigger,
    sent: SentRequest,
    response: Response | None,
    failure: TransportError | None,
) -> Attempt:
    """Decide success or failure the provider's way: a 2xx within the timeout, nothing else."""
    if response is None:
        assert failure is not None
        return Attempt(number, at, None, failure.kind, duration, failure.message,
                       trigger=trigger, signature=sent.signature,
                       sent_body=sent.body)  # fmt: skip
    excerpt = response.body[: EXCERPT_CHARS * 4].decode("utf-8", "replace")[:EXCERPT_CHARS]
    if len(excerpt) <= _SHARED_EXCERPT:
        excerpt = sys.intern(excerpt)  # "ok", "": one string for the session, not one each
    status = response.status
    error: str | None = None
    message: str | None = None
    if duration > delivery.policy.timeout.total_seconds():
        error, message = "timeout", f"answered {status} after the {delivery.policy.timeout} timeout"
    elif 200 <= status < 300:
        to_drop = delivery.faults.drop_after_response  # usually 0: no count of earlier drops
        if to_drop and sum(1 for a in delivery.attempts if a.error == "dropped") < to_drop:
            error, message = "dropped", f"receiver answered {status}; fault: response lost"
    elif 300 <= status < 400 and "location" in response.headers:
        location = response.headers["location"]
        error, message = "redirect", f"HTTP {status} to {location!r}; redirects are not followed"
    else:
        error, message = "http_error", f"HTTP {status}"
    return Attempt(number, at, status, error, duration, message, excerpt,
                   trigger=trigger, signature=sent.signature,
                   sent_body=sent.body)  # fmt: skip
