"""``LMIFUser``: a Locust user that delivers LMIF events the way the provider does.

Each event is built by the project's :class:`~lmif_mock.payloads.EventFactory`, encoded once by
:func:`lmif_mock.events.encode` and signed over those exact bytes, with the provider's headers,
so a receiver under load sees precisely what it sees in production. Importing this module imports
Locust, which monkey-patches the process for gevent: only a locustfile (run by ``locust``) should.
"""

from __future__ import annotations

import collections
import random
import sys
import time
from collections.abc import Mapping, Sequence
from typing import ClassVar

if "locust" not in sys.modules and "ssl" in sys.modules:
    # gevent must patch ssl before anything uses it; too late now, and the failure that would
    # follow (a RecursionError deep inside ssl) would not say why.
    raise ImportError(
        "lmif_mock.load.LMIFUser needs Locust imported first: put it in a locustfile and run "
        "that with 'locust -f', or import locust before anything else"
    )

import gevent
from locust import FastHttpUser, task

from lmif_mock.events import EVENT_TYPES
from lmif_mock.faults import SIGNATURE_FAULTS
from lmif_mock.load import coordination
from lmif_mock.load.plan import LoadPlan, LoadPlanError, Profile, new_webhook_id
from lmif_mock.load.process import PROCESS
from lmif_mock.load.tally import Kind
from lmif_mock.load.target import check_target
from lmif_mock.payloads import EventFactory
from lmif_mock.retry import PROVIDER_TIMEOUT
from lmif_mock.signing import SIGNATURE_HEADER
from lmif_mock.transports import USER_AGENT
from lmif_mock.wire import sign_body

#: Signature faults a load run rotates through; ``previous_secret`` needs a rotated webhook.
LOAD_SIGNATURE_FAULTS: tuple[str, ...] = tuple(
    f for f in SIGNATURE_FAULTS if f != "previous_secret"
)
#: How many more events a user sends before a "later" duplicate goes out again.
LATER_AFTER_EVENTS = 3
#: Request names in Locust's statistics, one per kind of POST.
REQUEST_NAMES: Mapping[Kind, str] = {
    "event": "event",
    "duplicate": "duplicate",
    "bad_signature": "bad signature",
}

coordination.install()
# The first event of each type loads Faker's word lists (~0.1 s); pay that now, at import, not
# inside the first request's measured time.
for _event_type in EVENT_TYPES:
    EventFactory(0).build(_event_type)
#: One webhook id per process for users configured by attributes (the command shares one per run).
_PROCESS_WEBHOOK_ID = new_webhook_id()

Delivery = tuple[str, bytes, dict[str, str]]  # event id, body, headers


