"""The wire form of one delivery attempt: the body's layout, its signature, and the headers.

This is the one place that turns a delivery's canonical bytes into the request a receiver reads:
it lays the body out (a ``layout`` fault), signs it, spoils the signature or the body as a
signature fault asks, and names every header the provider sets. The dispatcher sends exactly
what :func:`wire_request` returns and keeps it on the attempt, so what the API and the dashboard
show beside a signature is always the body that signature was sent with.

The headers are not stored per attempt: they are a pure function of the body and the signature
(:func:`wire_headers`), the same function that built the ones sent, so an attempt keeps only the
body (the delivery's own bytes object when no fault changed them) and the signature.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass

from lmif_mock.exchanges import USER_AGENT, OutgoingRequest
from lmif_mock.faults import LAYOUTS, SIGNATURE_FAULTS, FaultError, Faults
from lmif_mock.signing import SIGNATURE_HEADER, generate_secret, sign

CONTENT_TYPE = "application/json"


@dataclass(frozen=True, slots=True)
class SignedBody:
    """A body and the ``X-LMIF-Signature`` value sent with it (``None``: no header at all)."""

    body: bytes
    signature: str | None


@dataclass(frozen=True, slots=True)
class SentRequest:
    """The request one attempt put on the wire: its exact body and the headers it carried."""

    body: bytes
    signature: str | None

    @property
    def headers(self) -> dict[str, str]:
        """The headers sent, in the order sent. The transport adds only ``Host`` (the URL's over
        HTTP, ``127.0.0.1`` in-process) and, over HTTP, ``Accept-Encoding: identity``."""
        return wire_headers(self.body, self.signature)

    def to_outgoing(self, url: str) -> OutgoingRequest:
        """This request addressed to ``url`` (or an in-process app's path), for a transport."""
        return OutgoingRequest(url, self.body, self.headers)


def wire_headers(body: bytes, signature: str | None) -> dict[str, str]:
    """Every header the provider sets on a delivery of ``body`` signed ``signature``.

    ``Content-Length`` is given explicitly so that every transport sends this very value."""
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    headers["Content-Length"] = str(len(body))
    return headers


def lay_out(body: bytes, layout: str | None) -> bytes:
    """``body`` in another JSON layout (one of :data:`~lmif_mock.faults.LAYOUTS`), same content;
    the very same bytes object if ``layout`` is None."""
    if layout is None:
        return body
    value = json.loads(body)
    if layout == "pretty":
        return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")
    if layout == "ascii":
        return json.dumps(value, ensure_ascii=True).encode("ascii")
    raise FaultError(f"unknown layout {layout!r}; known: {', '.join(LAYOUTS)}")


#: Where the event id's first character after its prefix stands, in any layout of the envelope.
_EVENT_ID = re.compile(rb'"id"\s*:\s*"evt_(?=[A-Za-z0-9])')
#: Failing that (a body that is not an envelope), the first ASCII letter or digit of a string value.
_STRING_VALUE = re.compile(rb':\s*"(?=[A-Za-z0-9])')


def tamper(body: bytes) -> bytes:
    """Change one character of the event id: still valid JSON, but not what was signed.

    The change is to content, never whitespace, in every layout: a receiver that normalises
    whitespace (or re-serialises) before verifying must still see the signature fail, so the
    tampered event parses with another id.
    """
    found = _EVENT_ID.search(body) or _STRING_VALUE.search(body)
    if found is None:
        return body + b" "
    position = found.end()
    changed = b"x" if body[position : position + 1] != b"x" else b"y"
    return body[:position] + changed + body[position + 1 :]


def sign_body(
    body: bytes,
    secret: str,
    fault: str | None = None,
    *,
    previous_secret: str | None = None,
    rng: random.Random | None = None,
    layout: str | None = None,
) -> SignedBody:
    """Lay ``body`` out as asked, sign it with ``secret``, then apply the signature ``fault``
    (one of :data:`~lmif_mock.faults.SIGNATURE_FAULTS`)."""
    body = lay_out(body, layout)
    good = sign(body, secret)
    if fault is None:
        return SignedBody(body, good)
    if fault == "missing":
        return SignedBody(body, None)
    if fault == "wrong_secret":
        return SignedBody(body, sign(body, generate_secret(rng)))
    if fault == "tampered_body":
        return SignedBody(tamper(body), good)
    if fault == "truncated":
        return SignedBody(body, good[:-8])
    if fault == "previous_secret":
        if previous_secret is None:
            raise FaultError("previous_secret needs a webhook whose secret has been rotated")
        return SignedBody(body, sign(body, previous_secret))
    if fault == "wrong_prefix":
        return SignedBody(body, "sha1=" + good.removeprefix("sha256="))
    known = ", ".join(SIGNATURE_FAULTS)
    raise FaultError(f"unknown signature fault {fault!r}; known: {known}")


def wire_request(
    body: bytes,
    faults: Faults,
    secret: str,
    *,
    previous_secret: str | None,
    rng: random.Random,
    earlier_body: bytes | None = None,
) -> SentRequest:
    """The request an attempt sends for a delivery of ``body`` under ``faults``.

    ``earlier_body`` is what an earlier attempt of the same delivery sent: when this attempt's
    body has the same bytes, that object is kept instead, so a retried delivery whose faults
    re-lay its body holds one copy of it, not one per attempt. (Without such faults the body is
    the delivery's own object already.)"""
    if faults.signature is None and faults.layout is None:  # the usual attempt: sign, send
        return SentRequest(body, sign(body, secret))
    signed = sign_body(
        body,
        secret,
        faults.signature,
        previous_secret=previous_secret,
        rng=rng,
        layout=faults.layout,
    )
    sent = signed.body
    if earlier_body is not None and sent is not earlier_body and sent == earlier_body:
        sent = earlier_body
    return SentRequest(sent, signed.signature)
