"""Benchmark: how long the command line takes to show its help.

Times `python -m runs --help` and `python -m runs compare --help`, each in fresh interpreter
processes (sys.executable, the repository as working folder), and prints the median and the
range of 7 runs. Target: `python -m runs --help` within one second; the exit status is 1 if
its median is over it. Building the parser imports every command module, so this catches a
command that imports pandas, matplotlib or the model at the top.
Run: .venv/bin/python benchmarks/bench_cli.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
CASES = {"python -m runs --help": ["--help"], "python -m runs compare --help": ["compare", "--help"]}


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "runs", *argv],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="fresh processes per command (default 7)")
    args = parser.parse_args()
    print(
        f"machine: {platform.platform()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    timed(["--help"])  # warm the file cache and the bytecode, as a user's second call would be
    medians = {}
    for name, argv in CASES.items():
        times = []
        for _ in range(args.repeats):
            times.append(timed(argv))
        medians[name] = statistics.median(times)
        print(f"{name}: median {medians[name]:.3f} s (min {min(times):.3f}, max {max(times):.3f}, {args.repeats} runs)")
    top = medians["python -m runs --help"]
    met = top <= TARGET_SECONDS
    print(f"target python -m runs --help <= {TARGET_SECONDS:g} s: {top:.3f} {'met' if met else 'NOT MET'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
