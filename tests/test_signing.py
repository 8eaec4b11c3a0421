"""Signing and verification: the provider's format, rotation, and verify never raising."""

from __future__ import annotations

import hashlib
import hmac
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lmif_mock import generate_secret, sign, verify
from lmif_mock.signing import SECRET_PREFIX

anything = st.one_of(
    st.none(),
    st.binary(),
    st.text(),
    st.integers(),
    st.floats(),
    st.lists(st.text()),
    st.dictionaries(st.text(), st.text()),
)


def test_rfc4231_known_answer() -> None:
    # RFC 4231 test case 2: an outside known answer for HMAC-SHA256.
    assert sign(b"what do ya want for nothing?", "Jefe") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_format_is_prefix_and_64_lowercase_hex() -> None:
    assert re.fullmatch(r"sha256=[0-9a-f]{64}", sign(b"{}", "s"))


def test_str_payload_is_signed_as_utf8() -> None:
    text = '{"identityName":"Beyoncé 🐝"}'
    assert sign(text, "k") == sign(text.encode("utf-8"), "k")


@given(payload=st.binary(), secret=st.text(min_size=1))
def test_round_trip(payload: bytes, secret: str) -> None:
    assert verify(payload, sign(payload, secret), secret)


@given(payload=st.binary(), secret=st.text(min_size=1), other=st.text(min_size=1))
def test_other_secret_fails(payload: bytes, secret: str, other: str) -> None:
    if other.encode() != secret.encode():
        assert not verify(payload, sign(payload, secret), other)


@given(payload=st.binary(min_size=1), secret=st.text(), index=st.integers(min_value=0))
def test_any_flipped_byte_fails(payload: bytes, secret: str, index: int) -> None:
    position = index % len(payload)
    tampered = bytearray(payload)
    tampered[position] ^= 0x01
    assert not verify(bytes(tampered), sign(payload, secret), secret)


@given(payload=anything, signature=anything, secret=anything)
def test_verify_never_raises(payload: object, signature: object, secret: object) -> None:
    assert verify(payload, signature, secret) in (True, False)  # type: ignore[arg-type]


@given(payload=st.binary(), secret=st.text(), junk=st.text())
def test_verify_rejects_malformed_signatures(payload: bytes, secret: str, junk: str) -> None:
    good = sign(payload, secret)
    digest = good.removeprefix("sha256=")
    for bad in (digest, good.upper(), good[:-1], good + "0", "sha1=" + digest, junk, "", None):
        if bad != good:
            assert not verify(payload, bad, secret)


def test_rotation_accepts_any_listed_secret() -> None:
    body = b'{"id":"evt_1"}'
    old, new = "old-secret", "new-secret"
    assert verify(body, sign(body, old), [new, old])
    assert verify(body, sign(body, new), (new, old))
    assert not verify(body, sign(body, "third"), [new, old])
    assert not verify(body, sign(body, old), [])


def test_bytes_signature_and_non_ascii_signature() -> None:
    body = b"x"
    assert verify(body, sign(body, "k").encode("ascii"), "k")  # type: ignore[arg-type]
    assert not verify(body, "sha256=" + "é" * 64, "k")


def test_generate_secret_format_and_entropy() -> None:
    secret = generate_secret()
    assert re.fullmatch(re.escape(SECRET_PREFIX) + r"[A-Za-z0-9_-]{43}", secret)
    assert len({generate_secret() for _ in range(50)}) == 50


def test_generate_secret_is_reproducible_with_a_seeded_rng() -> None:
    assert generate_secret(random.Random(7)) == generate_secret(random.Random(7))
    assert generate_secret(random.Random(7)) != generate_secret(random.Random(8))


@pytest.mark.parametrize("secret", ["", "k", "ключ", "🔑" * 100])
def test_matches_stdlib_hmac(secret: str) -> None:
    body = '{"a":"ü"}'.encode()
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, secret) == "sha256=" + expected


@settings(max_examples=300, deadline=None)
@given(
    secrets=st.lists(st.text(max_size=20) | st.binary(max_size=20), min_size=1, max_size=80),
    body=st.binary(max_size=3000),
)
def test_signing_with_remembered_keys_is_plain_hmac_sha256(
    secrets: list[str | bytes], body: bytes
) -> None:
    """``sign`` keeps an HMAC keyed per secret and copies it; whatever the secrets (text and
    bytes alike, more of them than it remembers, the same one again), every signature is the
    textbook HMAC-SHA256 of the body under that secret."""
    for secret in [*secrets, *secrets]:
        try:
            key = secret.encode("utf-8") if isinstance(secret, str) else secret
        except UnicodeEncodeError:
            continue
        expected = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        assert sign(body, secret) == expected  # type: ignore[arg-type]
        assert sign(body, bytearray(key)) == expected  # type: ignore[arg-type]
