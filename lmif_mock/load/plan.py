"""What a load run sends: event type mix, secret, path, duplicates, bad signatures, profile.

Kept free of Locust so the command, the tests and the docs can build and check a plan without
importing Locust (which monkey-patches the whole process for gevent). The same plan travels from
the Locust master to every worker as a plain dict, so workers on other machines need no
configuration of their own.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from lmif_mock.errors import LMIFMockError, UnknownEventType
from lmif_mock.events import EVENT_TYPES, check_event_type
from lmif_mock.ids import PREFIXES, new_id

Profile = Literal["steady", "catch-up"]
PROFILES: tuple[Profile, ...] = ("steady", "catch-up")
#: A catch-up schedule is held in memory; past this many outage events it would not fit well.
MAX_OUTAGE_EVENTS = 5_000_000


def new_webhook_id() -> str:
    """A fresh ``wh_`` id for a run's envelopes, from the OS's randomness (never repeats a run)."""
    return new_id(PREFIXES["webhook"], random.SystemRandom())


class LoadPlanError(LMIFMockError, ValueError):
    """A load plan that cannot run (unknown type, share outside 0..1, non-positive scale...)."""


def parse_mix(text: str) -> dict[str, float]:
    """Read ``box.created=3,detection.match_found=1`` (a bare type weighs 1) into weights."""
    weights: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, weight_text = item.partition("=")
        try:
            weight = float(weight_text) if sep else 1.0
        except ValueError:
            raise LoadPlanError(f"weight of {name!r} is not a number: {weight_text!r}") from None
        weights[name.strip()] = weight
    if not weights:
        raise LoadPlanError("the type mix is empty; give TYPE[=WEIGHT],...")
    return weights


def _share(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LoadPlanError(f"{name} must be a number between 0 and 1, not {value!r}")
    if not 0 <= value <= 1:
        raise LoadPlanError(f"{name} must be between 0 and 1, not {value}")
    return float(value)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LoadPlanError(f"{name} must be a positive number, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise LoadPlanError(f"{name} must be a positive number, not {value}")
    return float(value)


@dataclass(frozen=True)
class LoadPlan:
    """Everything a user needs to know to send events; validated when made.

    ``duplicates`` is the share of events sent a second time; of those copies, ``simultaneous``
    is the share sent at the same moment as the original (on a second connection), the rest go
    out again a little later, after a few more events, as a provider retry would.
    ``bad_signatures`` is the share of extra requests (each a fresh event) signed wrongly, which
    a correct receiver answers 401. With ``profile="catch-up"`` the users replay the arrivals of
    the provider's retry schedule after an outage of ``outage_hours`` during which
    ``events_per_hour`` events were produced, with time running ``time_scale`` times faster.
    """

    secret: str
    path: str = "/"
    mix: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(EVENT_TYPES, 1.0))
    duplicates: float = 0.0
    simultaneous: float = 0.5
    bad_signatures: float = 0.0
    profile: Profile = "steady"
    outage_hours: float = 2.0
    events_per_hour: float = 3600.0
    time_scale: float = 60.0
    webhook_id: str = field(default_factory=new_webhook_id)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, str) or not self.secret:
            raise LoadPlanError("a load plan needs the receiver's webhook secret")
        if not isinstance(self.path, str) or not self.path.startswith("/"):
            raise LoadPlanError(f"path must start with '/', not {self.path!r}")
        if not isinstance(self.mix, Mapping) or not self.mix:
            raise LoadPlanError("the type mix needs at least one event type")
        mix: dict[str, float] = {}
        for event_type, weight in self.mix.items():
            try:
                check_event_type(event_type)
            except UnknownEventType as exc:
                raise LoadPlanError(str(exc)) from None
            if isinstance(weight, bool) or not isinstance(weight, (int, float)):
                raise LoadPlanError(f"weight of {event_type} must be a number, not {weight!r}")
            if not (math.isfinite(weight) and weight >= 0):
                raise LoadPlanError(f"weight of {event_type} must be 0 or more, not {weight}")
            mix[event_type] = float(weight)
        if sum(mix.values()) <= 0:
            raise LoadPlanError("at least one event type needs a weight above 0")
        object.__setattr__(self, "mix", mix)
        for name in ("duplicates", "simultaneous", "bad_signatures"):
            object.__setattr__(self, name, _share(name, getattr(self, name)))
        if self.profile not in PROFILES:
            raise LoadPlanError(
                f"profile must be one of {', '.join(PROFILES)}, not {self.profile!r}"
            )
        for name in ("outage_hours", "events_per_hour", "time_scale"):
            object.__setattr__(self, name, _positive(name, getattr(self, name)))
        if self.outage_hours * self.events_per_hour > MAX_OUTAGE_EVENTS:
            raise LoadPlanError(
                f"outage_hours x events_per_hour is over {MAX_OUTAGE_EVENTS:,} events; "
                "use a shorter outage or a lower rate with a higher time scale"
            )
        if not isinstance(self.webhook_id, str) or not self.webhook_id:
            raise LoadPlanError("webhook_id must be a non-empty string")

    def to_dict(self) -> dict[str, Any]:
        """A JSON- and msgpack-friendly form, the inverse of :meth:`from_dict`."""
        result = asdict(self)
        result["mix"] = dict(self.mix)
        return result

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> LoadPlan:
        """Read what :meth:`to_dict` wrote; unknown keys are a :class:`LoadPlanError`."""
        if not isinstance(value, Mapping):
            raise LoadPlanError("a load plan must be an object")
        known = set(cls.__dataclass_fields__)
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            raise LoadPlanError(f"unknown load plan field(s) {unknown}")
        try:
            return cls(**value)
        except TypeError as exc:
            raise LoadPlanError(str(exc)) from None
