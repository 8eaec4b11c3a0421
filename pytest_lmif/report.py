"""What the receiver checks found, in words a person can act on.

A report never rounds a skip up to a pass: a check that could not judge the receiver says so,
and the report's headline counts it apart from the passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check, with what was seen, in words a person can act on."""

    name: str
    passed: bool | None  # None: could not be judged (skipped)
    summary: str
    problems: tuple[str, ...] = ()
    #: Whether a failure depends on thread timing, so that a rerun with the same seed may pass.
    timing_dependent: bool = False

    @property
    def skipped(self) -> bool:
        """Whether the check could not judge the receiver (e.g. no ``processed`` callable)."""
        return self.passed is None

    def __str__(self) -> str:
        mark = "SKIP" if self.passed is None else "PASS" if self.passed else "FAIL"
        lines = [f"[{mark}] {self.name}: {self.summary}"]
        lines += [f"         - {problem}" for problem in self.problems]
        return "\n".join(lines)


class ReceiverCheckFailed(AssertionError):
    """Raised by :meth:`ReceiverReport.assert_ok`; ``report`` is the whole report."""

    def __init__(self, report: ReceiverReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass
class ReceiverReport:
    """All check results for one receiver."""

    target: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No check failed (skipped checks are not failures, and are not passes either)."""
        return all(r.passed is not False for r in self.results)

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed."""
        return [r for r in self.results if r.passed is False]

    @property
    def skipped(self) -> list[CheckResult]:
        """The checks that could not judge the receiver."""
        return [r for r in self.results if r.passed is None]

    @property
    def timing_dependent(self) -> bool:
        """Whether some failure depends on thread timing (a race), not only on the seed."""
        return any(r.timing_dependent for r in self.failures)

    def __getitem__(self, name: str) -> CheckResult:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def assert_ok(self) -> None:
        """Raise :class:`ReceiverCheckFailed` listing every result if any check failed."""
        if not self.passed:
            raise ReceiverCheckFailed(self)

    @property
    def verdict(self) -> str:
        """``all N passed`` only when every check ran and passed; otherwise the counts."""
        failed, skipped = len(self.failures), len(self.skipped)
        passed = len(self.results) - failed - skipped
        if not failed and not skipped:
            return f"all {passed} passed"
        parts = [f"{failed} failed"] if failed else []
        parts.append(f"{passed} passed")
        if skipped:
            parts.append(f"{skipped} skipped")
        return ", ".join(parts)

    def __str__(self) -> str:
        head = f"LMIF receiver checks for {self.target}: {self.verdict}"
        return "\n".join([head, *(str(r) for r in self.results)])
