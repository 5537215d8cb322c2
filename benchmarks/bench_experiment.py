"""Benchmark: a 1,000-run experiment through the runner, with 1 and then 2 worker processes.

Measures what the experiment commands rely on: the parent process's peak memory while it
receives and stores 1,000 runs and then while the `baseline` command's analysis reads them
back and draws its figures (target < 1 GB), and the wall-time speed-up from 1 to 2 workers
(target >= 1.7x). Other work on the machine caps any speed-up, so the benchmark first
measures how much two busy processes get done against one, and prints it with the load.

Two run functions (--run):
  synthetic (default)  the model's own tables and columns, at the size of a 10-year run
                       (520 weekly rows, 160 giant-quarter rows, ...), filled with random
                       numbers after --work-ms of CPU work: the parent stores full-size
                       results, while the benchmark stays minutes long. The column layout is
                       taken from one short run of the real model at start-up.
  model                the real model (runs.simulate.run_task) with a short horizon
                       (--years, default 0.5), so the runs are the real thing but small.

Usage: .venv/bin/python benchmarks/bench_experiment.py [--runs 1000] [--run synthetic|model]
       [--work-ms 150] [--years 0.5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from runs.executors import ExecutorOptions  # noqa: E402
from runs.experiment import run_experiment  # noqa: E402
from runs.simulate import run_task, scenario_config  # noqa: E402

MEMORY_TARGET_MB = 1024
SPEEDUP_TARGET = 1.7
WEEKS = 520
# Rows of each table in a 10-year baseline run (rounds and events vary; typical counts).
ROWS = {
    "weekly": WEEKS,
    "giant_quarters": WEEKS // 13 * 4,
    "lab_quarters": WEEKS // 13 * 2,
    "rounds": 8,
    "episodes": 2,
    "events": 15,
}


@dataclass(frozen=True)
class ShapedRun:
    """Tables with the model's columns and dtypes at full size, after `work_ms` of CPU work."""

    schema: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    work_ms: float

    def __call__(self, task) -> dict[str, pd.DataFrame]:
        rng = np.random.default_rng(task.seed)
        deadline = time.process_time() + self.work_ms / 1000
        acc = np.zeros(WEEKS)
        while time.process_time() < deadline:
            acc += np.cumsum(rng.standard_normal(WEEKS))  # stands in for the model's arithmetic
        start = pd.Timestamp("2026-01-01")
        tables = {}
        for name, columns in self.schema:
            n = ROWS.get(name, 10)
            data = {}
            for column, kind in columns:
                if kind == "f":  # positive, like prices, ratios and lifetimes
                    data[column] = np.abs(rng.standard_normal(n)) * 100 + 1
                elif kind in "iu":
                    data[column] = np.arange(n, dtype=np.int64)
                elif kind == "b":
                    data[column] = rng.random(n) < 0.5
                elif column in ("date", "start", "peak", "burst"):
                    data[column] = [(start + pd.Timedelta(weeks=int(i))).date() for i in range(n)]
                else:
                    data[column] = [f"{column}-{i % 4}" for i in range(n)]
            tables[name] = pd.DataFrame(data)
        return tables


def model_schema() -> tuple:
    """Column names and dtype kinds of every table the model returns (from a 1-year run)."""
    from runs.experiment import RunTask

    config = scenario_config("baseline", years=1)
    tables = run_task(RunTask("baseline", config, 0, 1, 1))
    return tuple((name, tuple((c, t.dtype.kind) for c, t in table.items())) for name, table in tables.items())


def _spin(seconds: float) -> float:
    start = time.perf_counter()
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return time.perf_counter() - start


