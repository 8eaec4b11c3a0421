"""What the world accepts: its constants, its error, and the checks every transition makes on
the values it is given before it changes anything.
"""

from __future__ import annotations

from lmif_mock.errors import EncodingError, LMIFMockError
from lmif_mock.events import check_text

#: The largest user count or estimate a transition accepts (the API's bound too).
MAX_COUNT = 10**9
GUIDELINES_URL = "https://www.lookmaimfamous.com/guidelines/{box_id}"
#: The provider's per-request cap on batch identity checks (Rate Limits page).
MAX_BATCH_CHECKS = 100
VERIFICATION_TIERS = ("GOLD", "SILVER")
#: Each resource's states (the reference's enumeration table; claims' are ours to design), as
#: the API shows them and its list filters take them.
CLAIM_STATUSES = ("pending", "verified", "rejected")
VIOLATION_STATUSES = ("pending", "resolved", "enforced", "appealed", "dismissed")
SEVERITIES = ("low", "medium", "high", "critical")
GRACE_PERIOD_STATUSES = ("active", "paused", "resolved", "expired")
LICENSE_STATUSES = ("pending", "active", "expired", "revoked")
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


def text(name: str, value: object, max_length: int = 200) -> None:
    """Free text a transition keeps and sends: a non-empty, sendable string of sane length."""
    if not isinstance(value, str) or not value.strip():
        raise WorldError(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise WorldError(f"{name} must be at most {max_length} characters")
    try:
        check_text(value, name)
    except EncodingError as exc:
        raise WorldError(str(exc)) from None


def fraction(name: str, value: object) -> None:
    """A share (confidence, royalty rate): a real number from 0 to 1, never a bool."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 1:
        raise WorldError(f"{name} must be a number between 0 and 1")


def count(name: str, value: object) -> None:
    """A number of users or messages: a whole number the API would also accept."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COUNT:
        raise WorldError(f"{name} must be a whole number between 0 and {MAX_COUNT}")


def choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    """One of an enumeration, refused with the list of what is allowed."""
    if value not in allowed:
        raise WorldError(f"{name} must be one of {list(allowed)}, not {value!r}")


def variations(name: str) -> list[str]:
    """The name forms a claim also matches (``A. Lovelace``, ``Lovelace``), as the provider's
    identity check shows them; none for sandbox identities and estates."""
    parts = name.split()
    if len(parts) >= 2 and not name.startswith(("Test ", "Estate of")):
        return [f"{parts[0][0]}. {parts[-1]}", parts[-1]]
    return []
