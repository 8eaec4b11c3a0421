"""The benchmarks still run: each is a tiny run here, asserting only that it worked.

How fast anything is belongs to ``python -m benchmarks``, never to an assertion; but a benchmark
that breaks when the code it wraps is renamed would go unnoticed until someone needs its figure.
"""

from __future__ import annotations

import importlib
import pkgutil

import benchmarks
from benchmarks import bench_goals, bench_stages


def test_every_benchmark_module_imports_and_has_a_main() -> None:
    names = [m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name != "__main__"]
    assert "bench_goals" in names
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        assert callable(getattr(module, "main", None)), name


def test_the_stage_timers_wrap_functions_that_exist() -> None:
    for owner, name, label in bench_stages._STAGES:
        assert callable(getattr(owner, name, None)), f"{label}: {owner!r} has no {name}"


def test_the_goal_benchmarks_run_and_every_delivery_succeeds() -> None:
    # Each asserts inside that every delivery of its run succeeded.
    for figures in (bench_goals.in_process(5, 1), bench_goals.over_http(5, 1)):
        assert figures["ours"] > 0
        assert figures["by_hand"] > 0
    wrapped = [getattr(owner, name) for owner, name, _ in bench_stages._STAGES]
    ours, hand = bench_stages.stages(5, 1)
    # and the stage timers are gone again: other tests in this process see the library as it is
    assert [getattr(owner, name) for owner, name, _ in bench_stages._STAGES] == wrapped
    assert {"total (wrapped)", "send (kernel)"} <= set(ours)
    assert "http.client round trip" in hand
