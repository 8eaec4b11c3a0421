"""Managing webhook endpoints, named after the provider's SDK: create, list, get, update, delete,
rotate_secret, test (a sandbox feature) and verify.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from lmif_mock.clock import Clock
from lmif_mock.errors import LMIFMockError, NotFoundError
from lmif_mock.events import EVENT_TYPES, Event, check_event_type
from lmif_mock.hosts import BlockedHostError, HostPolicy
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.records import ALL_EVENTS, Webhook
from lmif_mock.signing import generate_secret, verify
from lmif_mock.store import Store
from lmif_mock.transports import is_asgi_app

_SUBSCRIBABLE = frozenset((*EVENT_TYPES, ALL_EVENTS))
#: The most event types one webhook can list: every type once, plus ``*``.
MAX_SUBSCRIPTIONS = len(_SUBSCRIBABLE)
MAX_SECRET_LENGTH = 512


class WebhookError(LMIFMockError, ValueError):
    """A webhook definition that cannot work (bad URL, unknown event type, empty secret...)."""


class SandboxOnlyError(LMIFMockError):
    """A sandbox feature (test events) asked of a fake in the live environment."""


def check_events(events: object) -> tuple[str, ...]:
    """A non-empty list of documented event types (or ``"*"``), without repeats, order kept."""
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise WebhookError("events must be a list of event types, e.g. ['box.created']")
    listed = list(events)
    if not all(isinstance(e, str) for e in listed):
        raise WebhookError("events must be a list of event type strings")
    chosen = list(dict.fromkeys(listed))
    if not chosen:
        raise WebhookError("subscribe to at least one event type (or '*' for all)")
    unknown = [e for e in chosen if e not in _SUBSCRIBABLE]
    if unknown:
        raise WebhookError(f"unknown event type(s) {unknown}; see the event catalogue")
    return tuple(chosen)


def check_secret(secret: object) -> str:
    """A usable secret: a non-empty string of sane length."""
    if not isinstance(secret, str) or not secret:
        raise WebhookError("secret must be a non-empty string")
    if len(secret) > MAX_SECRET_LENGTH:
        raise WebhookError(f"secret must be at most {MAX_SECRET_LENGTH} characters")
    if not _is_utf8(secret):
        raise WebhookError("secret must be valid Unicode text (no lone surrogates)")
    return secret


def _is_utf8(text: str) -> bool:
    """Whether ``text`` can become bytes at all (HMAC keys and URLs are sent as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Webhooks:
    """The webhook endpoints of one fake LMIF."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        rng: Callable[[], random.Random],
        hosts: HostPolicy,
        on_delete: Callable[[Webhook], None] | None = None,
        send_test: Callable[[str, list[str]], Event] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._rng = rng
        self.hosts = hosts
        self._on_delete = on_delete
        self._send_test = send_test
        #: Test events are a sandbox feature; a live fake sets this False.
        self.sandbox = True

    def test(
        self, event_type: str, endpoint: str | None = None, *, webhook_id: str | None = None
    ) -> Event:
        """The SDK's ``webhooks.test({eventType, endpoint})``: send a sample ``event_type`` to the
        webhook(s) registered for ``endpoint`` (or to ``webhook_id``), subscribed or not.

        Raises :class:`SandboxOnlyError` in the live environment, :class:`NotFoundError` when no
        webhook is registered for ``endpoint``, :class:`UnknownEventType` for a type outside the
        catalogue.
        """
        if not self.sandbox:
            raise SandboxOnlyError("test events are a sandbox feature (use an lmif_test_ key)")
        check_event_type(event_type)
        if webhook_id is not None:
            targets = [self.get(webhook_id).id]
        elif endpoint is not None:
            targets = [w.id for w in self.list() if w.url == endpoint]
            if not targets:
                raise NotFoundError(f"no webhook is registered for {endpoint!r}; create one first")
        else:
            raise WebhookError("give endpoint (a registered URL) or webhook_id")
        if self._send_test is None:
            raise SandboxOnlyError("this webhook registry has no fake to send test events from")
        return self._send_test(event_type, targets)

    @staticmethod
    def verify(payload: bytes | str, signature: str | None, secret: str | Sequence[str]) -> bool:
        """The SDK's ``webhooks.verify(payload, signature, secret)``: :func:`lmif_mock.verify`."""
        return verify(payload, signature, secret)

    def create(
        self,
        url: Any,
        events: Iterable[str] = (ALL_EVENTS,),
        secret: str | None = None,
        *,
        path: str = "/",
        enabled: bool = True,
    ) -> Webhook:
        """Subscribe ``url`` (an http(s) URL, or a WSGI/ASGI app delivered in-process).

        ``secret`` is generated when absent, as the provider does; ``path`` is the request path an
        in-process app receives.
        """
        shown, target = self._target(url, path)
        webhook = Webhook(
            id=new_id(PREFIXES["webhook"], self._rng()),
            url=shown,
            events=check_events(events),
            secret=check_secret(secret) if secret is not None else generate_secret(self._rng()),
            created_at=self._clock.now(),
            enabled=bool(enabled),
            path=path,
            target=target,
        )
        self._store.put_webhook(webhook)
        return webhook

    def list(self) -> list[Webhook]:
        """Every webhook, oldest first."""
        return self._store.list_webhooks()

    def get(self, webhook_id: str) -> Webhook:
        """The webhook with ``webhook_id``, or :class:`NotFoundError`."""
        webhook = self._store.get_webhook(webhook_id) if isinstance(webhook_id, str) else None
        if webhook is None:
            raise NotFoundError(f"no webhook {webhook_id!r}")
        return webhook

    def update(
        self,
        webhook_id: str,
        *,
        url: Any = None,
        events: Iterable[str] | None = None,
        enabled: bool | None = None,
        path: str | None = None,
    ) -> Webhook:
        """Change what is given and keep the rest (the secret changes only by rotation)."""
        webhook = self.get(webhook_id)
        changes: dict[str, Any] = {}
        if url is not None or path is not None:
            new_path = path if path is not None else webhook.path
            shown, target = self._target(url if url is not None else webhook.target, new_path)
            changes.update(url=shown, target=target, path=new_path)
        if events is not None:
            changes["events"] = check_events(events)
        if enabled is not None:
            changes["enabled"] = bool(enabled)
        updated = replace(webhook, **changes)
        self._store.put_webhook(updated)
        return updated

    def delete(self, webhook_id: str) -> None:
        """Remove the webhook; its pending deliveries fail at their next attempt."""
        webhook = self.get(webhook_id)
        self._store.delete_webhook(webhook_id)
        if self._on_delete is not None:
            self._on_delete(webhook)

    def rotate_secret(self, webhook_id: str, secret: str | None = None) -> Webhook:
        """Give the webhook a new secret; the old one is kept as ``previous_secret``."""
        webhook = self.get(webhook_id)
        new = check_secret(secret) if secret is not None else generate_secret(self._rng())
        updated = replace(webhook, secret=new, previous_secret=webhook.secret)
        self._store.put_webhook(updated)
        return updated

    def _target(self, url: Any, path: str) -> tuple[str, Any]:
        if not isinstance(path, str) or not path.startswith("/"):
            raise WebhookError(f"path must start with '/', not {path!r}")
        if isinstance(url, str):
            if not _is_utf8(url):
                raise WebhookError("url must be valid Unicode text (no lone surrogates)")
            try:
                return self.hosts.check_url(url), url
            except BlockedHostError as exc:
                raise WebhookError(str(exc)) from None
        if callable(url):
            kind = "asgi" if is_asgi_app(url) else "wsgi"
            name = getattr(url, "__name__", None) or type(url).__name__
            return f"{kind}://{name}{path}", url
        raise WebhookError(
            f"url must be an http(s) URL or a WSGI/ASGI app, not {type(url).__name__}"
        )
