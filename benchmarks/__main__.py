"""``python -m benchmarks``: every figure of the README's Performance table, and the receiver
checks' detection rates quoted under "Testing your receiver", in one run."""

from __future__ import annotations

import sys

from benchmarks import (
    bench_delivery,
    bench_detection,
    bench_goals,
    bench_http,
    bench_plugin,
    bench_polling,
    bench_stages,
    bench_world,
    bench_xdist,
)


def main() -> None:
    modules = (
        bench_goals,
        bench_stages,
        bench_delivery,
        bench_http,
        bench_polling,
        bench_world,
        bench_plugin,
        bench_xdist,
        bench_detection,
    )
    for module in modules:
        print(f"# {module.__name__}", flush=True)
        sys.argv = [module.__name__, *sys.argv[1:]]
        module.main()


if __name__ == "__main__":
    main()
