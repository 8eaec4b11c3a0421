"""Identifiers in the provider's style: a type prefix, then lowercase letters and digits.

Ids come from a caller-supplied ``random.Random`` so that a seeded fake produces the same ids on
every run, which is what lets a failing test be replayed from its seed.
"""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12
#: Every three-character run of the alphabet, in order, and how many suffixes there are.
_TRIPLES = [a + b + c for a in _ALPHABET for b in _ALPHABET for c in _ALPHABET]
_TRIPLE = len(_TRIPLES)
_SUFFIXES: int = len(_ALPHABET) ** ID_LENGTH
#: Draws of 128 bits below this are spread evenly over the suffixes; one in 2**66 is not.
_EVEN_LIMIT: int = (2**128 // _SUFFIXES) * _SUFFIXES

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
    """``prefix`` followed by 12 random lowercase letters and digits, drawn from ``rng``.

    A plain ``random.Random`` gives one number below ``36 ** 12``, written as four runs of three
    characters: a third of the cost of drawing twelve characters one by one, and as uniform. The
    number is 128 random bits reduced modulo ``36 ** 12``, redrawn in the one case in 2**66 that
    would favour small suffixes: ``randrange`` would reject almost half its 63-bit draws. A
    subclass (hypothesis's, which shrinks each drawn character towards ``a``) is asked for the
    twelve characters themselves.
    """
    if type(rng) is not random.Random:
        return prefix + "".join(rng.choices(_ALPHABET, k=ID_LENGTH))
    drawn = rng.getrandbits(128)
    while drawn >= _EVEN_LIMIT:  # pragma: no cover - one draw in 2**66
        drawn = rng.getrandbits(128)
    rest, fourth = divmod(drawn % _SUFFIXES, _TRIPLE)
    rest, third = divmod(rest, _TRIPLE)
    first, second = divmod(rest, _TRIPLE)
    return prefix + _TRIPLES[first] + _TRIPLES[second] + _TRIPLES[third] + _TRIPLES[fourth]
