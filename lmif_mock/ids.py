"""Identifiers in the provider's style: a type prefix, then lowercase letters and digits.

Ids come from a caller-supplied ``random.Random`` so that a seeded fake produces the same ids on
every run, which is what lets a failing test be replayed from its seed.
"""

from __future__ import annotations

import random
import string

_ALPHABET = string.ascii_lowercase + string.digits
ID_LENGTH = 12
#: Every two-character run of the alphabet, in order: 1,296 strings, few enough to stay in the
#: CPU's cache (a table of every three-character run, 46,656 strings, measured 6% slower per
#: emit on a busy machine, for want of it).
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_PAIR = len(_PAIRS)
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

    A plain ``random.Random`` gives one number below ``36 ** 12``, written as six runs of two
    characters: a fraction of the cost of drawing twelve characters one by one, and as uniform. The
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
    rest, sixth = divmod(drawn % _SUFFIXES, _PAIR)
    rest, fifth = divmod(rest, _PAIR)
    rest, fourth = divmod(rest, _PAIR)
    rest, third = divmod(rest, _PAIR)
    first, second = divmod(rest, _PAIR)
    pairs = _PAIRS
    return (
        prefix + pairs[first] + pairs[second] + pairs[third] + pairs[fourth] + pairs[fifth]
        + pairs[sixth]
    )  # fmt: skip
