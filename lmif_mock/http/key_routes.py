"""``/_mock/keys``: rotating and revoking the server's API key, as the provider's console does."""

from __future__ import annotations

import re
import secrets

from werkzeug.wrappers import Request

from lmif_mock.clock import Clock
from lmif_mock.http.api_keys import ROTATION_GRACE, KeyRing
from lmif_mock.http.json_body import BodyReader
from lmif_mock.http.routes import Handler, Result
from lmif_mock.http.validation import Fields
from lmif_mock.timestamps import format_timestamp


def key_pattern(prefix: str) -> str:
    """The keys a server whose keys start with ``prefix`` may be given: what RFC 6750 lets a
    Bearer token hold, so the key can be sent in ``Authorization`` as it is."""
    return f"^{re.escape(prefix)}[A-Za-z0-9._~+/-]+=*$"


class KeyRoutes:
    """The key routes over ``keys``; new keys start with ``prefix`` (the environment's)."""

    def __init__(self, keys: KeyRing, prefix: str, clock: Clock, read_body: BodyReader) -> None:
        self.keys = keys
        self.prefix = prefix
        self.clock = clock
        self.read_body = read_body

    def handlers(self) -> dict[str, Handler]:
        """Each route's endpoint name and its handler."""
        return {"mock_rotate_key": self.rotate, "mock_revoke_key": self.revoke}

    def rotate(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"apiKey"})
        chosen = fields.string("apiKey", max_length=200)
        if chosen is not None and not re.fullmatch(key_pattern(self.prefix), chosen):
            fields.fail(
                "apiKey",
                f"keys of this server are {self.prefix} then a Bearer token's characters "
                "(letters, digits, - . _ ~ + /, then any '=')",
            )
        fields.done()
        now = self.clock.now()
        new_key = chosen or self.prefix + secrets.token_urlsafe(24)
        previous = self.keys.rotate(new_key, now)
        return 201, {
            "data": {
                "apiKey": new_key,
                "previousKey": previous,
                "previousKeyValidUntil": format_timestamp(now + ROTATION_GRACE),
            }
        }

    def revoke(self, request: Request, args: dict[str, str]) -> Result:
        fields = Fields(self.read_body(request), allowed={"apiKey"})
        key = fields.string("apiKey", required=True, max_length=200)
        fields.done()
        self.keys.revoke(str(key), self.clock.now())
        return 200, {"data": {"revoked": True}}