def parallel_capacity(seconds: float = 1.0) -> float:
    """Work two busy processes get done per second, over one: 2.0 on two idle cores."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        pool.map(_spin, [0.05, 0.05])  # start-up is not the measure
        alone = pool.apply(_spin, (seconds,))
        start = time.perf_counter()
        pool.map(_spin, [seconds, seconds])
        together = time.perf_counter() - start
    return 2 * alone / together


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(who).ru_maxrss * scale / 2**20


def timed_experiment(out: Path, scenarios, run_fn, runs: int, years: float, workers: int) -> tuple[float, float]:
    """Wall seconds of the experiment, and the mean seconds one run took inside its worker."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    summary = run_experiment(
        out,
        scenarios,
        run_fn,
        n_seeds=runs,
        years=years,
        options=ExecutorOptions("process", workers=workers),
        progress="off",
    )
    seconds = time.perf_counter() - start
    if not summary.ok:
        raise SystemExit(f"{summary.failed} runs failed; see {out / 'failures'}")
    # A run that takes longer inside its worker with two workers than with one was slowed by
    # competition for the CPUs, not by the runner.
    inside = [json.loads(p.read_text())["seconds"] for p in out.glob("runs/*/*/done.json")]
    return seconds, float(np.mean(inside))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--run", choices=("synthetic", "model"), default="synthetic")
    parser.add_argument("--work-ms", type=float, default=150.0, help="CPU work per synthetic run")
    parser.add_argument("--years", type=float, default=0.5, help="horizon of model runs")
    parser.add_argument("--dir", type=Path, help="where to write the experiments (default: a temp folder)")
    args = parser.parse_args(argv)

    root = args.dir or Path(tempfile.mkdtemp(prefix="bench-experiment-"))
    if args.run == "synthetic":
        run_fn, years = ShapedRun(model_schema(), args.work_ms), 10
        what = f"synthetic run function: the model's tables at 10-year size, {args.work_ms:g} ms CPU each"
    else:
        run_fn, years = run_task, args.years
        what = f"the real model (runs.simulate.run_task), {args.years:g}-year horizon"
    scenarios = {"baseline": scenario_config("baseline", years=years)}
    print(f"machine: {platform.platform()}, {_cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    capacity = parallel_capacity()
    print(
        f"load average {os.getloadavg()[0]:.2f}; two busy processes do {capacity:.2f}x the work of one "
        "right now (2.00 on two idle cores)"
    )
    print(f"experiment: {args.runs} runs of {what}; results in {root}")

    times, inside_ms = {}, {}
    for workers in (1, 2):
        times[workers], inside = timed_experiment(root / f"w{workers}", scenarios, run_fn, args.runs, years, workers)
        print(
            f"  {workers} worker(s): {times[workers]:7.1f} s wall ({times[workers] / args.runs * 1000:.0f} ms "
            f"per run); a run took {inside * 1000:.0f} ms inside its worker; load average "
            f"{os.getloadavg()[0]:.2f}"
        )
        inside_ms[workers] = inside * 1000
    runner_peak = peak_rss_mb()

    # What a command does next: read the runs back and draw. The baseline reads the most.
    from runs import baseline
    from runs.commands import Outcome

    tracemalloc.start()
    start = time.perf_counter()
    outcome = Outcome(out_dir=root / "w2")
    baseline.analyse(outcome, "baseline", scenarios["baseline"], years, "lifetime")
    analyse_seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    analyse_peak = peak_rss_mb()
    size = sum(f.stat().st_size for f in (root / "w2" / "runs").rglob("*") if f.is_file()) / 2**20

    speedup = times[1] / times[2]
    print(
        f"stored: {size:.0f} MB of run tables; the baseline analysis read them back and drew "
        f"{sum(p.suffix == '.png' for p in outcome.paths)} figures in {analyse_seconds:.1f} s"
    )
    print(
        f"parent peak RSS: {runner_peak:.0f} MB while running 2 x {args.runs} runs, "
        f"{analyse_peak:.0f} MB after the analysis (Python allocations at the analysis's peak, "
        f"tracemalloc: {traced_peak / 2**20:.0f} MB); largest worker: "
        f"{peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )
    # If other work slowed each run down inside its worker, scale that away: what remains is
    # the speed-up the runner itself would deliver on two free cores. An estimate, said so.
    corrected = speedup * inside_ms[2] / inside_ms[1]
    print(
        f"runs took {inside_ms[2] / inside_ms[1]:.2f}x as long inside their worker with 2 workers as with 1 "
        f"(1.00 when nothing else competes for the CPUs); speed-up with that slowdown scaled away "
        f"(an estimate for two free cores): {corrected:.2f}x"
    )
    print(
        f"speed-up 1 -> 2 workers: {speedup:.3f}x (target >= {SPEEDUP_TARGET}x: "
        f"{'met' if speedup >= SPEEDUP_TARGET else 'MISSED'}; the machine allowed {capacity:.2f}x); "
        f"parent memory target < {MEMORY_TARGET_MB} MB: "
        f"{'met' if analyse_peak < MEMORY_TARGET_MB else 'MISSED'}"
    )
    if args.dir is None:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if speedup >= SPEEDUP_TARGET and analyse_peak < MEMORY_TARGET_MB else 1


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
