"""The experiment runner: many seeded replicates of several scenarios, run anywhere, stored safely.

A caller gives named scenarios (plain JSON-able config dicts) and a picklable run function
`run_fn(task: RunTask) -> dict[str, pandas.DataFrame]`; `run_experiment` runs every
(scenario, replicate) pair where `ExecutorOptions` says (this process, a process pool or
Dask; `runs.executors`) and stores each result as it arrives (`runs.store`: a run folder is
complete or absent, failures are recorded with their tracebacks). Replicate i uses the same
seed in every scenario, so scenarios can be compared pairwise. `out_dir/manifest.json` pins
the scenarios, parameters, seeds and versions; rerunning the same call resumes (finished runs
are skipped, recorded failures are retried) and a call that would mix in a different
experiment is refused. `load_experiment` (`runs.loader`) reads the finished runs back. Worker
processes never touch `out_dir`; only the calling process writes, and only one runner may use
an `out_dir` at a time (a lock file enforces this). With the "process" and "dask" executors
the run function is pickled by reference, so it must be importable (defined at module level)
and scripts need an `if __name__ == "__main__":` guard.

Resuming trusts nothing it can check: every finished run's files are verified against the
sizes and SHA-256 checksums in its done.json (`runs.store.verify_run`) and a damaged or
incomplete run is redone, with one line saying which and why. A run that takes longer than
`run_timeout` seconds (default one hour) is stopped and recorded as a failure ("timed out
after N s"): the worker arms SIGALRM around the call, which interrupts Python code (and
sleeps) but not a single long C call, and only works where the run executes on a process's
main thread (the serial and process executors on POSIX; on Dask's worker threads and on
Windows the limit is not enforced).

This module owns RunTask, ExperimentSummary, the replicate seeds, what a worker does with
one task, progress reporting and `run_experiment`; the names of the modules it was split
into are re-exported here for existing callers.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import importlib.metadata
import io
import json
import math
import os
import pickle
import platform
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from economy.errors import InputError
from runs import store
from runs.executors import DEFAULT_RUN_TIMEOUT, EXECUTORS, ExecutorOptions, SerialExecutor, open_executor
from runs.loader import load_experiment
from runs.store import (
    DONE_NAME,
    FAILURES_DIR,
    LOCK_NAME,
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    RUNS_DIR,
    write_atomic,
)

__all__ = [
    "DEFAULT_RUN_TIMEOUT",
    "DONE_NAME",
    "EXECUTORS",
    "FAILURES_DIR",
    "HEARTBEAT_SECONDS",
    "LOCK_NAME",
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "RESERVED_COLUMNS",
    "RUNS_DIR",
    "ExecutorOptions",
    "ExperimentSummary",
    "RunTask",
    "RunTimeout",
    "SerialExecutor",
    "load_experiment",
    "open_executor",
    "replicate_seeds",
    "run_experiment",
    "write_atomic",
]

# Reserved because load_experiment adds them to every table.
RESERVED_COLUMNS = ("scenario", "replicate", "seed")
# Log-line progress reports at least this often, even while no run finishes.
HEARTBEAT_SECONDS = 30.0


@dataclass(frozen=True)
class RunTask:
    """One run: a scenario's resolved config, which replicate, its seed and the horizon."""

    scenario: str
    # A dict cannot be hashed; tasks are compared, never used as keys.
    config: dict[str, Any] = field(hash=False)
    replicate: int
    seed: int
    years: int | float


