"""Benchmark: one ten-year baseline run against Mesa's Boltzmann example, and the cost of more
retirement accounts.

Targets (issue 7): a ten-year baseline run (construction and 520 weekly steps, one process)
takes at most half the time of Mesa's Boltzmann wealth example with 1,000 agents for 520 steps,
timed in the same process (aim: 0.3); going from 1,000 to 100,000 retirement accounts costs at
most 3 times the 1,000-account time. Shared virtual machines are noisy, so each figure is the
best of N runs, and the runs alternate so that a slow spell hits every case alike.
Run: .venv/bin/python benchmarks/bench_model.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth

from model import CircularFinance


def timed_run(accounts: int) -> float:
    start = time.perf_counter()
    CircularFinance(overrides={"savers.accounts": accounts}).run()
    return time.perf_counter() - start


def timed_boltzmann(agents: int = 1000, steps: int = 520) -> float:
    start = time.perf_counter()
    model = BoltzmannWealth(BoltzmannScenario(n=agents, width=10, height=10, rng=1))
    for _ in range(steps):
        model.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    timed_run(1000)  # warm-up: imports and caches
    cases = {
        "boltzmann": timed_boltzmann,
        1_000: lambda: timed_run(1_000),
        10_000: lambda: timed_run(10_000),
        100_000: lambda: timed_run(100_000),
    }
    best = {name: float("inf") for name in cases}
    for _ in range(args.repeats):
        for name, case in cases.items():
            best[name] = min(best[name], case())
    print(f"Mesa Boltzmann example, 1,000 agents x 520 steps: {best['boltzmann']:.3f} s")
    for accounts in (1_000, 10_000, 100_000):
        print(
            f"{accounts:>7,} retirement accounts: {best[accounts]:.3f} s per ten-year run "
            f"({best[accounts] / best[1_000]:.2f}x the 1,000-account time, "
            f"{best[accounts] / best['boltzmann']:.2f}x Boltzmann)"
        )
    speed = best[1_000] / best["boltzmann"]
    scale = best[100_000] / best[1_000]
    print(
        f"target baseline <= 0.5x Boltzmann (aim 0.3): {speed:.2f} {'met' if speed <= 0.5 else 'MISSED'}; "
        f"target 100,000 accounts <= 3x 1,000: {scale:.2f} {'met' if scale <= 3.0 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