class LMIFUser(FastHttpUser):
    """Posts signed LMIF events to ``host`` + ``path``; subclass it and set the attributes.

    Every attribute mirrors a field of :class:`~lmif_mock.load.plan.LoadPlan` (whose docstring
    explains each); :meth:`make_plan` turns them into one, checked when the user starts. The
    target must be loopback unless its host is in ``allowed_hosts`` (as ``serve --allow-host``).
    """

    abstract = True
    network_timeout = PROVIDER_TIMEOUT.total_seconds()
    connection_timeout = PROVIDER_TIMEOUT.total_seconds()
    max_redirects = 0  # the provider never follows a redirect: a 3xx is a failed attempt

    secret: ClassVar[str] = ""
    path: ClassVar[str] = "/"
    mix: ClassVar[Mapping[str, float]] = dict.fromkeys(EVENT_TYPES, 1.0)
    duplicates: ClassVar[float] = 0.0
    simultaneous: ClassVar[float] = 0.5
    bad_signatures: ClassVar[float] = 0.0
    profile: ClassVar[Profile] = "steady"
    outage_hours: ClassVar[float] = 2.0
    events_per_hour: ClassVar[float] = 3600.0
    time_scale: ClassVar[float] = 60.0
    allowed_hosts: ClassVar[Sequence[str]] = ()

    def make_plan(self) -> LoadPlan:
        """The plan this user follows: the master's when it sent one, else the attributes."""
        if PROCESS.shared_plan is not None:
            return PROCESS.shared_plan
        return LoadPlan(
            secret=self.secret,
            path=self.path,
            mix=self.mix,
            duplicates=self.duplicates,
            simultaneous=self.simultaneous,
            bad_signatures=self.bad_signatures,
            profile=self.profile,
            outage_hours=self.outage_hours,
            events_per_hour=self.events_per_hour,
            time_scale=self.time_scale,
            webhook_id=_PROCESS_WEBHOOK_ID,
        )

    def on_start(self) -> None:
        """Check the plan and the target before the first request, then get ready to send."""
        self.plan = self.make_plan()
        if not self.host:
            raise LoadPlanError("no target host: set host on the user class or pass --host")
        check_target(f"{self.host.rstrip('/')}{self.plan.path}", self.allowed_hosts)
        self.factory = EventFactory(seed=None)
        self.random = random.Random()
        self.types = list(self.plan.mix)
        self.weights = [self.plan.mix[t] for t in self.types]
        self.later: collections.deque[tuple[int, Delivery]] = collections.deque()
        self.sent = 0
        self.due: float | None = None

    def wait_time(self) -> float:
        """Steady: straight on. Catch-up: until this user's next arrival in the replayed burst."""
        if self.plan.profile == "steady":
            return 0.0
        self.due = PROCESS.next_arrival(self.plan)
        return max(0.0, PROCESS.started + self.due - time.monotonic())

    @task
    def deliver(self) -> None:
        """Send one event (or one badly signed request), with its duplicates as planned."""
        if self.plan.profile == "catch-up" and self.due is None:
            return  # nothing claimed yet: wait_time claims the first arrival
        self.due = None
        if self.plan.bad_signatures and self.random.random() < self.plan.bad_signatures:
            self._send_badly_signed()
        else:
            self._send_event()
        self._send_due_duplicates()

    def _build(self) -> tuple[str, bytes]:
        event_type = self.random.choices(self.types, self.weights)[0]
        event = self.factory.build(event_type, webhook_id=self.plan.webhook_id)
        return event.id, event.body

    def _send_event(self) -> None:
        event_id, body = self._build()
        delivery = (event_id, body, _headers(body, self.plan.secret))
        self.sent += 1
        if not (self.plan.duplicates and self.random.random() < self.plan.duplicates):
            self._post("event", delivery)
        elif self.random.random() < self.plan.simultaneous:
            both = [gevent.spawn(self._post, kind, delivery) for kind in ("event", "duplicate")]
            gevent.joinall(both, raise_error=True)
        else:
            self._post("event", delivery)
            self.later.append((self.sent + LATER_AFTER_EVENTS, delivery))

    def _send_badly_signed(self) -> None:
        event_id, body = self._build()
        fault = self.random.choice(LOAD_SIGNATURE_FAULTS)
        signed = sign_body(body, self.plan.secret, fault, rng=self.random)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if signed.signature is not None:
            headers[SIGNATURE_HEADER] = signed.signature
        self._post("bad_signature", (event_id, signed.body, headers))

    def _send_due_duplicates(self) -> None:
        while self.later and self.later[0][0] <= self.sent:
            _, delivery = self.later.popleft()
            self._post("duplicate", delivery)

    def _post(self, kind: Kind, delivery: Delivery) -> None:
        event_id, body, headers = delivery
        started = time.perf_counter()
        # Locust annotates data as str | dict, but sends bytes as they are: exactly what is signed.
        with self.client.post(
            self.plan.path, data=body, headers=headers, name=REQUEST_NAMES[kind],  # type: ignore[arg-type]
            catch_response=True,
        ) as response:  # fmt: skip
            milliseconds = (time.perf_counter() - started) * 1000
            code = response.status_code or None  # 0: no answer (refused, reset, timed out)
            if kind == "bad_signature":
                good = code == 401
                expected = "401 for a bad signature"
            else:
                good = code is not None and 200 <= code < 300
                expected = "a 2xx"
            if good:
                response.success()
            else:
                answer = f"answered {code}" if code else f"no answer ({response.error})"
                response.failure(f"{answer}, expected {expected}")
        PROCESS.tally.record(kind, event_id, code, milliseconds)


def _headers(body: bytes, secret: str) -> dict[str, str]:
    """The provider's delivery headers for ``body`` (as the dispatcher sends them)."""
    signed = sign_body(body, secret)
    assert signed.signature is not None
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signed.signature,
    }
