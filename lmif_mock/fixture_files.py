"""The language-neutral files under ``fixtures/``: sample events, JSON Schemas, signature vectors.

They are generated from the code (``python -m lmif_mock fixtures``) and checked against it
(``--check``), so a receiver written in any language can test against files that cannot drift
from what the fake really sends.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lmif_mock.events import EVENT_TYPES, Event
from lmif_mock.payloads import EPOCH, EventFactory
from lmif_mock.schemas import envelope_schema, event_schema
from lmif_mock.signing import SIGNATURE_HEADER, generate_secret, sign

#: The seed every fixture is generated from; changing it rewrites every file.
FIXTURE_SEED = 2024


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _vectors(factory: EventFactory, webhook_id: str) -> list[dict[str, Any]]:
    secret = generate_secret(factory.random)
    unicode_event = factory.build(
        "violation.detected",
        EPOCH,
        {"identityName": "Beyoncé Knowles-Carter", "avatar": {"name": "王菲 ✨ Queen B 🐝"}},
        webhook_id=webhook_id,
    )
    empty_event = Event(factory.new_id("event"), "box.deleted", EPOCH, {}, webhook_id)
    crowd = [
        {
            "id": factory.new_id("avatar"),
            "name": f"Avatar {n}",
            "creatorId": factory.new_id("creator"),
        }
        for n in range(1500)
    ]
    large_event = factory.build(
        "grace_period.started", EPOCH, {"affectedAvatars": crowd}, webhook_id=webhook_id
    )
    plain = factory.build("box.created", EPOCH, webhook_id=webhook_id).body.decode("utf-8")
    valid = [
        ("box.created", plain, secret),
        ("unicode", unicode_event.body.decode("utf-8"), secret),
        ("empty data", empty_event.body.decode("utf-8"), secret),
        ("large payload", large_event.body.decode("utf-8"), secret),
        ("empty body", "", secret),
        ("unicode secret", plain, "sécret-🔑-" + secret),
        ("documented example secret", plain, "your-webhook-secret"),
    ]
    vectors: list[dict[str, Any]] = [
        {"name": name, "secret": key, "payload": body, "signature": sign(body, key), "valid": True}
        for name, body, key in valid
    ]
    good = sign(plain, secret)
    reserialised = json.dumps(json.loads(plain), indent=2)
    invalid = [
        ("wrong secret", plain, sign(plain, secret + "x")),
        ("body re-serialised after signing", reserialised, good),
        ("body tampered after signing", plain.replace("box_", "box_X", 1), good),
        ("missing prefix", plain, good.removeprefix("sha256=")),
        ("other algorithm prefix", plain, good.replace("sha256=", "sha1=", 1)),
        ("uppercase hex", plain, "sha256=" + good.removeprefix("sha256=").upper()),
        ("truncated", plain, good[:-8]),
        ("empty signature", plain, ""),
    ]
    vectors += [
        {"name": name, "secret": secret, "payload": body, "signature": sig, "valid": False}
        for name, body, sig in invalid
    ]
    return vectors


def render() -> dict[str, bytes]:
    """Every fixture file, by path relative to the fixtures directory, as the exact bytes."""
    factory = EventFactory(FIXTURE_SEED)
    webhook_id = factory.new_id("webhook")
    files: dict[str, bytes] = {}
    for event_type in EVENT_TYPES:
        event = factory.build(event_type, EPOCH, webhook_id=webhook_id)
        files[f"events/{event_type}.json"] = _json(event.envelope())
        files[f"schemas/{event_type}.json"] = _json(event_schema(event_type))
    files["schemas/envelope.json"] = _json(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://lmif-mock.invalid/schemas/envelope.json",
            "title": "LMIF webhook envelope (any event type)",
            **envelope_schema(),
        }
    )
    files["signatures.json"] = _json(
        {
            "description": (
                "HMAC-SHA256 test vectors for LMIF webhook signatures. Sign the UTF-8 bytes of "
                "'payload' with the UTF-8 bytes of 'secret'; the header value is 'sha256=' plus "
                "the "
                "lowercase hex digest. Entries with valid=false must be rejected."
            ),
            "header": SIGNATURE_HEADER,
            "vectors": _vectors(factory, webhook_id),
        }
    )
    return files


def write(directory: Path) -> list[str]:
    """Write every fixture under ``directory``; returns the paths that changed."""
    changed = []
    for relative, content in render().items():
        target = directory / relative
        if not target.exists() or target.read_bytes() != content:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            changed.append(relative)
    return changed


def check(directory: Path) -> list[str]:
    """Paths under ``directory`` that are missing, differ from the code, or should not be there."""
    expected = render()
    problems = [
        f"{relative}: {'differs' if (directory / relative).exists() else 'missing'}"
        for relative, content in expected.items()
        if not (directory / relative).exists() or (directory / relative).read_bytes() != content
    ]
    if directory.exists():
        for path in sorted(directory.rglob("*.json")):
            relative = path.relative_to(directory).as_posix()
            if relative not in expected:
                problems.append(f"{relative}: not produced by the code (stale)")
    return problems
