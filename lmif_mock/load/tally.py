"""What a load run sent and how the receiver answered, counted exactly, mergeable across workers.

Locust's own statistics round response times and are reported every few seconds, so the last
moments of a run can be missing from them. The figures tools script against (``--json``, the ids
file, the exit status) come from this tally instead: each process keeps one, and the master adds
them up after every worker has stopped its users.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["event", "duplicate", "bad_signature"]
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "errors")


def status_class(status_code: int | None) -> str:
    """``"2xx"``..``"5xx"`` for an HTTP answer; ``"errors"`` when none came (refused, reset)."""
    if status_code is None or not 200 <= status_code < 600:
        return "errors"
    return f"{status_code // 100}xx"


def _significant(milliseconds: float) -> float:
    """Round to 3 significant digits: a compact histogram key accurate to 0.5%."""
    return float(f"{milliseconds:.3g}")


@dataclass
class Tally:
    """Counts for one process (or, merged, for a whole run)."""

    event_ids: list[str] = field(default_factory=list)
    duplicates: int = 0
    status: Counter[str] = field(default_factory=Counter)
    latency: Counter[float] = field(default_factory=Counter)
    bad_signatures: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0

    def record(
        self, kind: Kind, event_id: str, status_code: int | None, milliseconds: float
    ) -> None:
        """One finished POST: its kind, the event it carried, the answer and how long it took."""
        if kind == "bad_signature":
            self.bad_signatures[str(status_code) if status_code is not None else "errors"] += 1
            return
        if kind == "event":
            self.event_ids.append(event_id)
        else:
            self.duplicates += 1
        self.status[status_class(status_code)] += 1
        self.latency[_significant(milliseconds)] += 1

    @property
    def requests(self) -> int:
        """Every correctly signed POST, duplicates included."""
        return len(self.event_ids) + self.duplicates

    def failures(self) -> int:
        """Answers that count against the receiver: non-2xx, and bad signatures not answered 401."""
        wrong = sum(n for answer, n in self.bad_signatures.items() if answer != "401")
        return self.requests - self.status["2xx"] + wrong

    def percentile(self, fraction: float) -> float:
        """The latency (ms) below which ``fraction`` of the signed requests finished; 0 if none."""
        total = sum(self.latency.values())
        if total == 0:
            return 0.0
        rank = fraction * total
        seen = 0
        for milliseconds in sorted(self.latency):
            seen += self.latency[milliseconds]
            if seen >= rank:
                return milliseconds
        return max(self.latency)

    def merge(self, other: Tally) -> None:
        """Add ``other``'s counts to these (a run's totals are the sum over its workers)."""
        self.event_ids.extend(other.event_ids)
        self.duplicates += other.duplicates
        self.status.update(other.status)
        self.latency.update(other.latency)
        self.bad_signatures.update(other.bad_signatures)
        self.elapsed = max(self.elapsed, other.elapsed)

    def to_message(self) -> dict[str, Any]:
        """A msgpack- and JSON-friendly form (histogram keys as pairs), for :meth:`from_message`."""
        return {
            "event_ids": list(self.event_ids),
            "duplicates": self.duplicates,
            "status": dict(self.status),
            "latency": [[ms, n] for ms, n in self.latency.items()],
            "bad_signatures": dict(self.bad_signatures),
            "elapsed": self.elapsed,
        }

    @classmethod
    def from_message(cls, value: Mapping[str, Any]) -> Tally:
        """Rebuild a tally sent by :meth:`to_message`."""
        pairs: Iterable[tuple[float, int]] = ((float(ms), int(n)) for ms, n in value["latency"])
        return cls(
            event_ids=[str(i) for i in value["event_ids"]],
            duplicates=int(value["duplicates"]),
            status=Counter({str(k): int(v) for k, v in value["status"].items()}),
            latency=Counter(dict(pairs)),
            bad_signatures=Counter({str(k): int(v) for k, v in value["bad_signatures"].items()}),
            elapsed=float(value["elapsed"]),
        )

    def summary(self, workers: int) -> dict[str, Any]:
        """The ``--json`` document: the shape issue 18 fixed, plus ``bad_signatures`` if any."""
        result: dict[str, Any] = {
            "events": len(self.event_ids),
            "requests": self.requests,
            "duplicates": self.duplicates,
            "status": {name: self.status[name] for name in STATUS_CLASSES},
            "latency_ms": {
                "p50": self.percentile(0.50),
                "p95": self.percentile(0.95),
                "p99": self.percentile(0.99),
            },
            "rps": round(self.requests / self.elapsed, 1) if self.elapsed > 0 else 0.0,
            "workers": workers,
        }
        if self.bad_signatures:
            sent = sum(self.bad_signatures.values())
            result["bad_signatures"] = {
                "sent": sent,
                "rejected_401": self.bad_signatures["401"],
                "other": sent - self.bad_signatures["401"],
            }
        return result
