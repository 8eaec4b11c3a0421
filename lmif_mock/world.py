"""The LMIF world: boxes, avatars, violations, grace periods and licenses that the events tell of.

A receiver does more than read events: on ``box.created`` it may call the API back, and its own
state must follow a violation through its 30-day grace period. :class:`World` keeps a small,
consistent model of the provider's resources; every transition emits the events the provider
would, with data that names the same ids the REST API serves. Time-driven steps (reminders on
days 7, 21 and 28, ``ending`` two days before expiry, ``expired`` at day 30, a license's
``expiring`` and ``expired``) are scheduled on the fake's clock, so on a virtual clock a whole
grace period runs inside one ``clock.advance(days=30)``.

Where the provider's docs are silent, the model follows the documented resources' style; the
README lists what was designed.
"""

from __future__ import annotations

import functools
import math
import random
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lmif_mock.clock import Clock, Timer
from lmif_mock.errors import ConflictError, EncodingError, LMIFMockError, NotFoundError
from lmif_mock.events import check_text
from lmif_mock.payloads import (
    ACTION_FOR_POLICY,
    APPEAL_REASONS,
    DENIAL_REASONS,
    ENDING_DAYS_BEFORE_EXPIRY,
    ENFORCEMENTS,
    ENTITY_TYPES,
    GRACE_PERIOD_DAYS,
    LICENSE_EXPIRING_DAYS,
    LICENSE_TIERS,
    POLICIES,
    REMINDER_DAYS,
    RESOLUTIONS,
    REVENUE_TYPES,
    REVOCATION_REASONS,
)
from lmif_mock.terms import years_after
from lmif_mock.timestamps import format_timestamp

#: The largest user count or estimate a transition accepts (the API's bound too).
MAX_COUNT = 10**9
GUIDELINES_URL = "https://www.lookmaimfamous.com/guidelines/{box_id}"
#: The provider's per-request cap on batch identity checks (Rate Limits page).
MAX_BATCH_CHECKS = 100
VERIFICATION_TIERS = ("GOLD", "SILVER")
MONTHLY_FEES = {"personal": 5, "creator": 50, "commercial": 500, "enterprise": 5000}
TIER_MAX_USERS = {"personal": 100, "creator": 5000, "commercial": 50000, "enterprise": 1000000}
#: The provider's sandbox identities, present in every fresh fake (no events are sent for them).
SANDBOX_IDENTITIES = (
    ("Test Celebrity A", "BLOCK_ALL", "STRICT", "INDIVIDUAL", 0.0),
    ("Test Celebrity B", "MONETIZE", "MODERATE", "INDIVIDUAL", 0.1),
    ("Test Celebrity C", "LICENSE", "MODERATE", "INDIVIDUAL", 0.15),
    ("Test Celebrity D", "OPEN", "MODERATE", "INDIVIDUAL", 0.0),
    ("Test Corporation", "BLOCK_COMMERCIAL", "MODERATE", "CORPORATION", 0.0),
)


class WorldError(LMIFMockError, ValueError):
    """A transition that makes no sense in the current state or with these values."""


def _ts(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment is not None else None


@dataclass
class Claim:
    """A verified identity (the provider's claim)."""

    id: str
    name: str
    entity_type: str
    variations: list[str]
    created_at: datetime
    verification_tier: str | None = "GOLD"
    status: str = "verified"
    box_id: str | None = None
    #: When verification completed; ``None`` while pending (claims made with a box are verified).
    verified_at: datetime | None = None
    #: ``{"id": "img_…", "url", "isPrimary"}`` as the claim detail shows them.
    reference_images: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status == "verified" and self.verified_at is None:
            self.verified_at = self.created_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "variations": self.variations,
            "entityType": self.entity_type,
            "status": self.status,
            "verificationTier": self.verification_tier,
            "createdAt": _ts(self.created_at),
            "verifiedAt": _ts(self.verified_at),
            "hasBox": self.box_id is not None,
            "boxId": self.box_id,
        }


@dataclass
class Box:
    """A protection policy on a claimed identity."""

    id: str
    claim: Claim
    policy: str
    enforcement: str
    royalty_rate: float
    revenue_types: list[str]
    created_at: datetime
    updated_at: datetime
    status: str = "active"
    minimum_payout: int = 100
    nsfw: bool = False

    @property
    def identity_name(self) -> str:
        return self.claim.name


@dataclass
class Avatar:
    """One of the platform's avatars, as LMIF knows it."""

    id: str
    name: str
    creator_id: str
    creator_name: str
    creator_email: str
    user_count: int
    created_at: datetime
    status: str = "active"

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "creatorId": self.creator_id}


@dataclass
class GracePeriod:
    """The 30-day window a platform has to resolve a violation."""

    id: str
    box: Box
    violation_id: str
    avatars: list[Avatar]
    started_at: datetime
    expires_at: datetime
    status: str = "active"
    notifications: dict[str, datetime | None] = field(default_factory=dict)
    paused_at: datetime | None = None
    resolution: str | None = None
    timers: list[Timer] = field(default_factory=list, repr=False)

    def days_remaining(self, now: datetime) -> int:
        return max(0, math.floor((self.expires_at - now).total_seconds() / 86400))


