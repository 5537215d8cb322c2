"""Benchmark: the PSY (2015) BSADF sequence for T = 1680 at lag 0, the hot path of both the
date-stamping and every Monte Carlo replication.  Target: at most 0.2 s per sequence.

Usage: .venv/bin/python benchmarks/bench_psy.py [--T 1680] [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from runs import psy  # noqa: E402

TARGET_SECONDS = 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--T", type=int, default=1680)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)

    y = np.cumsum(np.random.default_rng(0).standard_normal(args.T))
    psy.bsadf(y)  # warm-up: first-touch page faults and import-time costs are not the kernel
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        psy.bsadf(y)
        times.append(time.perf_counter() - start)
    best = min(times)
    w0 = psy.min_window_size(args.T)
    windows = (args.T - w0 + 1) * (args.T - w0 + 2) // 2

    median = float(np.median(times))
    verdict = "met" if best <= TARGET_SECONDS else "MISSED"
    print(
        f"machine: {platform.platform()}, {_cpu_name()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )
    print(f"BSADF sequence, T={args.T}, lag 0, min window {w0} ({windows:,} ADF regressions)")
    print(
        f"best of {args.repeats}: {best * 1000:.1f} ms (median {median * 1000:.1f} ms); "
        f"target <= {TARGET_SECONDS * 1000:.0f} ms: {verdict}"
    )
    return 0 if best <= TARGET_SECONDS else 1


def _cpu_name() -> str:
    # platform.processor() is empty on most Linux builds; /proc/cpuinfo names the model.
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(main())
