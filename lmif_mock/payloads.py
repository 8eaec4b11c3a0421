"""Realistic ``data`` for every event type, built on Faker and reproducible from a seed.

The documented fields come first and are spelled exactly as the provider spells them; where the
provider's pages are silent (most ``grace_period.*``, ``license.*`` and ``detection.*`` events), the
fields follow the style of the documented ones and of the REST resources they describe. Related
values agree with each other: a grace period expires 30 days after it starts, reminders fall on
days 7, 21 and 28, ``ending`` comes 2 days before expiry, and every time is anchored on the
event's ``createdAt``.

Faker calls are not free, so each builder draws only what it returns.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from lmif_mock import event_shapes
from lmif_mock.events import Event, check_event_type
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.terms import years_after
from lmif_mock.timestamps import format_timestamp, utc

# The enumerations are declared once, with the event shapes; the builders' users import them here.
ACTIONS: Final = event_shapes.ACTIONS
APPEAL_REASONS: Final = event_shapes.APPEAL_REASONS
CLASSIFICATIONS: Final = event_shapes.CLASSIFICATIONS
DENIAL_REASONS: Final = event_shapes.DENIAL_REASONS
DETECTION_LAYERS: Final = event_shapes.DETECTION_LAYERS
ENFORCEMENTS: Final = event_shapes.ENFORCEMENTS
ENTITY_TYPES: Final = event_shapes.ENTITY_TYPES
LICENSE_TIERS: Final = event_shapes.LICENSE_TIERS
POLICIES: Final = event_shapes.POLICIES
REMINDER_DAYS: Final = event_shapes.REMINDER_DAYS
RESOLUTIONS: Final = event_shapes.RESOLUTIONS
REVENUE_TYPES: Final = event_shapes.REVENUE_TYPES
REVOCATION_REASONS: Final = event_shapes.REVOCATION_REASONS
SCAN_TRIGGERS: Final = event_shapes.SCAN_TRIGGERS
VIOLATION_RESOLUTIONS: Final = event_shapes.VIOLATION_RESOLUTIONS
GRACE_PERIOD_DAYS: Final = 30
ENDING_DAYS_BEFORE_EXPIRY: Final = 2
LICENSE_EXPIRING_DAYS: Final = 30
ROYALTY_RATES: Final = (0.05, 0.1, 0.15, 0.2, 0.25)

#: What the identity check tells a platform to do, by box policy.
ACTION_FOR_POLICY: Final = {
    "BLOCK_ALL": "BLOCK",
    "BLOCK_COMMERCIAL": "VERIFY_COMMERCIAL",
    "MONETIZE": "TRACK_REVENUE",
    "LICENSE": "REQUIRE_LICENSE",
    "TEAM": "BLOCK",
    "OPEN": "ALLOW",
}
_MONTHLY_FEE: Final = {
    "personal": (0, 10),
    "creator": (25, 100),
    "commercial": (100, 1000),
    "enterprise": (2000, 10000),
}
_USE_CASES: Final = (
    "AI companion chat",
    "Fan fiction roleplay",
    "Educational voice tutor",
    "Branded customer assistant",
    "Interactive storytelling",
)
_AVATAR_SUFFIXES: Final = ("AI", "Bot", "Chat", "Companion", "Twin")

#: EPOCH anchors generated timestamps when no clock is given (the provider's own sample date).
EPOCH: Final = datetime(2024, 1, 15, 10, 0, 0, tzinfo=timezone.utc)


class _NamePool:
    """Faker's en_US name lists with their weights, drawn from with one ``random`` call each.

    Going through Faker's generator for every name costs 100-200 us (format strings, weighted
    sampling rebuilt per call); drawing from the same lists directly costs about 1 us, and an
    event needs up to three names.
    """

    def __init__(self) -> None:
        from faker.providers.company.en_US import Provider as Company
        from faker.providers.person.en_US import Provider as Person

        self.first, self.first_weights = _weighted(Person.first_names)
        self.last, self.last_weights = _weighted(Person.last_names)
        self.company_suffixes = tuple(Company.company_suffixes)

    def first_name(self, rng: random.Random) -> str:
        return rng.choices(self.first, cum_weights=self.first_weights)[0]

    def last_name(self, rng: random.Random) -> str:
        return rng.choices(self.last, cum_weights=self.last_weights)[0]

    def name(self, rng: random.Random) -> str:
        return f"{self.first_name(rng)} {self.last_name(rng)}"

    def company(self, rng: random.Random) -> str:
        return f"{self.last_name(rng)} {rng.choice(self.company_suffixes)}"


def _weighted(values: Any) -> tuple[tuple[str, ...], tuple[float, ...]]:
    names = tuple(values)
    weights = (
        [float(values[n]) for n in names] if isinstance(values, Mapping) else [1.0] * len(names)
    )
    total, cumulative = 0.0, []
    for weight in weights:
        total += weight
        cumulative.append(total)
    return names, tuple(cumulative)


_POOL: _NamePool | None = None


def _names() -> _NamePool:
    global _POOL
    if _POOL is None:
        _POOL = _NamePool()
    return _POOL


class _Remove:
    """Type of :data:`REMOVE`."""

    _instance: _Remove | None = None

    def __new__(cls) -> _Remove:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "REMOVE"


#: Use as an override value to delete a generated field, e.g. to test a receiver against
#: ``{"avatar": {"creatorId": REMOVE}}``.
REMOVE: Final = _Remove()


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in: mappings merge key by key, anything else replaces.

    Lists replace whole (merging element-wise would surprise), and :data:`REMOVE` deletes the key.
    Neither argument is modified.
    """
    merged = dict(base)
    for key, value in overrides.items():
        if value is REMOVE:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        elif isinstance(value, Mapping):
            merged[key] = deep_merge({}, value)
        else:
            merged[key] = value
    return merged