@dataclass
class Violation:
    """A platform avatar found matching a boxed identity."""

    id: str
    box: Box
    avatar: Avatar
    detected_at: datetime
    confidence: float
    severity: str
    layer: int = 1
    parody_likelihood: float = 0.02
    status: str = "pending"
    grace_period: GracePeriod | None = None
    resolution: str | None = None
    appeal_reason: str | None = None


@dataclass
class License:
    """Permission to use a boxed identity on the platform."""

    id: str
    box: Box
    tier: str
    monthly_fee: int
    royalty_rate: float
    valid_from: datetime
    expires_at: datetime
    auto_renew: bool
    status: str = "active"
    timers: list[Timer] = field(default_factory=list, repr=False)
    #: Set when the platform cancels (``DELETE /licenses/{id}``): no renewal, ends at expiresAt.
    cancelled_at: datetime | None = None
    #: Usage reported with ``POST /licenses/{id}/usage``, by period ("2024-01").
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class LicenseRequest:
    """A platform's application for a license (``req_``)."""

    id: str
    box: Box
    tier: str
    use_case: str
    estimated_users: int | None
    submitted_at: datetime
    message: str | None = None
    status: str = "pending"
    license: License | None = None
    reason: str | None = None


Publish = Callable[[str, dict[str, Any]], object]


