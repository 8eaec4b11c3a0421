"""Identifiers in the provider's style: a type prefix, then lowercase letters and digits.

Ids come from a caller-supplied ``random.Random`` so that a seeded fake produces the same ids on
every run, which is what lets a failing test be replayed from its seed.
"""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12

#: Every prefix the fake uses, by the object it names. All but ``scan_`` are the provider's own.
PREFIXES: dict[str, str] = {
    "event": "evt_",
    "webhook": "wh_",
    "box": "box_",
    "claim": "claim_",
    "violation": "viol_",
    "grace_period": "gp_",
    "avatar": "avatar_",
    "creator": "creator_",
    "license": "lic_",
    "license_request": "req_",
    "scan": "scan_",
    "image": "img_",
    "delivery": "dlv_",
    "request": "req_",
}


def new_id(prefix: str, rng: random.Random) -> str:
    """``prefix`` followed by 12 random lowercase letters and digits, drawn from ``rng``."""
    return prefix + "".join(rng.choices(_ALPHABET, k=ID_LENGTH))