@dataclass
class _Draw:
    """One builder call: the random source and the event's own moment."""

    rng: random.Random
    at: datetime
    names: _NamePool

    def id(self, kind: str) -> str:
        return new_id(PREFIXES[kind], self.rng)

    def time(self, **delta: float) -> str:
        return format_timestamp(self.at + timedelta(**delta))

    def identity(self, entity_type: str = "INDIVIDUAL") -> str:
        if entity_type == "CORPORATION":
            return self.names.company(self.rng)
        if entity_type == "ESTATE":
            return f"Estate of {self.names.name(self.rng)}"
        if entity_type == "AGENCY":
            return f"{self.names.last_name(self.rng)} Talent Agency"
        return self.names.name(self.rng)

    def avatar(self, identity_name: str) -> dict[str, Any]:
        first = identity_name.split()[0] if identity_name.strip() else "Avatar"
        return {
            "id": self.id("avatar"),
            "name": f"{first} {self.rng.choice(_AVATAR_SUFFIXES)}",
            "creatorId": self.id("creator"),
        }

    def confidence(self, low: float = 0.6) -> float:
        return round(self.rng.uniform(low, 1.0), 2)

    def tier(self) -> str:
        return self.rng.choice(LICENSE_TIERS)


def _box_created(d: _Draw) -> dict[str, Any]:
    entity_type = d.rng.choice(ENTITY_TYPES)
    return {
        "boxId": d.id("box"),
        "claimId": d.id("claim"),
        "identityName": d.identity(entity_type),
        "entityType": entity_type,
        "policy": d.rng.choice(POLICIES),
        "enforcement": d.rng.choice(ENFORCEMENTS),
        "policyConfig": {
            "royaltyRate": d.rng.choice(ROYALTY_RATES),
            "revenueTypes": list(REVENUE_TYPES[: d.rng.randint(1, len(REVENUE_TYPES))]),
        },
    }


def _box_updated(d: _Draw) -> dict[str, Any]:
    policy_from, policy_to = d.rng.sample(POLICIES, 2)
    enforcement_from, enforcement_to = d.rng.sample(ENFORCEMENTS, 2)
    return {
        "boxId": d.id("box"),
        "changes": {
            "policy": {"from": policy_from, "to": policy_to},
            "enforcement": {"from": enforcement_from, "to": enforcement_to},
        },
    }


def _box_deleted(d: _Draw) -> dict[str, Any]:
    return {"boxId": d.id("box"), "claimId": d.id("claim"), "identityName": d.identity()}


def _violation_detected(d: _Draw) -> dict[str, Any]:
    name = d.identity()
    return {
        "violationId": d.id("violation"),
        "boxId": d.id("box"),
        "identityName": name,
        "policy": d.rng.choice(POLICIES),
        "avatar": d.avatar(name),
        "detection": {"confidence": d.confidence(), "classification": CLASSIFICATIONS[0]},
        "gracePeriod": {"id": d.id("grace_period"), "expiresAt": d.time(days=GRACE_PERIOD_DAYS)},
    }


