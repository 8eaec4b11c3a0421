"""Licenses: requested, approved or denied by policy, expiring and expired on the clock (or
renewed), revoked, cancelled, renewed by hand, with usage reported per month.
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Any

from lmif_mock.errors import ConflictError
from lmif_mock.event_shapes import DENIAL_REASONS, LICENSE_TIERS, REVOCATION_REASONS
from lmif_mock.payloads import LICENSE_EXPIRING_DAYS
from lmif_mock.terms import years_after
from lmif_mock.world.resources import License, LicenseRequest, timestamp
from lmif_mock.world.rules import MONTHLY_FEES, WorldError, choice, count, text
from lmif_mock.world.violations import ViolationsAndGracePeriods


class Licenses(ViolationsAndGracePeriods):
    """The license transitions (approval resolves the box's open violations)."""

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
        choice("tier", tier, LICENSE_TIERS)
        text("useCase", use_case, max_length=2000)
        if message is not None:
            text("message", message, max_length=2000)
        if estimated_users is not None:
            count("estimatedUsers", estimated_users)
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
                    "submittedAt": timestamp(request.submitted_at),
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
                    "validFrom": timestamp(license_.valid_from),
                    "expiresAt": timestamp(license_.expires_at),
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
        choice("reason", reason, DENIAL_REASONS)
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
                    "deniedAt": timestamp(self.now),
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
                    "expiresAt": timestamp(license_.expires_at),
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
                "license.expired",
                {**self._license_payload(license_), "expiredAt": timestamp(self.now)},
            )

    def revoke_license(self, license_id: str, reason: str = "terms_violation") -> License:
        """Revoke an active license: ``license.revoked``."""
        choice("reason", reason, REVOCATION_REASONS)
        with self._transition():
            license_: License = self._find(self.licenses, license_id, "license")
            if license_.status != "active":
                raise ConflictError(f"license {license_id} is {license_.status}, not active")
            license_.status = "revoked"
            for timer in license_.timers:
                timer.cancel()
            self._emit(
                "license.revoked",
                {
                    **self._license_payload(license_),
                    "reason": reason,
                    "revokedAt": timestamp(self.now),
                },
            )
            return license_

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
                "reportedAt": timestamp(self.now),
            }
            license_.usage[chosen] = report
            return report
