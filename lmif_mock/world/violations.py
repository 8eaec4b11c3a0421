"""Violations and their 30-day grace periods: detection, reminders on days 7, 21 and 28,
``ending`` two days before expiry, expiry, resolution and appeal, each on the clock.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from lmif_mock.errors import ConflictError
from lmif_mock.event_shapes import APPEAL_REASONS, REMINDER_DAYS, VIOLATION_RESOLUTIONS
from lmif_mock.payloads import ENDING_DAYS_BEFORE_EXPIRY, GRACE_PERIOD_DAYS
from lmif_mock.world.detection import Detection
from lmif_mock.world.resources import GracePeriod, Violation, timestamp
from lmif_mock.world.rules import choice, fraction


class ViolationsAndGracePeriods(Detection):
    """The violation and grace period transitions."""

    def detect_violation(
        self, box_id: str, avatar_id: str | None = None, *, confidence: float = 0.95
    ) -> Violation:
        """LMIF finds an avatar matching a boxed identity: ``violation.detected`` and
        ``grace_period.started``; reminders, ``ending`` and ``expired`` are scheduled."""
        fraction("confidence", confidence)
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
                    "gracePeriod": {"id": period.id, "expiresAt": timestamp(period.expires_at)},
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
                    "startedAt": timestamp(period.started_at),
                    "expiresAt": timestamp(period.expires_at),
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
                    "startedAt": timestamp(period.started_at),
                    "expiresAt": timestamp(period.expires_at),
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
                    "startedAt": timestamp(period.started_at),
                    "expiresAt": timestamp(period.expires_at),
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
                    "startedAt": timestamp(period.started_at),
                    "expiredAt": timestamp(self.now),
                    "affectedAvatars": [a.brief() for a in period.avatars],
                },
            )

    def resolve_violation(self, violation_id: str, resolution: str = "avatar_removed") -> Violation:
        """The platform resolves a violation (license, removal, modification, parody approval):
        ``violation.resolved`` and, for its open grace period, ``grace_period.resolved``."""
        choice("resolution", resolution, VIOLATION_RESOLUTIONS)
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
                "resolvedAt": timestamp(now),
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
                    "resolvedAt": timestamp(now),
                },
            )

    def appeal(self, violation_id: str, reason: str = "parody") -> Violation:
        """The platform appeals: ``violation.appealed``; the grace period pauses."""
        choice("reason", reason, APPEAL_REASONS)
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
                    "appeal": {"reason": reason, "submittedAt": timestamp(self.now)},
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
