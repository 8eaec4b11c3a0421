"""A Faker provider, so code that already uses Faker gets LMIF events and ids from it.

>>> from faker import Faker
>>> fake = Faker()
>>> fake.add_provider(LMIFProvider)
>>> fake.lmif_event("box.created").type
'box.created'
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from faker.providers import BaseProvider

from lmif_mock.events import EVENT_TYPES, Event
from lmif_mock.ids import PREFIXES, new_id
from lmif_mock.payloads import (
    ENFORCEMENTS,
    ENTITY_TYPES,
    EPOCH,
    LICENSE_TIERS,
    POLICIES,
    build_data,
)


class LMIFProvider(BaseProvider):
    """LMIF ids, enums and whole events drawn from the Faker instance's own seeded randomness."""

    def _id(self, kind: str) -> str:
        return new_id(PREFIXES[kind], self.generator.random)

    def event_id(self) -> str:
        """An ``evt_`` id."""
        return self._id("event")

    def webhook_id(self) -> str:
        """A ``wh_`` id."""
        return self._id("webhook")

    def box_id(self) -> str:
        """A ``box_`` id."""
        return self._id("box")

    def claim_id(self) -> str:
        """A ``claim_`` id."""
        return self._id("claim")

    def violation_id(self) -> str:
        """A ``viol_`` id."""
        return self._id("violation")

    def grace_period_id(self) -> str:
        """A ``gp_`` id."""
        return self._id("grace_period")

    def license_id(self) -> str:
        """A ``lic_`` id."""
        return self._id("license")

    def license_request_id(self) -> str:
        """A ``req_`` id."""
        return self._id("license_request")

    def avatar_id(self) -> str:
        """An ``avatar_`` id."""
        return self._id("avatar")

    def creator_id(self) -> str:
        """A ``creator_`` id."""
        return self._id("creator")

    def lmif_event_type(self) -> str:
        """One of the 19 documented event types."""
        return str(self.random_element(EVENT_TYPES))

    def lmif_policy(self) -> str:
        """A box policy (``MONETIZE``, ``BLOCK_ALL``...)."""
        return str(self.random_element(POLICIES))

    def lmif_enforcement(self) -> str:
        """``STRICT`` or ``MODERATE``."""
        return str(self.random_element(ENFORCEMENTS))

    def lmif_entity_type(self) -> str:
        """``INDIVIDUAL``, ``ESTATE``, ``CORPORATION`` or ``AGENCY``."""
        return str(self.random_element(ENTITY_TYPES))

    def lmif_license_tier(self) -> str:
        """``personal``, ``creator``, ``commercial`` or ``enterprise``."""
        return str(self.random_element(LICENSE_TIERS))

    def lmif_event_data(
        self,
        event_type: str,
        created_at: datetime | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        """The ``data`` object of one event, with keyword overrides deep-merged in."""
        return build_data(
            event_type, self.generator.random, created_at or self._moment(), overrides
        )

    def lmif_event(
        self,
        event_type: str | None = None,
        created_at: datetime | None = None,
        data: Mapping[str, Any] | None = None,
        webhook_id: str | None = None,
    ) -> Event:
        """A whole event; ``.envelope()`` gives the JSON object, ``.body`` the signed bytes."""
        chosen = event_type or self.lmif_event_type()
        moment = created_at or self._moment()
        return Event(
            id=self.event_id(),
            type=chosen,
            created_at=moment,
            data=build_data(chosen, self.generator.random, moment, data),
            webhook_id=webhook_id or self.webhook_id(),
        )

    def _moment(self) -> datetime:
        """A reproducible time in the year after the provider's sample date (never 'now')."""
        return EPOCH + timedelta(seconds=self.generator.random.randrange(365 * 24 * 3600))
