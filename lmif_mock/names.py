"""Realistic names, drawn directly from Faker's weighted en_US lists with a caller's ``random``.

Only the random source decides, so the same seed gives the same names; the payload builder
(:mod:`lmif_mock.payloads`) is their one user.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Mapping
from typing import Any


class NamePool:
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
        self.first_total, self.last_total = self.first_weights[-1], self.last_weights[-1]

    def first_name(self, rng: random.Random) -> str:
        # What rng.choices(first, cum_weights=...) does, the same draw, without its overhead.
        return self.first[bisect(self.first_weights, rng.random() * self.first_total)]

    def last_name(self, rng: random.Random) -> str:
        return self.last[bisect(self.last_weights, rng.random() * self.last_total)]

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


_POOL: NamePool | None = None


def name_pool() -> NamePool:
    """The one pool, loaded from Faker on first use (importing Faker's lists takes a while)."""
    global _POOL
    if _POOL is None:
        _POOL = NamePool()
    return _POOL


def identity_name(rng: random.Random, entity_type: str) -> str:
    """A person, or by ``entity_type`` an estate, a company or a talent agency."""
    names = name_pool()
    if entity_type == "CORPORATION":
        return names.company(rng)
    if entity_type == "ESTATE":
        return f"Estate of {names.name(rng)}"
    if entity_type == "AGENCY":
        return f"{names.last_name(rng)} Talent Agency"
    return names.name(rng)
