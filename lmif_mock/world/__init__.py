"""The LMIF world: boxes, avatars, violations, grace periods and licenses that the events tell of.

A receiver does more than read events: on ``box.created`` it may call the API back, and its own
state must follow a violation through its 30-day grace period. :class:`World` keeps a small,
consistent model of the provider's resources; every transition emits the events the provider
would, with data that names the same ids the REST API serves. Time-driven steps (reminders on
days 7, 21 and 28, ``ending`` two days before expiry, ``expired`` at day 30, a license's
``expiring`` and ``expired``) are scheduled on the fake's clock, so on a virtual clock a whole
grace period runs inside one ``clock.advance(days=30)``.

One idea per module: ``rules`` (constants, the error, value checks), ``resources`` (the records),
``core`` (tables, lock, outbox), then the transitions by resource (``boxes``, ``detection``,
``violations``, ``licenses``), ``model`` (the whole :class:`World`) and ``scenarios`` (named
stories). Where the provider's docs are silent, the model follows the documented resources'
style; the README lists what was designed.
"""

from __future__ import annotations

from lmif_mock.world.core import Publish
from lmif_mock.world.model import World
from lmif_mock.world.resources import (
    Avatar,
    Box,
    Claim,
    GracePeriod,
    License,
    LicenseRequest,
    Violation,
)
from lmif_mock.world.rules import (
    CLAIM_STATUSES,
    GRACE_PERIOD_STATUSES,
    GUIDELINES_URL,
    LICENSE_STATUSES,
    MAX_BATCH_CHECKS,
    MAX_COUNT,
    MONTHLY_FEES,
    SANDBOX_IDENTITIES,
    SEVERITIES,
    TIER_MAX_USERS,
    VERIFICATION_TIERS,
    VIOLATION_STATUSES,
    WorldError,
)

__all__ = [
    "CLAIM_STATUSES",
    "GRACE_PERIOD_STATUSES",
    "GUIDELINES_URL",
    "LICENSE_STATUSES",
    "MAX_BATCH_CHECKS",
    "MAX_COUNT",
    "MONTHLY_FEES",
    "SANDBOX_IDENTITIES",
    "SEVERITIES",
    "TIER_MAX_USERS",
    "VERIFICATION_TIERS",
    "VIOLATION_STATUSES",
    "Avatar",
    "Box",
    "Claim",
    "GracePeriod",
    "License",
    "LicenseRequest",
    "Publish",
    "Violation",
    "World",
    "WorldError",
]