@dataclass(frozen=True)
class ExperimentSummary:
    """What one `run_experiment` call did; `failures` lists (scenario, replicate)."""

    out_dir: Path
    total: int
    ran: int
    skipped: int
    failed: int
    failures: tuple[tuple[str, int], ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def __str__(self) -> str:
        text = (
            f"{self.total} runs: {self.ran} ran, {self.skipped} skipped (already done), "
            f"{self.failed} failed, in {_fmt_duration(self.seconds)}"
        )
        if self.failed:
            text += f"; see {self.out_dir / FAILURES_DIR}"
        return text


# --------------------------------------------------------------------------- seeds


def replicate_seeds(root_seed: int, n: int) -> list[int]:
    """n independent 63-bit seeds spawned from `root_seed`; seed i does not depend on n."""
    if isinstance(root_seed, bool) or not isinstance(root_seed, (int, np.integer)) or root_seed < 0:
        raise InputError(f"root_seed must be a non-negative integer, got {root_seed!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise InputError(f"n_seeds must be a non-negative integer, got {n!r}")
    children = np.random.SeedSequence(int(root_seed)).spawn(int(n))
    # 63 bits so the seed fits a signed int64 column in Parquet and pandas.
    return [int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for child in children]


# --------------------------------------------------------------------------- worker side


class RunTimeout(TimeoutError):
    """A run took longer than its time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float | None) -> Iterator[None]:
    """Raise RunTimeout in this thread after `seconds`, where SIGALRM can do it (see module doc)."""
    usable = (
        seconds is not None and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def expire(signum, frame):
        raise RunTimeout(f"timed out after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _execute(
    run_fn: Callable[[RunTask], Mapping[str, pd.DataFrame]], task: RunTask, run_timeout: float | None = None
) -> dict:
    """Run one task wherever the executor puts it and encode its tables as Parquet there.

    Never raises: a traceback formatted here survives any executor, and encoding in the
    worker spreads that cost, sends compact bytes home and blames unstorable tables on
    the run that made them. A run longer than `run_timeout` seconds is a failure.
    """
    started = time.time()
    try:
        with _time_limit(run_timeout):
            result = run_fn(task)
        tables = _check_tables(result)
        del result
        encoded = {name: _encode_table(table) for name, table in tables.items()}
        rows = {name: len(table) for name, table in tables.items()}
        del tables
    except Exception as exc:
        return {**_failure_from_exception(exc), "seconds": time.time() - started}
    return {
        "ok": True,
        "tables": encoded,
        "rows": rows,
        "started": store.iso(started),
        "seconds": time.time() - started,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _failure_from_exception(exc: BaseException) -> dict:
    return {
        "ok": False,
        "error_type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "error": str(exc),
        "traceback": "".join(traceback.format_exception(exc)),
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }


def _encode_table(table: pd.DataFrame) -> bytes:
    # A meaningful index is kept as columns; a plain 0..n-1 index carries nothing.
    index = table.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        table = table.reset_index()
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    return buffer.getvalue()


def _check_tables(result: Any) -> dict[str, pd.DataFrame]:
    if not isinstance(result, Mapping):
        raise TypeError(f"run function must return a dict of DataFrames, got {type(result).__name__}")
    tables: dict[str, pd.DataFrame] = {}
    for name, table in result.items():
        if not isinstance(name, str) or not store.NAME_RE.match(name):
            raise ValueError(f"table name {name!r} is not a valid file name (letters, digits, . _ -)")
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"table {name!r} is a {type(table).__name__}, not a pandas DataFrame")
        clash = [c for c in RESERVED_COLUMNS if c in table.columns]
        if clash:
            raise ValueError(f"table {name!r} has reserved column(s) {clash}; load_experiment adds these")
        tables[name] = table
    return tables


# --------------------------------------------------------------------------- checks


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def _versions() -> dict[str, str]:
    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "unknown"

    return {
        "circular-ai-bubble": version("circular-ai-bubble"),
        "mesa": version("mesa"),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }


def _as_json(value: Any, what: str) -> Any:
    """`value` as it reads back from JSON, so fresh and resumed runs see identical configs."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be plain JSON data (no NaN/inf): {exc}") from None


def _check_scenarios(scenarios: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(scenarios, Mapping) or not scenarios:
        raise InputError("scenarios must be a non-empty dict of scenario name -> config dict")
    checked: dict[str, dict[str, Any]] = {}
    for name, config in scenarios.items():
        if not isinstance(name, str) or not store.NAME_RE.match(name):
            raise InputError(
                f"scenario name {name!r} must start with a letter or digit and use only "
                "letters, digits, '.', '_' or '-' (it names a folder)"
            )
        if not isinstance(config, Mapping):
            raise InputError(f"scenario {name!r}: config must be a dict, got {type(config).__name__}")
        checked[name] = _as_json(dict(config), f"scenario {name!r} config")
    return checked


def _check_years(years: Any) -> int | float:
    if isinstance(years, bool) or not isinstance(years, (int, float, np.integer, np.floating)):
        raise InputError(f"years must be a number, got {years!r}")
    if not math.isfinite(years) or years <= 0:
        raise InputError(f"years must be positive and finite, got {years!r}")
    return int(years) if isinstance(years, (int, np.integer)) else float(years)


# --------------------------------------------------------------------------- progress


def _progress_mode(progress: str | bool | None) -> str:
    if progress in (None, "auto", True):
        return "bar" if (progress is True or _stderr_is_tty()) else "log"
    if progress is False:
        return "off"
    if progress not in ("bar", "log", "off"):
        raise InputError(f"progress must be None, 'auto', 'bar', 'log' or 'off', got {progress!r}")
    return progress


class _Progress:
    """A tqdm bar on a terminal; otherwise a stderr line every 10% of the runs or 30 s."""

    def __init__(self, mode: str, total: int, skipped: int, where: str) -> None:
        self.mode, self.total, self.skipped = mode, total, skipped
        self.done, self.failed = skipped, 0
        self.start = self.last_print = time.monotonic()
        # Whole tenths, so float steps cannot skip a report.
        self.next_tenth = (10 * skipped) // total + 1 if total else 11
        self.bar = None
        if mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=skipped, unit="run", desc="experiment", file=sys.stderr)
        elif mode == "log" and skipped < total:
            self._print(f"{total} runs, {skipped} already done; running on {where}")

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        if self.bar is not None:
            self.bar.update(1)
            if failed:
                self.bar.set_postfix(failed=self.failed)
            return
        if self.mode != "log":
            return
        now = time.monotonic()
        if 10 * self.done >= self.next_tenth * self.total or now - self.last_print >= HEARTBEAT_SECONDS:
            self.next_tenth = (10 * self.done) // self.total + 1
            elapsed = now - self.start
            ran = self.done - self.skipped
            left = elapsed / ran * (self.total - self.done) if ran else 0.0
            self._print(
                f"{self.done}/{self.total} runs ({self.done / self.total:.0%}), {self.failed} failed, "
                f"elapsed {_fmt_duration(elapsed)}, about {_fmt_duration(left)} left"
            )

    def heartbeat(self) -> None:
        if self.mode == "log" and time.monotonic() - self.last_print >= HEARTBEAT_SECONDS:
            self._print(
                f"{self.done}/{self.total} runs, {self.failed} failed, still running "
                f"(elapsed {_fmt_duration(time.monotonic() - self.start)})"
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def report(self, summary: ExperimentSummary) -> None:
        self.close()
        if self.mode != "off":
            self._print(str(summary))

    def _print(self, message: str) -> None:
        self.last_print = time.monotonic()
        print(f"[experiment] {message}", file=sys.stderr, flush=True)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- the runner


def _run_all(
    pool: cf.Executor,
    window: int,
    run_fn: Callable,
    todo: Iterable[RunTask],
    on_idle: Callable[[], None] = lambda: None,
    run_timeout: float | None = None,
) -> Iterator[tuple[RunTask, dict]]:
    """Yield (task, outcome) as runs finish, keeping at most `window` runs in flight.

    `on_idle` is called whenever HEARTBEAT_SECONDS pass without a run finishing.
    """
    queue = iter(todo)
    in_flight: dict[cf.Future, RunTask] = {}
    exhausted = False
    while True:
        while not exhausted and len(in_flight) < window:
            task = next(queue, None)
            if task is None:
                exhausted = True
                break
            try:
                in_flight[pool.submit(_execute, run_fn, task, run_timeout)] = task
            except Exception as exc:  # e.g. a broken pool: the run is recorded, not lost
                yield task, _failure_from_exception(exc)
        if not in_flight:
            return
        done, _ = cf.wait(in_flight, timeout=HEARTBEAT_SECONDS, return_when=cf.FIRST_COMPLETED)
        if not done:
            on_idle()
            continue
        for future in done:
            task = in_flight.pop(future)
            try:
                outcome = future.result()
            except Exception as exc:  # the executor lost the run (dead worker, pickling, ...)
                outcome = _failure_from_exception(exc)
            yield task, outcome
        # Finished futures hold their results; let them go before waiting for more.
        del done, future, outcome


def _record(out_dir: Path, task: RunTask, outcome: dict) -> bool:
    """Store one outcome; True if the run succeeded. Storage errors (disk full) propagate."""
    if outcome.get("ok"):
        store.store_run(out_dir, task, outcome)
        store.failure_path(out_dir, task.scenario, task.replicate).unlink(missing_ok=True)
        return True
    store.store_failure(out_dir, task, outcome)
    return False


def _to_do(out_dir: Path, tasks: list[RunTask]) -> list[RunTask]:
    """The tasks to run: those without a finished run, and those whose finished run fails
    verification (one line each, saying why; its done.json goes first)."""
    todo, unverifiable = [], 0
    for task in tasks:
        folder = store.run_dir(out_dir, task.scenario, task.replicate)
        if not (folder / DONE_NAME).is_file():
            todo.append(task)
            continue
        problem = store.verify_run(folder)
        if problem is None or problem == store.UNVERIFIABLE:
            unverifiable += problem is not None
            # A success whose old failure record outlived a kill between the two writes.
            store.failure_path(out_dir, task.scenario, task.replicate).unlink(missing_ok=True)
            continue
        print(f"[experiment] redoing {task.scenario}/{task.replicate:05d}: {problem}", file=sys.stderr, flush=True)
        # Gone before anything else runs, so no reader takes it for a finished run.
        (folder / DONE_NAME).unlink(missing_ok=True)
        todo.append(task)
    if unverifiable:
        print(
            f"[experiment] note: {unverifiable} finished run(s) predate checksums and are trusted unverified",
            file=sys.stderr,
            flush=True,
        )
    return todo


def run_experiment(
    out_dir: str | os.PathLike,
    scenarios: dict[str, dict],
    run_fn: Callable[[RunTask], Mapping[str, pd.DataFrame]],
    n_seeds: int,
    root_seed: int = 0,
    years: int | float = 10,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
    manifest_extra: dict | None = None,
    run_timeout: float | None = None,
    lock: bool = True,
) -> ExperimentSummary:
    """Run `n_seeds` replicates of every scenario into `out_dir`, resuming what is there.

    options: where the runs execute (`ExecutorOptions`; default a process pool of
    os.cpu_count() workers).
    progress: None/"auto" (a bar on a terminal, log lines otherwise), "bar", "log" or "off".
    manifest_extra: JSON data merged into the manifest's "extra" (not compared on resume,
    except its "command": a folder another command made is refused).
    run_timeout: seconds a run may take before it is stopped and recorded as a failure
    (default `options.run_timeout`, one hour; None for no limit; see the module docstring).
    lock: take the folder's lock here (default); False when the caller already holds it
    with `runs.store.exclusive` (the commands do, to keep it through their analysis).
    Finished runs whose files fail verification are redone (one line each on stderr).
    A run that raises is recorded under out_dir/failures and retried on the next call; it
    does not stop the others. Check `summary.failed`.
    """
    started = time.monotonic()
    scenarios = _check_scenarios(scenarios)
    seeds = replicate_seeds(root_seed, n_seeds)
    root_seed, n_seeds = int(root_seed), int(n_seeds)
    if n_seeds < 1:
        raise InputError(f"n_seeds must be at least 1, got {n_seeds}")
    years = _check_years(years)
    extra = _as_json(dict(manifest_extra or {}), "manifest_extra")
    mode = _progress_mode(progress)
    options = ExecutorOptions() if options is None else options
    if not isinstance(options, ExecutorOptions):
        raise InputError(f"options must be an ExecutorOptions, got {type(options).__name__}")
    options.check()
    run_timeout = (
        options.run_timeout if run_timeout is None else ExecutorOptions(run_timeout=run_timeout).check().run_timeout
    )
    if not callable(run_fn):
        raise InputError(f"run_fn must be callable, got {type(run_fn).__name__}")
    if options.executor != "serial":
        try:
            pickle.dumps(run_fn)
        except Exception as exc:
            raise InputError(f"run_fn cannot be sent to worker processes ({exc}); define it at module level") from None

    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"out_dir {out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)

    with store.exclusive(out_dir) if lock else contextlib.nullcontext():
        old = store.read_manifest(out_dir)
        if old is None and any((out_dir / sub).exists() for sub in (RUNS_DIR, FAILURES_DIR)):
            raise InputError(f"experiment folder {out_dir} has runs but no {MANIFEST_NAME}; use a new out_dir")
        if old is not None:
            store.check_resumable(out_dir, old, scenarios, root_seed, years, n_seeds, extra.get("command"))
        store.remove_leftovers(out_dir)
        versions = _versions()
        if old is not None and old.get("versions") != versions:
            print(
                f"[experiment] warning: resuming {out_dir} with other package versions than it "
                f"was started with ({old.get('versions')} -> {versions})",
                file=sys.stderr,
            )
        now = store.iso(time.time())
        store.write_manifest(
            out_dir,
            {
                "format": MANIFEST_FORMAT,
                "created": old["created"] if old else now,
                "updated": now,
                "scenarios": scenarios,
                "parameters": {"n_seeds": n_seeds, "root_seed": root_seed, "years": years},
                "seeds": seeds,
                "versions": old["versions"] if old else versions,
                # One entry per call, so a resumed experiment shows what ran it and when.
                "sessions": (old.get("sessions", []) if old else [])
                + [{"started": now, "n_seeds": n_seeds, "executor": options.executor, "versions": versions}],
                "extra": {**(old.get("extra", {}) if old else {}), **extra},
            },
        )

        # Replicate-major order, so a partial experiment holds whole pairs across scenarios.
        tasks = [
            RunTask(scenario=name, config=config, replicate=i, seed=seeds[i], years=years)
            for i in range(n_seeds)
            for name, config in scenarios.items()
        ]
        todo = _to_do(out_dir, tasks)
        skipped = len(tasks) - len(todo)

        ran, failures = 0, []
        if todo:
            with open_executor(options) as (pool, window, where):
                report = _Progress(mode, len(tasks), skipped, where)
                try:
                    for task, outcome in _run_all(pool, window, run_fn, todo, report.heartbeat, run_timeout):
                        ok = _record(out_dir, task, outcome)
                        del outcome  # the parent never holds more than the runs in flight
                        ran += ok
                        if not ok:
                            failures.append((task.scenario, task.replicate))
                        report.update(failed=not ok)
                finally:
                    report.close()
        else:
            report = _Progress(mode, len(tasks), skipped, "nothing to run")
        summary = ExperimentSummary(
            out_dir=out_dir,
            total=len(tasks),
            ran=ran,
            skipped=skipped,
            failed=len(failures),
            failures=tuple(failures),
            seconds=time.monotonic() - started,
        )
        report.report(summary)
        return summary
