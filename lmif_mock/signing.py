"""The provider's webhook signature: ``X-LMIF-Signature: sha256=<hex HMAC-SHA256(secret, body)>``.

The HMAC covers the raw body bytes and nothing else (no timestamp is signed), so the only correct
way for a receiver to check it is over the bytes it read off the wire, before any JSON parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import random
import secrets as _secrets
from collections.abc import Sequence

#: The header the provider puts the signature in (HTTP header names are case-insensitive).
SIGNATURE_HEADER = "X-LMIF-Signature"
#: What every signature value starts with.
SIGNATURE_PREFIX = "sha256="
#: What every secret made by :func:`generate_secret` starts with, so one is easy to spot in config.
SECRET_PREFIX = "lmif_whsec_"

_HEX_DIGITS = frozenset("0123456789abcdef")
#: HMACs keyed with each secret in use (a session has a few webhooks, so a few secrets).
_KEYED: dict[str | bytes, hmac.HMAC] = {}
_REMEMBERED_SECRETS = 64
_DIGEST_HEX_LENGTH = 64


def _as_bytes(value: bytes | bytearray | memoryview | str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def sign(payload: bytes | str, secret: str) -> str:
    """The header value the provider sends for ``payload``: ``"sha256="`` plus 64 lowercase hex.

    A ``str`` payload is signed as its UTF-8 encoding, which is what goes on the wire.
    """
    body = payload if type(payload) is bytes else _as_bytes(payload)  # no copy of the usual bytes
    given: object = secret  # typed str, but bytes and bytearray have always worked
    named = given if isinstance(given, (str, bytes)) else _as_bytes(secret)
    keyed = _KEYED.get(named)
    if keyed is None:
        key = named.encode("utf-8") if isinstance(named, str) else named
        keyed = hmac.new(key, digestmod=hashlib.sha256)
        if len(_KEYED) >= _REMEMBERED_SECRETS:
            _KEYED.clear()
        _KEYED[named] = keyed
    # A copy of the HMAC already keyed: keying hashes the padded secret twice, half the cost of
    # signing a webhook's body. Not hmac.digest: its one-shot call lets go of the GIL on any
    # body, and getting it back from a thread that took it meanwhile cost 15 us an attempt.
    signer = keyed.copy()
    signer.update(body)
    return SIGNATURE_PREFIX + signer.hexdigest()


def verify(
    payload: bytes | str,
    signature: str | None,
    secret: str | Sequence[str],
) -> bool:
    """Whether ``signature`` is the provider's signature of ``payload`` under ``secret``.

    ``secret`` may be several secrets (during a rotation a receiver accepts the new and the old).
    The comparison runs in constant time for a given length. Any malformed input (``None``, a wrong
    prefix, a truncated or non-hex digest, non-ASCII text, wrong types) yields ``False``; this
    function never raises, because a receiver calls it on whatever a client sent.
    """
    try:
        return _verify(payload, signature, secret)
    except Exception:
        return False


def _verify(payload: bytes | str, signature: str | None, secret: str | Sequence[str]) -> bool:
    if isinstance(signature, (bytes, bytearray)):
        signature = bytes(signature).decode("ascii")
    if not isinstance(signature, str) or not signature.startswith(SIGNATURE_PREFIX):
        return False
    digest = signature[len(SIGNATURE_PREFIX) :]
    if len(digest) != _DIGEST_HEX_LENGTH or not _HEX_DIGITS.issuperset(digest):
        return False
    if not isinstance(payload, (bytes, bytearray, memoryview, str)):
        return False
    candidates = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    given = signature.encode("ascii")
    matched = False
    for candidate in candidates:
        if not isinstance(candidate, (str, bytes)):
            continue
        expected = sign(bytes(_as_bytes(payload)), candidate).encode("ascii")
        # Check every candidate, so the time taken does not say which secret matched.
        matched |= hmac.compare_digest(expected, given)
    return matched


def generate_secret(rng: random.Random | None = None) -> str:
    """A new webhook secret: ``lmif_whsec_`` followed by 43 URL-safe base64 characters (256 bits).

    Pass a seeded ``rng`` to make the secret reproducible (the fake does, under a seed); without
    one the operating system's CSPRNG is used.
    """
    raw = rng.randbytes(32) if rng is not None else _secrets.token_bytes(32)
    return SECRET_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
