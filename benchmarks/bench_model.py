"""Benchmark: one ten-year baseline run, and its cost as the number of retirement accounts grows.

Targets (issue 3): one ten-year baseline run in at most 1 second on one core; going from
1,000 to 100,000 retirement accounts costs at most 5 times the 1,000-account time.
Run: .venv/bin/python benchmarks/bench_model.py [--repeats N]
Each figure is the best of N runs (model construction and the 520 weekly steps, single
process); the machine is printed with the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from model import CircularFinance


def timed_run(accounts: int) -> float:
    start = time.perf_counter()
    model = CircularFinance(overrides={"savers.accounts": accounts})
    model.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    timed_run(1000)  # warm-up: imports and caches
    results = {}
    for accounts in (1_000, 10_000, 100_000):
        results[accounts] = min(timed_run(accounts) for _ in range(args.repeats))
        ratio = results[accounts] / results[1_000]
        print(f"{accounts:>7,} retirement accounts: {results[accounts]:.3f} s per ten-year run "
              f"({ratio:.2f}x the 1,000-account time)")
    ok_speed = results[1_000] <= 1.0
    ok_scale = results[100_000] <= 5.0 * results[1_000]
    print(f"target 1 s for the baseline: {'met' if ok_speed else 'MISSED'}; "
          f"target 5x from 1,000 to 100,000 accounts: {'met' if ok_scale else 'MISSED'}")


if __name__ == "__main__":
    main()