class World:
    """The provider's resources inside one fake, and the transitions that emit their events.

    The world is a publisher: a transition changes state and records ``(type, data)`` in an
    outbox while holding the world's lock, and the outbox is handed to ``publish`` only after the
    lock is released. A receiver that calls the API back while an event is being delivered (say,
    requests a license on ``box.created``) therefore never waits for the world: its transition
    runs at once and its events go out, in order, right after the delivery in progress.

    ``clock`` schedules the time-driven steps, ``new_id(kind)`` names resources, ``rng`` draws
    the little randomness the world needs; none of it refers to the fake, so a world can be
    tested with a list's ``append`` as its publisher.
    """

    def __init__(
        self,
        clock: Clock,
        new_id: Callable[[str], str],
        rng: random.Random,
        publish: Publish,
    ) -> None:
        self.clock = clock
        self.new_id = new_id
        self.rng = rng
        self._publish = publish
        self._lock = threading.RLock()
        self._outbox: deque[tuple[str, dict[str, Any]]] = deque()
        self._publishing = threading.Lock()
        self._depth = 0
        self.reset()

    # -- bookkeeping ----------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything but the sandbox identities (timers go with the clock's reset)."""
        with self._lock:
            self._outbox.clear()
            self.claims: dict[str, Claim] = {}
            self.boxes: dict[str, Box] = {}
            self.avatars: dict[str, Avatar] = {}
            self.violations: dict[str, Violation] = {}
            self.grace_periods: dict[str, GracePeriod] = {}
            self.licenses: dict[str, License] = {}
            self.requests: dict[str, LicenseRequest] = {}
            for name, policy, enforcement, entity_type, rate in SANDBOX_IDENTITIES:
                self._new_box(name, policy, enforcement, entity_type, rate, emit=False)

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def _id(self, kind: str) -> str:
        return self.new_id(kind)

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        """Record an event for the outbox; only legal while the world's lock is held."""
        self._outbox.append((event_type, data))

    @contextmanager
    def _transition(self) -> Iterator[None]:
        """Hold the lock while state changes; publish what was recorded once it is released."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                outermost = self._depth == 0
        if outermost:
            self.flush()

    def flush(self) -> None:
        """Publish the outbox, oldest first, unless another thread is already doing so.

        That thread drains what is queued after its current event, so events leave in the
        order the transitions happened and a call made from inside a delivery never waits on it.
        """
        failure: Exception | None = None
        while self._outbox:
            if not self._publishing.acquire(blocking=False):
                break
            try:
                while True:
                    with self._lock:
                        if not self._outbox:
                            break
                        event_type, data = self._outbox.popleft()
                    try:
                        self._publish(event_type, data)
                    except Exception as exc:  # the rest still go out; the caller hears of it
                        failure = failure or exc
            finally:
                self._publishing.release()
        if failure is not None:
            raise failure

    def _find(self, table: dict[str, Any], ident: str, kind: str) -> Any:
        found = table.get(ident) if isinstance(ident, str) else None
        if found is None:
            raise NotFoundError(f"no {kind} {ident!r}")
        return found

    def box(self, box_id: str) -> Box:
        """The box with ``box_id`` (deleted boxes stay readable)."""
        return self._find(self.boxes, box_id, "box")  # type: ignore[no-any-return]

    def box_named(self, name: str) -> Box:
        """The active box protecting ``name`` (case-insensitive, variations included)."""
        wanted = name.strip().casefold()
        for box in self.boxes.values():
            names = [box.claim.name, *box.claim.variations]
            if box.status == "active" and any(n.casefold() == wanted for n in names):
                return box
        raise NotFoundError(f"no box protects {name!r}")

    # -- boxes ----------------------------------------------------------------------------------

    def _new_box(
        self,
        name: str,
        policy: str,
        enforcement: str,
        entity_type: str,
        royalty_rate: float,
        *,
        emit: bool,
        revenue_types: list[str] | None = None,
    ) -> Box:
        now = self.now
        claim = Claim(self._id("claim"), name, entity_type, _variations(name), now)
        box = Box(
            self._id("box"), claim, policy, enforcement, royalty_rate,
            list(revenue_types or REVENUE_TYPES), now, now,
        )  # fmt: skip
        claim.box_id = box.id
        self.claims[claim.id] = claim
        self.boxes[box.id] = box
        if emit:
            self._emit(
                "box.created",
                {
                    "boxId": box.id,
                    "claimId": claim.id,
                    "identityName": name,
                    "entityType": entity_type,
                    "policy": policy,
                    "enforcement": enforcement,
                    "policyConfig": {
                        "royaltyRate": royalty_rate,
                        "revenueTypes": box.revenue_types,
                    },
                },
            )
        return box

    def box_identity(
        self,
        name: str,
        *,
        policy: str = "MONETIZE",
        enforcement: str = "MODERATE",
        entity_type: str = "INDIVIDUAL",
        royalty_rate: float = 0.1,
        revenue_types: list[str] | None = None,
    ) -> Box:
        """A creator boxes an identity: a claim and a box appear, ``box.created`` is sent."""
        _choice("policy", policy, POLICIES)
        _choice("enforcement", enforcement, ENFORCEMENTS)
        _choice("entityType", entity_type, ENTITY_TYPES)
        _fraction("royaltyRate", royalty_rate)
        _text("identity name", name)
        if revenue_types is not None and not isinstance(revenue_types, (list, tuple)):
            raise WorldError(f"revenueTypes must be a list of {list(REVENUE_TYPES)}")
        for kind in revenue_types or []:
            _choice("revenueTypes", kind, REVENUE_TYPES)
        with self._transition():
            try:
                self.box_named(name)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"{name!r} is already boxed")
            return self._new_box(
                name, policy, enforcement, entity_type, royalty_rate, emit=True,
                revenue_types=revenue_types,
            )  # fmt: skip

    def update_box(
        self, box_id: str, *, policy: str | None = None, enforcement: str | None = None
    ) -> Box:
        """Change a box's policy or enforcement; ``box.updated`` lists only what changed."""
        with self._transition():
            box = self._active_box(box_id)
            changes: dict[str, Any] = {}
            if policy is not None and policy != box.policy:
                _choice("policy", policy, POLICIES)
                changes["policy"] = {"from": box.policy, "to": policy}
                box.policy = policy
            if enforcement is not None and enforcement != box.enforcement:
                _choice("enforcement", enforcement, ENFORCEMENTS)
                changes["enforcement"] = {"from": box.enforcement, "to": enforcement}
                box.enforcement = enforcement
            if not changes:
                return box  # nothing changed, nothing to tell
            box.updated_at = self.now
            self._emit("box.updated", {"boxId": box.id, "changes": changes})
            return box

    def delete_box(self, box_id: str) -> Box:
        """Remove a box: the identity is no longer protected (licenses stay valid)."""
        with self._transition():
            box = self._active_box(box_id)
            box.status = "deleted"
            box.updated_at = self.now
            box.claim.box_id = None
            self._emit(
                "box.deleted",
                {"boxId": box.id, "claimId": box.claim.id, "identityName": box.identity_name},
            )
            return box

    def _active_box(self, box_id: str) -> Box:
        box = self.box(box_id)
        if box.status != "active":
            raise ConflictError(f"box {box_id} was deleted")
        return box

    # -- avatars, detection, violations -----------------------------------------------------------

    def add_avatar(
        self, name: str, *, creator_id: str | None = None, user_count: int = 1000
    ) -> Avatar:
        """An avatar on the platform (what scans look at and violations name)."""
        _text("avatar name", name)
        if creator_id is not None:
            _text("creatorId", creator_id)
        _count("userCount", user_count)
        rng = self.rng
        creator = f"{name.split()[0]} Creator"
        avatar = Avatar(
            self._id("avatar"), name, creator_id or self._id("creator"), creator,
            f"creator{rng.randrange(10_000)}@example.com", user_count, self.now,
        )  # fmt: skip
        with self._transition():
            self.avatars[avatar.id] = avatar
        return avatar

    def _matches(self, box: Box) -> list[Avatar]:
        names = [n.casefold() for n in (box.identity_name, *box.claim.variations)]
        first = box.identity_name.split()[0].casefold()
        return [
            a
            for a in self.avatars.values()
            if a.status == "active"
            and (any(n in a.name.casefold() for n in names) or first in a.name.casefold().split())
        ]

    def scan(self, box_id: str, *, trigger: str = "manual") -> list[Avatar]:
        """Scan the platform's avatars for one box: ``detection.match_found`` per match, then
        ``detection.scan_complete``. Matching is by name (the identity or its variations)."""
        with self._transition():
            box = self._active_box(box_id)
            started = self.now
            scan_id = self._id("scan")
            matches = self._matches(box)
            for avatar in matches:
                self._emit(
                    "detection.match_found",
                    {
                        "scanId": scan_id,
                        "boxId": box.id,
                        "identityName": box.identity_name,
                        "policy": box.policy,
                        "avatar": avatar.brief(),
                        "detection": {
                            "confidence": 0.95,
                            "layer": 1,
                            "classification": "EXACT_MATCH",
                            "parodyLikelihood": 0.02,
                        },
                        "action": ACTION_FOR_POLICY[box.policy],
                    },
                )
            self._emit(
                "detection.scan_complete",
                {
                    "scanId": scan_id,
                    "boxId": box.id,
                    "trigger": trigger,
                    "startedAt": _ts(started),
                    "completedAt": _ts(self.now),
                    "avatarsScanned": len(self.avatars),
                    "matchesFound": len(matches),
                },
            )
            return matches

    def detect_violation(
        self, box_id: str, avatar_id: str | None = None, *, confidence: float = 0.95
    ) -> Violation:
        """LMIF finds an avatar matching a boxed identity: ``violation.detected`` and
        ``grace_period.started``; reminders, ``ending`` and ``expired`` are scheduled."""
        _fraction("confidence", confidence)
        with self._transition():
            box = self._active_box(box_id)
            if avatar_id is None:
                avatar = self.add_avatar(f"{box.identity_name.split()[0]} AI")
            else:
                avatar = self._find(self.avatars, avatar_id, "avatar")
            now = self.now
            severity = (
                "critical"
                if box.policy == "BLOCK_ALL"
                else "high"
                if confidence >= 0.9
                else "medium"
            )
            violation = Violation(self._id("violation"), box, avatar, now, confidence, severity)
            period = GracePeriod(
                self._id("grace_period"), box, violation.id, [avatar], now,
                now + timedelta(days=GRACE_PERIOD_DAYS), notifications={"day0": now},
            )  # fmt: skip
            violation.grace_period = period
            self.violations[violation.id] = violation
            self.grace_periods[period.id] = period
            self._emit(
                "violation.detected",
                {
                    "violationId": violation.id,
                    "boxId": box.id,
                    "identityName": box.identity_name,
                    "policy": box.policy,
                    "avatar": avatar.brief(),
                    "detection": {"confidence": confidence, "classification": "EXACT_MATCH"},
                    "gracePeriod": {"id": period.id, "expiresAt": _ts(period.expires_at)},
                },
            )
            self._emit(
                "grace_period.started",
                {
                    "gracePeriodId": period.id,
                    "boxId": box.id,
                    "violationId": violation.id,
                    "identityName": box.identity_name,
                    "policy": box.policy,
                    "startedAt": _ts(period.started_at),
                    "expiresAt": _ts(period.expires_at),
                    "affectedAvatars": [a.brief() for a in period.avatars],
                },
            )
            self._schedule_grace_period(period)
            return violation

    def _schedule_grace_period(self, period: GracePeriod) -> None:
        """Timers for what is still ahead of the period (all of it, or the rest after a pause)."""
        for timer in period.timers:
            timer.cancel()
        period.timers = []
        now = self.now
        for day in REMINDER_DAYS:
            when = period.expires_at - timedelta(days=GRACE_PERIOD_DAYS - day)
            if when > now:
                remind = functools.partial(self._remind, period, day)
                period.timers.append(self.clock.call_at(when, remind))
        ending = period.expires_at - timedelta(days=ENDING_DAYS_BEFORE_EXPIRY)
        if ending > now:
            period.timers.append(self.clock.call_at(ending, lambda: self._ending(period)))
        period.timers.append(self.clock.call_at(period.expires_at, lambda: self._expire(period)))

    def _remind(self, period: GracePeriod, day: int) -> None:
        with self._transition():
            if period.status != "active":
                return
            period.notifications[f"day{day}"] = self.now
            self._emit(
                "grace_period.reminder",
                {
                    "gracePeriodId": period.id,
                    "boxId": period.box.id,
                    "identityName": period.box.identity_name,
                    "day": day,
                    "daysRemaining": GRACE_PERIOD_DAYS - day,
                    "startedAt": _ts(period.started_at),
                    "expiresAt": _ts(period.expires_at),
                },
            )

    def _ending(self, period: GracePeriod) -> None:
        with self._transition():
            if period.status != "active":
                return
            self._emit(
                "grace_period.ending",
                {
                    "gracePeriodId": period.id,
                    "boxId": period.box.id,
                    "identityName": period.box.identity_name,
                    "daysRemaining": ENDING_DAYS_BEFORE_EXPIRY,
                    "startedAt": _ts(period.started_at),
                    "expiresAt": _ts(period.expires_at),
                },
            )

    def _expire(self, period: GracePeriod) -> None:
        with self._transition():
            if period.status != "active":
                return
            period.status = "expired"
            violation = self.violations[period.violation_id]
            violation.status = "enforced"
            for avatar in period.avatars:
                avatar.status = "deactivated"
            self._emit(
                "grace_period.expired",
                {
                    "gracePeriodId": period.id,
                    "boxId": period.box.id,
                    "violationId": period.violation_id,
                    "identityName": period.box.identity_name,
                    "startedAt": _ts(period.started_at),
                    "expiredAt": _ts(self.now),
                    "affectedAvatars": [a.brief() for a in period.avatars],
                },
            )

    def resolve_violation(self, violation_id: str, resolution: str = "avatar_removed") -> Violation:
        """The platform resolves a violation (license, removal, modification, parody approval):
        ``violation.resolved`` and, for its open grace period, ``grace_period.resolved``."""
        _choice("resolution", resolution, (*RESOLUTIONS, "dismissed"))
        with self._transition():
            violation = self._find(self.violations, violation_id, "violation")
            if violation.status in ("resolved", "dismissed", "enforced"):
                raise ConflictError(f"violation {violation_id} is already {violation.status}")
            self._close(violation, resolution)
            return violation  # type: ignore[no-any-return]

    def _close(self, violation: Violation, resolution: str) -> None:
        now = self.now
        violation.status = "dismissed" if resolution == "dismissed" else "resolved"
        violation.resolution = resolution
        if resolution == "avatar_removed":
            violation.avatar.status = "removed"
        self._emit(
            "violation.resolved",
            {
                "violationId": violation.id,
                "resolution": resolution,
                "boxId": violation.box.id,
                "identityName": violation.box.identity_name,
                "resolvedAt": _ts(now),
            },
        )
        period = violation.grace_period
        if period is not None and period.status in ("active", "paused"):
            period.status = "resolved"
            period.resolution = resolution if resolution != "dismissed" else "parody_approved"
            for timer in period.timers:
                timer.cancel()
            self._emit(
                "grace_period.resolved",
                {
                    "gracePeriodId": period.id,
                    "boxId": period.box.id,
                    "violationId": violation.id,
                    "identityName": period.box.identity_name,
                    "resolution": period.resolution,
                    "resolvedAt": _ts(now),
                },
            )

    def appeal(self, violation_id: str, reason: str = "parody") -> Violation:
        """The platform appeals: ``violation.appealed``; the grace period pauses."""
        _choice("reason", reason, APPEAL_REASONS)
        with self._transition():
            violation: Violation = self._find(self.violations, violation_id, "violation")
            if violation.status != "pending":
                raise ConflictError(
                    f"only a pending violation can be appealed ({violation.status})"
                )
            violation.status = "appealed"
            violation.appeal_reason = reason
            period = violation.grace_period
            assert period is not None
            period.status = "paused"
            period.paused_at = self.now
            for timer in period.timers:
                timer.cancel()
            self._emit(
                "violation.appealed",
                {
                    "violationId": violation.id,
                    "boxId": violation.box.id,
                    "identityName": violation.box.identity_name,
                    "avatar": violation.avatar.brief(),
                    "appeal": {"reason": reason, "submittedAt": _ts(self.now)},
                    "gracePeriod": {"id": period.id, "status": "paused"},
                },
            )
            return violation

    def decide_appeal(self, violation_id: str, *, upheld: bool) -> Violation:
        """LMIF decides an appeal. Upheld: the violation is dismissed (``violation.resolved``,
        ``grace_period.resolved``). Rejected: the grace period resumes with the time it had left."""
        with self._transition():
            violation: Violation = self._find(self.violations, violation_id, "violation")
            if violation.status != "appealed":
                raise ConflictError(f"violation {violation_id} has no open appeal")
            if upheld:
                self._close(violation, "dismissed")
                return violation
            period = violation.grace_period
            assert period is not None
            assert period.paused_at is not None
            period.expires_at += self.now - period.paused_at
            period.paused_at = None
            period.status = "active"
            violation.status = "pending"
            self._schedule_grace_period(period)
            return violation

    # -- licenses -------------------------------------------------------------------------------

    def request_license(
        self,
        box_id: str,
        *,
        tier: str = "creator",
        use_case: str = "AI companion chat",
        estimated_users: int | None = None,
        message: str | None = None,
    ) -> LicenseRequest:
        """The platform applies for a license: ``license.requested``. As the Licensing page says,
        only LICENSE (explicit approval: waits for :meth:`approve_license` or
        :meth:`deny_license`) and MONETIZE (approved at once, revenue share) boxes are licensable;
        a request for any other policy is denied at once (``use_case_not_permitted``)."""
        _choice("tier", tier, LICENSE_TIERS)
        _text("useCase", use_case, max_length=2000)
        if message is not None:
            _text("message", message, max_length=2000)
        if estimated_users is not None:
            _count("estimatedUsers", estimated_users)
        with self._transition():
            box = self._active_box(box_id)
            request = LicenseRequest(
                self._id("license_request"), box, tier, use_case, estimated_users, self.now, message
            )
            self.requests[request.id] = request
            self._emit(
                "license.requested",
                {
                    "requestId": request.id,
                    "boxId": box.id,
                    "identityName": box.identity_name,
                    "tier": tier,
                    "useCase": use_case,
                    "estimatedUsers": estimated_users or 0,
                    "submittedAt": _ts(request.submitted_at),
                },
            )
            if box.policy == "MONETIZE":
                self.approve_license(request.id)
            elif box.policy != "LICENSE":
                self.deny_license(request.id, "use_case_not_permitted")
            return request

    def approve_license(self, request_id: str, *, auto_renew: bool = False) -> License:
        """Approve a pending request: a license becomes active (``license.approved``); open
        violations of the same box are resolved as licensed; ``expiring`` and ``expired`` (or a
        renewal) are scheduled."""
        with self._transition():
            request: LicenseRequest = self._find(self.requests, request_id, "license request")
            if request.status != "pending":
                raise ConflictError(f"license request {request_id} is already {request.status}")
            now = self.now
            box = request.box
            license_ = License(
                self._id("license"), box, request.tier, MONTHLY_FEES[request.tier],
                box.royalty_rate, now, years_after(now), auto_renew,
            )  # fmt: skip
            request.status = "approved"
            request.license = license_
            self.licenses[license_.id] = license_
            self._emit(
                "license.approved",
                {
                    "requestId": request.id,
                    "licenseId": license_.id,
                    "boxId": box.id,
                    "identityName": box.identity_name,
                    "tier": license_.tier,
                    "monthlyFee": license_.monthly_fee,
                    "currency": "USD",
                    "royaltyRate": license_.royalty_rate,
                    "validFrom": _ts(license_.valid_from),
                    "expiresAt": _ts(license_.expires_at),
                    "autoRenew": auto_renew,
                },
            )
            for violation in list(self.violations.values()):
                if violation.box is box and violation.status in ("pending", "appealed"):
                    self._close(violation, "licensed")
            self._schedule_license(license_)
            return license_

    def deny_license(self, request_id: str, reason: str = "content_guidelines") -> LicenseRequest:
        """Deny a pending request: ``license.denied``."""
        _choice("reason", reason, DENIAL_REASONS)
        with self._transition():
            request: LicenseRequest = self._find(self.requests, request_id, "license request")
            if request.status != "pending":
                raise ConflictError(f"license request {request_id} is already {request.status}")
            request.status = "denied"
            request.reason = reason
            self._emit(
                "license.denied",
                {
                    "requestId": request.id,
                    "boxId": request.box.id,
                    "identityName": request.box.identity_name,
                    "tier": request.tier,
                    "reason": reason,
                    "deniedAt": _ts(self.now),
                },
            )
            return request

    def _schedule_license(self, license_: License) -> None:
        for timer in license_.timers:
            timer.cancel()
        clock = self.clock
        warn_at = license_.expires_at - timedelta(days=LICENSE_EXPIRING_DAYS)
        license_.timers = [
            clock.call_at(warn_at, functools.partial(self._license_expiring, license_)),
            clock.call_at(license_.expires_at, functools.partial(self._license_expired, license_)),
        ]

    def _license_payload(self, license_: License) -> dict[str, Any]:
        return {
            "licenseId": license_.id,
            "boxId": license_.box.id,
            "identityName": license_.box.identity_name,
            "tier": license_.tier,
        }

    def _license_expiring(self, license_: License) -> None:
        with self._transition():
            if license_.status != "active":
                return
            self._emit(
                "license.expiring",
                {
                    **self._license_payload(license_),
                    "expiresAt": _ts(license_.expires_at),
                    "daysRemaining": LICENSE_EXPIRING_DAYS,
                    "autoRenew": license_.auto_renew,
                },
            )

    def _license_expired(self, license_: License) -> None:
        with self._transition():
            if license_.status != "active":
                return
            if license_.auto_renew:
                license_.expires_at = years_after(license_.expires_at)
                self._schedule_license(license_)
                return
            license_.status = "expired"
            self._emit(
                "license.expired", {**self._license_payload(license_), "expiredAt": _ts(self.now)}
            )

    def revoke_license(self, license_id: str, reason: str = "terms_violation") -> License:
        """Revoke an active license: ``license.revoked``."""
        _choice("reason", reason, REVOCATION_REASONS)
        with self._transition():
            license_: License = self._find(self.licenses, license_id, "license")
            if license_.status != "active":
                raise ConflictError(f"license {license_id} is {license_.status}, not active")
            license_.status = "revoked"
            for timer in license_.timers:
                timer.cancel()
            self._emit(
                "license.revoked",
                {**self._license_payload(license_), "reason": reason, "revokedAt": _ts(self.now)},
            )
            return license_

    # -- identity check ------------------------------------------------------------------------

    def identity_check(self, name: str) -> dict[str, Any]:
        """What ``POST /identity/check`` answers for ``name`` (matched by name and variations)."""
        try:
            box = self.box_named(name)
        except NotFoundError:
            claim = next(
                (
                    c
                    for c in self.claims.values()
                    if c.status == "verified" and c.name.casefold() == name.casefold()
                ),
                None,
            )
            return {
                "isBoxed": False,
                "isClaimed": claim is not None,
                "confidence": 0.0 if claim is None else 0.99,
                "matchedIdentity": None,
                "policy": None,
                "policyDetails": None,
                "detection": {"layer": 1, "classification": None, "parodyLikelihood": 0.0},
                "action": "ALLOW",
            }
        exact = box.identity_name.casefold() == name.strip().casefold()
        return {
            "isBoxed": True,
            "isClaimed": True,
            "confidence": 0.99 if exact else 0.9,
            "matchedIdentity": {
                "claimId": box.claim.id,
                "boxId": box.id,
                "name": box.identity_name,
                "variations": box.claim.variations,
                "entityType": box.claim.entity_type,
                "verificationTier": box.claim.verification_tier,
            },
            "policy": box.policy,
            "policyDetails": {
                "royaltyRate": box.royalty_rate,
                "revenueTypes": box.revenue_types,
                "contentGuidelines": GUIDELINES_URL.format(box_id=box.id),
            },
            "detection": {
                "layer": 1 if exact else 2,
                "classification": "EXACT_MATCH",
                "parodyLikelihood": 0.02,
            },
            "action": ACTION_FOR_POLICY[box.policy],
        }

    # -- the documented REST calls the first model lacked (issue 16) ---------------------------
    # Claims made through the API start pending; boxes are made on a verified claim; licenses are
    # renewed, cancelled (no renewal, they end at expiresAt) and have usage reported. No event is
    # sent for any of these: the catalogue's 19 types have none for them.

    def create_claim(
        self,
        name: str,
        *,
        variations: list[str] | None = None,
        entity_type: str = "INDIVIDUAL",
        reference_images: list[dict[str, Any]] | None = None,
    ) -> Claim:
        """A claim as ``POST /claims`` makes it: ``pending`` until :meth:`verify_claim`."""
        if not name.strip():
            raise WorldError("name must not be empty")
        _choice("entityType", entity_type, ENTITY_TYPES)
        with self._transition():
            claim = Claim(
                self._id("claim"), name.strip(), entity_type, list(variations or []), self.now,
                verification_tier=None, status="pending",
            )  # fmt: skip
            claim.reference_images = self._images(reference_images or [])
            self.claims[claim.id] = claim
            return claim

    def _images(self, images: list[dict[str, Any]]) -> list[dict[str, Any]]:
        shown = [
            {"id": self._id("image"), "url": str(i["url"]), "isPrimary": bool(i.get("isPrimary"))}
            for i in images
        ]
        if shown and not any(i["isPrimary"] for i in shown):
            shown[0]["isPrimary"] = True  # designed: the first image is primary unless one is
        return shown

    def claim(self, claim_id: str) -> Claim:
        """The claim with ``claim_id``."""
        return self._find(self.claims, claim_id, "claim")  # type: ignore[no-any-return]

    def verify_claim(self, claim_id: str, *, tier: str = "GOLD") -> Claim:
        """LMIF finishes verifying a pending claim: ``verified``, with a verification tier."""
        _choice("verificationTier", tier, VERIFICATION_TIERS)
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "pending":
                raise ConflictError(f"claim {claim_id} is {claim.status}, not pending")
            claim.status = "verified"
            claim.verification_tier = tier
            claim.verified_at = self.now
            return claim

    def reject_claim(self, claim_id: str) -> Claim:
        """LMIF turns a pending claim down: ``rejected`` (it can never be boxed)."""
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "pending":
                raise ConflictError(f"claim {claim_id} is {claim.status}, not pending")
            claim.status = "rejected"
            return claim

    def update_claim(
        self,
        claim_id: str,
        *,
        name: str | None = None,
        variations: list[str] | None = None,
        reference_images: list[dict[str, Any]] | None = None,
    ) -> Claim:
        """Change a claim. The name can change only while pending (what was verified stays)."""
        with self._transition():
            claim = self.claim(claim_id)
            if name is not None and name.strip() != claim.name:
                if not name.strip():
                    raise WorldError("name must not be empty")
                if claim.status != "pending":
                    raise ConflictError(f"claim {claim_id} is {claim.status}: its name is fixed")
                claim.name = name.strip()
            if variations is not None:
                claim.variations = list(variations)
            if reference_images is not None:
                claim.reference_images = self._images(reference_images)
            return claim

    def delete_claim(self, claim_id: str) -> Claim:
        """Withdraw a claim; refused while an active box stands on it."""
        with self._transition():
            claim = self.claim(claim_id)
            if claim.box_id is not None:
                raise ConflictError(
                    f"claim {claim_id} has box {claim.box_id}; delete the box first"
                )
            del self.claims[claim_id]
            return claim

    def create_box(
        self,
        claim_id: str,
        *,
        policy: str,
        enforcement: str = "MODERATE",
        royalty_rate: float = 0.1,
        revenue_types: list[str] | None = None,
        minimum_payout: int = 100,
        nsfw: bool = False,
    ) -> Box:
        """Box a verified claim (``POST /boxes``): ``box.created``."""
        _choice("policy", policy, POLICIES)
        _choice("enforcement", enforcement, ENFORCEMENTS)
        if not 0 <= royalty_rate <= 1:
            raise WorldError("royaltyRate must be between 0 and 1")
        for kind in revenue_types or []:
            _choice("revenueTypes", kind, REVENUE_TYPES)
        with self._transition():
            claim = self.claim(claim_id)
            if claim.status != "verified":
                raise ConflictError(f"claim {claim_id} is {claim.status}; only a verified claim")
            if claim.box_id is not None:
                raise ConflictError(f"claim {claim_id} is already boxed ({claim.box_id})")
            try:
                taken = self.box_named(claim.name)
            except NotFoundError:
                pass
            else:
                raise ConflictError(f"{claim.name!r} is already boxed ({taken.id})")
            now = self.now
            box = Box(
                self._id("box"), claim, policy, enforcement, royalty_rate,
                list(revenue_types or REVENUE_TYPES), now, now,
                minimum_payout=minimum_payout, nsfw=nsfw,
            )  # fmt: skip
            claim.box_id = box.id
            self.boxes[box.id] = box
            self._emit(
                "box.created",
                {
                    "boxId": box.id,
                    "claimId": claim.id,
                    "identityName": claim.name,
                    "entityType": claim.entity_type,
                    "policy": policy,
                    "enforcement": enforcement,
                    "policyConfig": {
                        "royaltyRate": royalty_rate,
                        "revenueTypes": box.revenue_types,
                    },
                },
            )
            return box

    def license(self, license_id: str) -> License:
        """The license with ``license_id``."""
        return self._find(self.licenses, license_id, "license")  # type: ignore[no-any-return]

    def license_request(self, request_id: str) -> LicenseRequest:
        """A license request by id (the SDK's ``licenses.getStatus``)."""
        return self._find(self.requests, request_id, "license request")  # type: ignore[no-any-return]

    def renew_license(self, license_id: str) -> License:
        """Renew for another calendar year: an active license from its current end, an expired
        one from now. A cancellation is undone. Revoked licenses cannot be renewed."""
        with self._transition():
            license_ = self.license(license_id)
            if license_.status not in ("active", "expired"):
                raise ConflictError(f"license {license_id} is {license_.status}")
            if license_.status == "expired":
                license_.valid_from = self.now
                license_.expires_at = years_after(self.now)
                license_.status = "active"
            else:
                license_.expires_at = years_after(license_.expires_at)
            license_.cancelled_at = None
            self._schedule_license(license_)
            return license_

    def cancel_license(self, license_id: str) -> License:
        """The platform cancels (``DELETE /licenses/{id}``): it will not renew and ends at
        ``expiresAt`` with ``license.expired``. Not a revocation: see :meth:`revoke_license`."""
        with self._transition():
            license_ = self.license(license_id)
            if license_.status != "active":
                raise ConflictError(f"license {license_id} is {license_.status}, not active")
            if license_.cancelled_at is not None:
                raise ConflictError(f"license {license_id} is already cancelled")
            license_.cancelled_at = self.now
            license_.auto_renew = False
            return license_

    def report_usage(
        self,
        license_id: str,
        *,
        period: str | None = None,
        subscribers: int = 0,
        messages: int = 0,
        revenue: float = 0,
    ) -> dict[str, Any]:
        """Report a period's usage of an active license; the royalty due follows from its rate.
        A second report for the same period replaces the first."""
        chosen = period or self.now.strftime("%Y-%m")
        if not re.fullmatch(r"[0-9]{4}-(0[1-9]|1[0-2])", chosen):
            raise WorldError("period must be a month, YYYY-MM")
        if chosen > self.now.strftime("%Y-%m"):
            raise WorldError("period must not be in the future")
        if min(subscribers, messages, revenue) < 0:
            raise WorldError("usage figures must not be negative")
        with self._transition():
            license_ = self.license(license_id)
            if license_.status != "active":
                raise ConflictError(f"license {license_id} is {license_.status}, not active")
            report = {
                "licenseId": license_.id,
                "period": chosen,
                "subscribers": subscribers,
                "messages": messages,
                "revenue": revenue,
                "royaltyDue": round(revenue * license_.royalty_rate, 2),
                "reportedAt": _ts(self.now),
            }
            license_.usage[chosen] = report
            return report

    def check_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``identity.checkBatch``: each ``{id, name, imageUrl}`` checked, answered with its id."""
        if len(items) > MAX_BATCH_CHECKS:
            raise WorldError(f"at most {MAX_BATCH_CHECKS} identities per batch")
        return [{"id": item["id"], **self.identity_check(str(item["name"]))} for item in items]

    def remove_sandbox_identities(self) -> None:
        """Take the sandbox's test identities away (the live environment has none)."""
        names = {entry[0] for entry in SANDBOX_IDENTITIES}
        with self._transition():
            for box in [b for b in self.boxes.values() if b.identity_name in names]:
                del self.boxes[box.id]
                self.claims.pop(box.claim.id, None)


def _text(name: str, value: object, max_length: int = 200) -> None:
    """Free text a transition keeps and sends: a non-empty, sendable string of sane length."""
    if not isinstance(value, str) or not value.strip():
        raise WorldError(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise WorldError(f"{name} must be at most {max_length} characters")
    try:
        check_text(value, name)
    except EncodingError as exc:
        raise WorldError(str(exc)) from None


def _fraction(name: str, value: object) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise WorldError(f"{name} must be a number between 0 and 1")


def _count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise WorldError(f"{name} must be a whole number between 0 and {MAX_COUNT}")


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise WorldError(f"{name} must be one of {list(allowed)}, not {value!r}")


def _variations(name: str) -> list[str]:
    parts = name.split()
    if len(parts) >= 2 and not name.startswith(("Test ", "Estate of")):
        return [f"{parts[0][0]}. {parts[-1]}", parts[-1]]
    return []
