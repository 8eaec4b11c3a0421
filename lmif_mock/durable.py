"""``serve --db``'s server: an :class:`LMIFServer` whose settings live in its SQLite file too.

The store keeps the records (webhooks, events, deliveries); this keeps what the control API
changes about the server itself, so a restart resumes the same server and not just its records:
the API key ring (rotations and revocations), the retry policy set with ``PUT /_mock/retry-policy``,
and the clock's position. ``/_mock/reset`` forgets the records and puts the ring and the policy
back to how the server started, but keeps its key and clock: the key a client was given still
works after a reset and a restart.
"""

from __future__ import annotations

import json
from typing import Any

from lmif_mock.retry import RetryPolicy, RetryPolicyError
from lmif_mock.server import LMIFServer, generate_api_key
from lmif_mock.sqlite_store import DatabaseFileError, SQLiteStore

#: ``meta`` keys: the first key the file was served with (what lmif-mock 0.1 saved), the ring.
API_KEY = "api_key"
KEY_RING = "api_keys"
RETRY_POLICY = "retry_policy"


class DurableServer(LMIFServer):
    """An LMIFServer on a :class:`SQLiteStore` that saves its settings after every change.

    ``api_key`` given: the server starts afresh with that key (saved, replacing the saved ring);
    absent: the saved ring is restored, or a key is generated and saved on first use. Raises
    :class:`DatabaseFileError` when the saved settings cannot be read.
    """

    def __init__(self, *, store: SQLiteStore, api_key: str | None = None, **options: Any) -> None:
        environment = str(options.get("environment", "sandbox"))
        saved_ring = None if api_key is not None else store.get_meta(KEY_RING)
        first_key = api_key or store.get_meta(API_KEY) or generate_api_key(environment)
        super().__init__(store=store, api_key=first_key, **options)
        self.database = store
        if saved_ring is not None:
            try:
                self.api.keys.restore(json.loads(saved_ring))
            except ValueError as exc:
                raise DatabaseFileError(
                    f"{store.path}: the saved API keys are unreadable ({exc})"
                ) from None
        saved_policy = store.get_meta(RETRY_POLICY)
        if saved_policy is not None:
            try:
                self.dispatcher.policy = RetryPolicy.from_seconds(json.loads(saved_policy))
            except (ValueError, RetryPolicyError) as exc:
                raise DatabaseFileError(
                    f"{store.path}: the saved retry policy is unreadable ({exc})"
                ) from None
        self._save_keys()
        self.api.keys.on_change(self._save_keys)
        self.dispatcher.on_attempt(lambda delivery, attempt: self._save_clock())

    @property
    def retry_policy(self) -> RetryPolicy:
        """The policy new deliveries get; setting it saves it."""
        return self.dispatcher.policy

    @retry_policy.setter
    def retry_policy(self, policy: RetryPolicy) -> None:
        self.dispatcher.policy = policy
        self.database.put_meta(RETRY_POLICY, json.dumps(policy.to_seconds()))

    def reset(self) -> None:
        """Forget the records; ring and policy as at start; the key and the clock are kept."""
        super().reset()
        self.database.delete_meta(RETRY_POLICY)
        self._save_clock()

    def _save_keys(self) -> None:
        self.database.put_meta(API_KEY, self.api.keys.initial)
        self.database.put_meta(KEY_RING, json.dumps(self.api.keys.snapshot()))

    def _save_clock(self) -> None:
        self.database.save_clock(self.clock.now())