def _violation_resolved(d: _Draw) -> dict[str, Any]:
    return {
        "violationId": d.id("violation"),
        "resolution": d.rng.choice(VIOLATION_RESOLUTIONS),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "resolvedAt": d.time(),
    }


def _violation_appealed(d: _Draw) -> dict[str, Any]:
    name = d.identity()
    return {
        "violationId": d.id("violation"),
        "boxId": d.id("box"),
        "identityName": name,
        "avatar": d.avatar(name),
        "appeal": {"reason": d.rng.choice(APPEAL_REASONS), "submittedAt": d.time()},
        "gracePeriod": {"id": d.id("grace_period"), "status": "paused"},
    }


def _grace_period_started(d: _Draw) -> dict[str, Any]:
    name = d.identity()
    return {
        "gracePeriodId": d.id("grace_period"),
        "boxId": d.id("box"),
        "violationId": d.id("violation"),
        "identityName": name,
        "policy": d.rng.choice(POLICIES),
        "startedAt": d.time(),
        "expiresAt": d.time(days=GRACE_PERIOD_DAYS),
        "affectedAvatars": [d.avatar(name) for _ in range(d.rng.randint(1, 3))],
    }


def _grace_period_reminder(d: _Draw) -> dict[str, Any]:
    day = d.rng.choice(REMINDER_DAYS)
    return {
        "gracePeriodId": d.id("grace_period"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "day": day,
        "daysRemaining": GRACE_PERIOD_DAYS - day,
        "startedAt": d.time(days=-day),
        "expiresAt": d.time(days=GRACE_PERIOD_DAYS - day),
    }


def _grace_period_ending(d: _Draw) -> dict[str, Any]:
    started = GRACE_PERIOD_DAYS - ENDING_DAYS_BEFORE_EXPIRY
    return {
        "gracePeriodId": d.id("grace_period"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "daysRemaining": ENDING_DAYS_BEFORE_EXPIRY,
        "startedAt": d.time(days=-started),
        "expiresAt": d.time(days=ENDING_DAYS_BEFORE_EXPIRY),
    }


def _grace_period_expired(d: _Draw) -> dict[str, Any]:
    name = d.identity()
    return {
        "gracePeriodId": d.id("grace_period"),
        "boxId": d.id("box"),
        "violationId": d.id("violation"),
        "identityName": name,
        "startedAt": d.time(days=-GRACE_PERIOD_DAYS),
        "expiredAt": d.time(),
        "affectedAvatars": [d.avatar(name) for _ in range(d.rng.randint(1, 3))],
    }


def _grace_period_resolved(d: _Draw) -> dict[str, Any]:
    return {
        "gracePeriodId": d.id("grace_period"),
        "boxId": d.id("box"),
        "violationId": d.id("violation"),
        "identityName": d.identity(),
        "resolution": d.rng.choice(RESOLUTIONS),
        "resolvedAt": d.time(),
    }


def _license_requested(d: _Draw) -> dict[str, Any]:
    return {
        "requestId": d.id("license_request"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": d.tier(),
        "useCase": d.rng.choice(_USE_CASES),
        "estimatedUsers": d.rng.randrange(100, 100_000, 100),
        "submittedAt": d.time(),
    }


def _license_approved(d: _Draw) -> dict[str, Any]:
    tier = d.tier()
    return {
        "requestId": d.id("license_request"),
        "licenseId": d.id("license"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": tier,
        "monthlyFee": d.rng.randint(*_MONTHLY_FEE[tier]),
        "currency": "USD",
        "royaltyRate": d.rng.choice(ROYALTY_RATES),
        "validFrom": d.time(),
        "expiresAt": format_timestamp(years_after(d.at)),
        "autoRenew": d.rng.random() < 0.5,
    }


def _license_denied(d: _Draw) -> dict[str, Any]:
    return {
        "requestId": d.id("license_request"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": d.tier(),
        "reason": d.rng.choice(DENIAL_REASONS),
        "deniedAt": d.time(),
    }


def _license_expiring(d: _Draw) -> dict[str, Any]:
    return {
        "licenseId": d.id("license"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": d.tier(),
        "expiresAt": d.time(days=LICENSE_EXPIRING_DAYS),
        "daysRemaining": LICENSE_EXPIRING_DAYS,
        "autoRenew": False,
    }


def _license_expired(d: _Draw) -> dict[str, Any]:
    return {
        "licenseId": d.id("license"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": d.tier(),
        "expiredAt": d.time(),
    }


def _license_revoked(d: _Draw) -> dict[str, Any]:
    return {
        "licenseId": d.id("license"),
        "boxId": d.id("box"),
        "identityName": d.identity(),
        "tier": d.tier(),
        "reason": d.rng.choice(REVOCATION_REASONS),
        "revokedAt": d.time(),
    }


def _detection_match_found(d: _Draw) -> dict[str, Any]:
    name = d.identity()
    policy = d.rng.choice(POLICIES)
    return {
        "scanId": d.id("scan"),
        "boxId": d.id("box"),
        "identityName": name,
        "policy": policy,
        "avatar": d.avatar(name),
        "detection": {
            "confidence": d.confidence(),
            "layer": d.rng.choice(DETECTION_LAYERS),
            "classification": CLASSIFICATIONS[0],
            "parodyLikelihood": round(d.rng.uniform(0.0, 0.3), 2),
        },
        "action": ACTION_FOR_POLICY[policy],
    }


def _detection_scan_complete(d: _Draw) -> dict[str, Any]:
    scanned = d.rng.randint(50, 5000)
    return {
        "scanId": d.id("scan"),
        "boxId": d.id("box"),
        "trigger": d.rng.choice(SCAN_TRIGGERS),
        "startedAt": d.time(minutes=-d.rng.randint(1, 30)),
        "completedAt": d.time(),
        "avatarsScanned": scanned,
        "matchesFound": d.rng.randint(0, min(scanned, 12)),
    }


BUILDERS: Final[Mapping[str, Callable[[_Draw], dict[str, Any]]]] = {
    "box.created": _box_created,
    "box.updated": _box_updated,
    "box.deleted": _box_deleted,
    "violation.detected": _violation_detected,
    "violation.resolved": _violation_resolved,
    "violation.appealed": _violation_appealed,
    "grace_period.started": _grace_period_started,
    "grace_period.reminder": _grace_period_reminder,
    "grace_period.ending": _grace_period_ending,
    "grace_period.expired": _grace_period_expired,
    "grace_period.resolved": _grace_period_resolved,
    "license.requested": _license_requested,
    "license.approved": _license_approved,
    "license.denied": _license_denied,
    "license.expiring": _license_expiring,
    "license.expired": _license_expired,
    "license.revoked": _license_revoked,
    "detection.match_found": _detection_match_found,
    "detection.scan_complete": _detection_scan_complete,
}


def build_data(
    event_type: str,
    rng: random.Random,
    created_at: datetime = EPOCH,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Generated ``data`` for ``event_type`` at ``created_at``, ``overrides`` merged in.

    ``rng`` is the only source of randomness (a Faker instance's ``.random`` works), so the
    same seeded ``rng`` gives the same data.
    """
    data = BUILDERS[check_event_type(event_type)](_Draw(rng, utc(created_at), _names()))
    return deep_merge(data, overrides) if overrides else data


class EventFactory:
    """Builds whole events (id, time, data) reproducibly: the same seed gives the same events.

    Only a seeded ``random.Random`` is kept (names come from Faker's lists, drawn directly), so a
    factory costs microseconds to make and can be made per test. An unknown ``event_type`` is
    allowed through :meth:`build` only with ``allow_unknown=True``, which is how a test sends a
    type the receiver has never heard of.
    """

    def __init__(self, seed: int | None = 0) -> None:
        self.random = random.Random()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        """Start the sequence again from ``seed`` (``None`` means unpredictable)."""
        self.seed = seed
        self.random.seed(seed)

    def new_id(self, kind: str) -> str:
        """A fresh id of ``kind`` (a key of :data:`lmif_mock.ids.PREFIXES`)."""
        return new_id(PREFIXES[kind], self.random)

    def data(
        self,
        event_type: str,
        created_at: datetime = EPOCH,
        overrides: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Generated ``data`` for one event of ``event_type``."""
        return build_data(event_type, self.random, created_at, overrides)

    def build(
        self,
        event_type: str,
        created_at: datetime = EPOCH,
        data: Mapping[str, Any] | None = None,
        *,
        event_id: str | None = None,
        webhook_id: str | None = None,
        allow_unknown: bool = False,
    ) -> Event:
        """A complete event; unknown types (with ``allow_unknown``) carry ``data`` as given."""
        if allow_unknown and event_type not in BUILDERS:
            body = deep_merge({}, data or {})
        else:
            body = self.data(event_type, created_at, data)
        return Event(
            id=event_id or self.new_id("event"),
            type=event_type,
            created_at=created_at,
            data=body,
            webhook_id=webhook_id,
        )
