"""``sign`` and ``verify``: the signature from a shell, made to compose.

``sign`` prints the bare header value, so ``verify --signature "$(… sign …)"`` works as typed;
``--header`` prints the whole ``X-LMIF-Signature: …`` line for pasting into an HTTP client.
``verify`` says why a signature is invalid, because "invalid" alone sends a user guessing between
a pasted header line, a cut-off digest, the wrong secret and a body that is not the signed bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from lmif_mock.signing import SIGNATURE_HEADER, SIGNATURE_PREFIX, sign, verify

_DIGEST_LENGTH = 64
_HEX = frozenset("0123456789abcdef")


def _payload_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--payload", help="the body as text (UTF-8)")
    source.add_argument("--file", help="read the body from this file (exact bytes)")


def add_sign_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``sign`` options."""
    parser.add_argument("--secret", required=True)
    parser.add_argument(
        "--header", action="store_true", help=f"print the whole '{SIGNATURE_HEADER}: …' line"
    )
    _payload_options(parser)


def add_verify_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``verify`` options."""
    parser.add_argument("--secret", required=True, action="append", help="repeat for several")
    parser.add_argument("--signature", required=True, help="the header's value, sha256=…")
    _payload_options(parser)


class _Unreadable(Exception):
    """The --file cannot be read; the message says why."""


def _read_payload(args: argparse.Namespace) -> bytes:
    if args.payload is not None:
        return str(args.payload).encode("utf-8")
    if args.file is not None:
        try:
            return Path(args.file).read_bytes()
        except OSError as exc:
            raise _Unreadable(f"cannot read --file {args.file}: {exc.strerror}") from None
    return sys.stdin.buffer.read()


def _near_misses(body: bytes) -> list[tuple[str, bytes]]:
    """Bodies a user plausibly has instead of the signed bytes, each with what differs."""
    variants = [
        ("without its trailing newline", body.rstrip(b"\r\n")),
        ("with a trailing newline", body + b"\n"),
    ]
    try:
        parsed = json.loads(body)
    except ValueError:
        return variants
    for separators, spacing in (((",", ":"), "compact"), ((", ", ": "), "with spaces")):
        for ascii_only, text in ((True, "non-ASCII escaped"), (False, "non-ASCII kept")):
            for sort_keys in (False, True):
                what = f"re-serialised ({spacing}, {text}{', keys sorted' * sort_keys})"
                encoded = json.dumps(
                    parsed, separators=separators, ensure_ascii=ascii_only, sort_keys=sort_keys
                )
                variants.append((what, encoded.encode("utf-8")))
    return [(what, variant) for what, variant in variants if variant != body]


def why_invalid(body: bytes, signature: str, secrets: Sequence[str]) -> str:
    """The most specific reason ``signature`` is not ``body``'s signature under ``secrets``."""
    if signature.lower().startswith(SIGNATURE_HEADER.lower() + ":"):
        return f"that is a whole header line; give only its value ({SIGNATURE_PREFIX}…)"
    if not signature.startswith(SIGNATURE_PREFIX):
        return f"a signature starts with {SIGNATURE_PREFIX!r}, this one with {signature[:7]!r}"
    digest = signature[len(SIGNATURE_PREFIX) :]
    if len(digest) != _DIGEST_LENGTH:
        return f"the digest after {SIGNATURE_PREFIX} has {len(digest)} characters, not 64"
    if not _HEX.issuperset(digest):
        upper = _HEX.issuperset(digest.lower())
        return "the digest must be lowercase hex" + (" (this one is uppercase)" if upper else "")
    for what, variant in _near_misses(body):
        if verify(variant, signature, secrets):
            return (
                f"the body differs from the signed bytes: the signature matches it {what}; "
                "verify the exact bytes received"
            )
    return "the HMAC does not match: wrong secret, or the body is not the exact bytes signed"


def run_sign(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """Print the signature (the value, or with ``--header`` the whole header line)."""
    try:
        value = sign(_read_payload(args), args.secret)
    except _Unreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{SIGNATURE_HEADER}: {value}" if args.header else value, file=out)
    return 0


def run_verify(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    """``valid`` (exit 0), or ``invalid: <why>`` (exit 1); 2 if the body cannot be read."""
    try:
        body = _read_payload(args)
    except _Unreadable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if verify(body, args.signature, args.secret):
        print("valid", file=out)
        return 0
    print(f"invalid: {why_invalid(body, args.signature, args.secret)}", file=out)
    return 1
