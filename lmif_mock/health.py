"""Endpoint health and opt-in delivery control.

The provider's docs say only that after 7 failed attempts "the webhook is marked as failed". How
an endpoint is doing is still worth seeing, so :func:`endpoint_health` reads it from the attempts
recorded: failing since when, how many failures in a row, the last success.

Delivery control goes further than the provider documents, the way Svix and other webhook
services behave, and is therefore **off by default** and designed here, not copied from the
provider. With a :class:`DeliveryControl` set on the fake:

- a receiver answering ``410 Gone`` disables its endpoint, and that delivery fails at once;
- ``429`` or ``503`` with ``Retry-After`` (seconds, or an HTTP date) postpones the next attempt
  to at least that long after the answer, capped at ``max_retry_after``;
- an endpoint is disabled after ``disable_after_failures`` failed attempts in a row, or after
  failing continuously for ``disable_after`` (whichever rule is set and met first).

Every disabling is recorded with its reason and time and shown in the health.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from lmif_mock.errors import LMIFMockError, NotFoundError
from lmif_mock.records import Attempt, Delivery, DeliveryStatus, Webhook
from lmif_mock.retry_after import RETRY_AFTER_STATUSES
from lmif_mock.timestamps import format_timestamp

if TYPE_CHECKING:
    from lmif_mock.clock import Clock
    from lmif_mock.dispatcher import Dispatcher
    from lmif_mock.store import Store
    from lmif_mock.webhooks import Webhooks

#: Attempts that never reached the receiver because of the endpoint's own state: not counted.
NOT_ATTEMPTS = frozenset({"webhook_disabled", "webhook_deleted"})
#: Statuses whose ``Retry-After`` is honoured.
#: The longest cap a control may set on ``Retry-After``.
MAX_RETRY_AFTER_CAP = timedelta(days=7)


class DeliveryControlError(LMIFMockError, ValueError):
    """A delivery control that cannot work (negative cap, zero failures...)."""


@dataclass(frozen=True)
class DeliveryControl:
    """Opt-in rules beyond the provider's documented behaviour (see the module docstring).

    ``disable_after_failures`` and ``disable_after`` are both off (``None``) unless given.
    """

    honor_gone: bool = True
    honor_retry_after: bool = True
    max_retry_after: timedelta = timedelta(hours=1)
    disable_after_failures: int | None = None
    disable_after: timedelta | None = None

    def __post_init__(self) -> None:
        for name in ("honor_gone", "honor_retry_after"):
            if not isinstance(getattr(self, name), bool):
                raise DeliveryControlError(f"{name} must be true or false")
        cap = _duration(self.max_retry_after, "max_retry_after")
        if not timedelta() < cap <= MAX_RETRY_AFTER_CAP:
            raise DeliveryControlError(
                f"max_retry_after must be more than 0 and at most {MAX_RETRY_AFTER_CAP.days} days"
            )
        object.__setattr__(self, "max_retry_after", cap)
        failures = self.disable_after_failures
        if failures is not None and (
            isinstance(failures, bool) or not isinstance(failures, int) or not 1 <= failures <= 1000
        ):
            raise DeliveryControlError("disable_after_failures must be a whole number 1..1000")
        if self.disable_after is not None:
            window = _duration(self.disable_after, "disable_after")
            if not timedelta() < window <= timedelta(days=366):
                raise DeliveryControlError("disable_after must be more than 0 and at most 366 days")
            object.__setattr__(self, "disable_after", window)

    def to_dict(self) -> dict[str, Any]:
        """The control as the API shows it (durations in seconds)."""
        return {
            "enabled": True,
            "honorGone": self.honor_gone,
            "honorRetryAfter": self.honor_retry_after,
            "maxRetryAfter": self.max_retry_after.total_seconds(),
            "disableAfterFailures": self.disable_after_failures,
            "disableAfter": (
                self.disable_after.total_seconds() if self.disable_after is not None else None
            ),
        }


def _duration(value: object, name: str) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DeliveryControlError(f"{name} must be a duration (seconds or a timedelta)")
    try:
        return timedelta(seconds=value)
    except OverflowError:
        raise DeliveryControlError(f"{name} is too long") from None


@dataclass(frozen=True)
class EndpointHealth:
    """How one endpoint is doing, from the attempts recorded for it."""

    webhook_id: str
    enabled: bool
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    disabled_at: datetime | None = None
    disabled_reason: str | None = None

    @property
    def state(self) -> str:
        """``disabled``, ``failing``, ``healthy`` or ``unknown`` (no attempt yet)."""
        if not self.enabled:
            return "disabled"
        if self.last_attempt_at is None:
            return "unknown"
        return "failing" if self.consecutive_failures else "healthy"

    def to_dict(self) -> dict[str, Any]:
        """The health as the API shows it."""

        def ts(moment: datetime | None) -> str | None:
            return format_timestamp(moment) if moment is not None else None

        return {
            "webhookId": self.webhook_id,
            "state": self.state,
            "enabled": self.enabled,
            "consecutiveFailures": self.consecutive_failures,
            "failingSince": ts(self.failing_since),
            "lastSuccessAt": ts(self.last_success_at),
            "lastAttemptAt": ts(self.last_attempt_at),
            "disabledAt": ts(self.disabled_at),
            "disabledReason": self.disabled_reason,
        }

    def summary(self) -> str:
        """One line for a person (the dashboard)."""
        if self.state == "disabled":
            why = f": {self.disabled_reason}" if self.disabled_reason else ""
            return f"disabled{why}"
        if self.state == "failing" and self.failing_since is not None:
            return (
                f"failing since {format_timestamp(self.failing_since)} "
                f"({self.consecutive_failures} failures in a row)"
            )
        return self.state


def endpoint_health(
    webhook: Webhook,
    deliveries: list[Delivery],
    disabled: tuple[datetime, str] | None = None,
) -> EndpointHealth:
    """The health of ``webhook`` from its ``deliveries`` (``disabled``: when and why control
    disabled it)."""
    attempts = sorted(
        (a for d in deliveries for a in d.attempts if a.error not in NOT_ATTEMPTS),
        key=lambda a: a.at,
    )
    failures = 0
    failing_since: datetime | None = None
    last_success: datetime | None = None
    for attempt in attempts:
        if attempt.succeeded:
            failures, failing_since, last_success = 0, None, attempt.at
        else:
            failures += 1
            failing_since = failing_since or attempt.at
    return EndpointHealth(
        webhook_id=webhook.id,
        enabled=webhook.enabled,
        consecutive_failures=failures,
        failing_since=failing_since,
        last_success_at=last_success,
        last_attempt_at=attempts[-1].at if attempts else None,
        disabled_at=disabled[0] if disabled and not webhook.enabled else None,
        disabled_reason=disabled[1] if disabled and not webhook.enabled else None,
    )


class Controlled:
    """Endpoint health and delivery control, mixed into :class:`lmif_mock.FakeLMIF`."""

    store: Store
    dispatcher: Dispatcher
    clock: Clock
    webhooks: Webhooks
    _control: DeliveryControl | None = None
    _disabled: dict[str, tuple[datetime, str]]
    _control_lock: threading.Lock

    @property
    def delivery_control(self) -> DeliveryControl | None:
        """The opt-in delivery control in force (``None``: off, the provider's behaviour)."""
        return self._control

    @delivery_control.setter
    def delivery_control(self, control: DeliveryControl | None) -> None:
        if control is not None and not isinstance(control, DeliveryControl):
            raise DeliveryControlError(f"expected a DeliveryControl or None, not {control!r}")
        if not hasattr(self, "_control_lock"):
            self._control_lock = threading.Lock()
            self._disabled = {}
            self.dispatcher.on_attempt(self._after_attempt)
        self._control = control
        self.dispatcher.adjust_settlement = self._adjust if control is not None else None

    def reset_delivery_control(self) -> None:
        """Back to off, forgetting why endpoints were disabled (part of ``reset``)."""
        if hasattr(self, "_control_lock"):
            with self._control_lock:
                self._disabled.clear()
        self.delivery_control = None

    def endpoint_health(self, webhook_id: str | None = None) -> Any:
        """The health of one endpoint (an :class:`EndpointHealth`), or of every endpoint (a
        list) when ``webhook_id`` is not given. Available whether or not control is on."""
        disabled = dict(getattr(self, "_disabled", {}))
        if webhook_id is not None:
            webhook = self.store.get_webhook(webhook_id)
            if webhook is None:
                raise NotFoundError(f"no webhook {webhook_id!r}")
            return endpoint_health(
                webhook, self.store.list_deliveries(webhook_id=webhook.id), disabled.get(webhook.id)
            )
        return [
            endpoint_health(w, self.store.list_deliveries(webhook_id=w.id), disabled.get(w.id))
            for w in self.store.list_webhooks()
        ]

    def _adjust(
        self, attempt: Attempt, status: DeliveryStatus, next_at: datetime | None
    ) -> tuple[DeliveryStatus, datetime | None]:
        """The dispatcher's settlement, as the control changes it (410, Retry-After)."""
        control = self._control
        if control is None:
            return status, next_at
        if control.honor_gone and attempt.status_code == 410:
            return "failed", None
        if (
            control.honor_retry_after
            and next_at is not None
            and attempt.retry_after is not None
            and attempt.status_code in RETRY_AFTER_STATUSES
        ):
            wait = min(timedelta(seconds=attempt.retry_after), control.max_retry_after)
            return status, max(next_at, attempt.at + wait)
        return status, next_at

    def _after_attempt(self, delivery: Delivery, attempt: Attempt) -> None:
        control = self._control
        if control is None or attempt.error in NOT_ATTEMPTS:
            return
        webhook = self.store.get_webhook(delivery.webhook_id)
        if webhook is None or not webhook.enabled:
            return
        reason = None
        if control.honor_gone and attempt.status_code == 410:
            reason = "the receiver answered 410 Gone"
        elif control.disable_after_failures is not None or control.disable_after is not None:
            health = endpoint_health(webhook, self.store.list_deliveries(webhook_id=webhook.id))
            limit = control.disable_after_failures
            if limit is not None and health.consecutive_failures >= limit:
                reason = f"{health.consecutive_failures} failed attempts in a row"
            elif (
                control.disable_after is not None
                and health.failing_since is not None
                and attempt.at - health.failing_since >= control.disable_after
            ):
                reason = f"failing for {(attempt.at - health.failing_since)} (rule: disable_after)"
        if reason is None:
            return
        self.webhooks.update(webhook.id, enabled=False)
        with self._control_lock:
            self._disabled[webhook.id] = (attempt.at, reason)
