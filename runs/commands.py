"""What the experiment commands (`baseline`, `compare`, `sweep`) and the scripts share.

This module owns the options every experiment command takes (seeds, horizon, output folder,
`--set KEY=VALUE` overrides, executor), how scenario names or TOML paths with overrides
become the labelled, fully resolved configs a `RunTask` carries, and how a finished
experiment's `episodes` tables become the lifetimes table the survival analysis reads.
Everything here checks its input before anything runs: bad input raises `InputError`, so
the user sees one line and exit status 2 and no folder is created. Results that cannot be
analysed after the runs (a table the run function did not produce) are `ResultError`s:
the runs are kept on disk, the command says what is missing and exits with status 1.

Importing this module loads no pandas, numpy or model code (the command line builds its
parsers from it); those are imported by the functions that need them.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import datetime as dt
import functools
import hashlib
import json
import math
import re
import sys
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs.executors import DEFAULT_RUN_TIMEOUT, EXECUTORS, ExecutorOptions
from runs.store import write_atomic

if TYPE_CHECKING:
    import pandas as pd

    from runs.experiment import ExperimentSummary

WEEKS_PER_YEAR = 52
MEASURES = ("remaining", "lifetime")
# Which episodes of each run a lifetime analysis takes: the headline (first) episode, the ones
# after it, or all of them pooled (then intervals are bootstrapped over seeds).
EPISODE_KINDS = ("first", "later", "all")
EPISODE_TEXT = {
    "first": "the first episode of each run",
    "later": "episodes after each run's first",
    "all": "every episode, pooled (intervals by a bootstrap over seeds)",
}
# Columns of lifetimes.parquet, in order; the survival module reads lifetime_weeks and censored.
LIFETIME_COLUMNS = ["scenario", "seed", "replicate", "start", "burst", "lifetime_weeks", "censored", "cause", "first"]
MEASURE_TEXT = {
    "lifetime": "lifetime: from the episode's start to its burst (a boom under way at the "
    "scenario start counts from the scenario's boom_started date)",
    "remaining": "remaining life: from the scenario's start date to the burst",
}
MEASURE_AXIS = {"lifetime": "lifetime from start", "remaining": "remaining life from the scenario start"}
# What P(burst within the horizon) counts from, per measure.
MEASURE_FROM = {"lifetime": "of its start", "remaining": "of the scenario start"}

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_][A-Za-z0-9_-]*)*$")
_LABEL_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_LABEL_MAX = 100


class ResultError(Exception):
    """The runs finished but their tables cannot be analysed (the model broke the data contract)."""


# --------------------------------------------------------------------------- --set values


def parse_value(text: str) -> Any:
    """A command-line value read as TOML: 0.05, 3, true, "quoted", 2026-01-01; else a bare string."""
    text = text.strip()
    if not text:
        raise InputError("empty value")
    if "\n" in text or "\r" in text:
        raise InputError(f"a value on more than one line: {text.splitlines()[0][:40]!r}...")
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except ValueError as exc:  # tomllib refuses integers over 4300 digits with a plain ValueError
        if not isinstance(exc, tomllib.TOMLDecodeError):
            raise InputError(f"a number of {len(text)} characters is too long to read") from None
        # A bare word (strict, gaap_2026) is not TOML, but it is what people type.
        return text


def parameter_key(name: str) -> str:
    """A short constructor name (interest_rate) as its dotted scenario field; dotted keys unchanged."""
    from dataclasses import fields

    from model.model import PARAMETERS
    from model.scenario import ScenarioConfig

    if not _KEY_RE.match(name):
        raise InputError(f"parameter name {name!r} is not a dotted scenario field like economy.interest_rate")
    if "." not in name and name not in PARAMETERS and name not in {f.name for f in fields(ScenarioConfig)}:
        raise InputError(
            f"unknown parameter {name!r}: give a short name ({', '.join(PARAMETERS)}) "
            "or a dotted scenario field such as market.passive_share"
        )
    return PARAMETERS.get(name, name)


def parse_assignment(text: str, option: str = "--set") -> tuple[str, Any]:
    """'KEY=VALUE' as (dotted key, value); InputError naming the option when malformed."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise InputError(f"{option} expects KEY=VALUE (e.g. economy.interest_rate=0.05), got {text!r}")
    try:
        parsed = parse_value(value)
    except InputError as exc:
        reason = "empty value after '='" if not value.strip() else str(exc)
        raise InputError(f"{option} {key}: {reason}") from None
    return parameter_key(key), parsed


def parse_overrides(items: Iterable[str] | None) -> dict[str, Any]:
    """Repeated --set KEY=VALUE options as one {dotted key: value} dict; a key given twice is refused."""
    overrides: dict[str, Any] = {}
    for item in items or ():
        key, value = parse_assignment(item)
        if key in overrides:
            raise InputError(f"--set {key} given twice")
        overrides[key] = value
    return overrides


# --------------------------------------------------------------------------- labels


def short_name(key: str) -> str:
    """A readable name for a dotted key: the constructor name, the field, or Lab.field."""
    from model.model import PARAMETERS

    for short, dotted in PARAMETERS.items():
        if dotted == key:
            return short
    parts = key.split(".")
    if len(parts) == 2 and parts[0] in _tables_with_field(parts[1]) and len(_tables_with_field(parts[1])) == 1:
        return parts[1]  # economy.interest_rate -> interest_rate, unless another table has the field too
    return ".".join(parts[1:]) if len(parts) > 2 else key


def _tables_with_field(name: str) -> list[str]:
    """Scenario tables ([economy], [market], ...) that have a field called `name`."""
    import typing
    from dataclasses import fields, is_dataclass

    from model.scenario import ScenarioConfig

    hints = typing.get_type_hints(ScenarioConfig)
    return [table for table, kind in hints.items() if is_dataclass(kind) and any(f.name == name for f in fields(kind))]


def value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), default=str)


def safe_label(text: str) -> str:
    """`text` as a folder name the runner accepts; long labels keep a hash so they stay distinct."""
    label = _LABEL_BAD.sub("_", text).strip("_.-") or "scenario"
    if len(label) > _LABEL_MAX:
        digest = hashlib.sha1(text.encode()).hexdigest()[:8]
        label = f"{label[: _LABEL_MAX - 9]}-{digest}"
    return label


def scenario_label(name_or_path: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The scenario's name, or the file stem for a TOML path, plus `_field-value` per override."""
    text = str(name_or_path)
    base = Path(text).stem if (text.endswith(".toml") or "/" in text or "\\" in text) else text
    parts = [base] + [f"{short_name(k)}-{value_text(v)}" for k, v in (overrides or {}).items()]
    return safe_label("_".join(parts))


# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Resolved:
    """One scenario of an experiment: its label, what the user gave, and the config a task carries."""

    label: str
    source: str
    overrides: dict[str, Any]
    config: dict[str, Any]

    @property
    def years(self) -> float:
        return float(self.config["run"]["years"])


def resolve(
    name_or_path: str,
    overrides: Mapping[str, Any] | None = None,
    years: float | None = None,
) -> Resolved:
    """Load and validate a scenario with overrides (InputError if anything is wrong)."""
    from model.scenario import load

    if years is not None and (isinstance(years, bool) or not isinstance(years, (int, float)) or not years > 0):
        raise InputError(f"--years must be a positive number, got {years!r}")
    overrides = dict(overrides or {})
    if years is not None and "run.years" in overrides:
        raise InputError("the horizon is given twice (--years and --set run.years); give it once")
    config = load(name_or_path, {**overrides, **({} if years is None else {"run.years": years})}, "--set").to_dict()
    return Resolved(
        label=scenario_label(name_or_path, overrides),
        source=str(name_or_path),
        overrides=overrides,
        config=config,
    )


def common_years(configs: Mapping[str, Mapping]) -> int | float:
    """The one horizon (years) every resolved scenario config shares; InputError if they differ."""
    horizons = {label: float(config["run"]["years"]) for label, config in configs.items()}
    if len(set(horizons.values())) > 1:
        listed = ", ".join(f"{label} {years:g}" for label, years in horizons.items())
        raise InputError(f"the scenarios run for different horizons (years: {listed}); give --years")
    years = next(iter(horizons.values()))
    return int(years) if years.is_integer() else years


def experiment_scenarios(resolved: Sequence[Resolved]) -> tuple[dict[str, dict], int | float]:
    """{label: config} for run_experiment, and the one horizon (years) all scenarios share."""
    labels = [r.label for r in resolved]
    twice = sorted({lab for lab in labels if labels.count(lab) > 1})
    if twice:
        raise InputError(f"scenario {twice[0]!r} given twice; give each scenario once")
    configs = {r.label: r.config for r in resolved}
    return configs, common_years(configs)


# --------------------------------------------------------------------------- options


def add_experiment_options(
    parser: argparse.ArgumentParser, seeds: int, scenario: bool = True, lifetimes: bool = True
) -> None:
    """Options every experiment command takes; `scenario` adds --scenario (compare has positionals),
    `lifetimes` adds --measure and --episodes (sensitivity has one fixed measure)."""
    if scenario:
        parser.add_argument(
            "--scenario", default="baseline", metavar="NAME", help="scenario name or TOML path (default: baseline)"
        )
    parser.add_argument(
        "--seeds",
        type=int,
        default=seeds,
        metavar="N",
        help=f"replicates per scenario (default {seeds}); replicate i has the same seed in every scenario",
    )
    parser.add_argument(
        "--root-seed",
        type=int,
        default=0,
        metavar="N",
        help="root seed the replicate seeds are spawned from (default 0)",
    )
    parser.add_argument("--years", type=float, metavar="Y", help="horizon in years (default: the scenario's run.years)")
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default out/<command>/<scenarios>); rerunning into it resumes"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="set",
        help="override a scenario field, e.g. economy.interest_rate=0.05 or "
        "labs.OpenAI.revenue_growth=0.8 or a short name (interest_rate=0.05); "
        "VALUE is read as TOML (numbers, true/false, strings); repeatable",
    )
    if lifetimes:
        _add_lifetime_options(parser)
    # The run function is not a command-line option (it would import whatever is importable,
    # the current folder first): a stand-in model goes through the Python API's run_fn=.
    add_executor_options(parser)


def _add_lifetime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--measure",
        choices=MEASURES,
        default="remaining",
        help="remaining (scenario start to burst, default: 'how long from now?') or "
        "lifetime (the episode's start to its burst)",
    )
    parser.add_argument(
        "--episodes",
        choices=EPISODE_KINDS,
        default="first",
        dest="episode_kind",
        help="first (each run's headline episode, default), later (the ones after it) "
        "or all (pooled; intervals bootstrapped over seeds)",
    )


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Where the runs execute: --executor, --workers, --scheduler, --dask-local
    (read back with `runs.executors.ExecutorOptions.from_args`)."""
    parser.add_argument("--executor", choices=EXECUTORS, default="process", help="where runs execute (default process)")
    parser.add_argument("--workers", type=int, metavar="N", help="worker processes (default: all CPUs)")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler to join, e.g. tcp://host:8786 (with --executor dask)"
    )
    parser.add_argument(
        "--dask-local", type=int, metavar="N", help="start a local Dask cluster of N workers (with --executor dask)"
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        metavar="SECONDS",
        help=f"stop a run that takes longer and record it as failed (default {DEFAULT_RUN_TIMEOUT:g}, one hour)",
    )


def describe(doc: str) -> str:
    """A command module's first docstring line, without its '`python -m runs X`: ' lead-in."""
    text = doc.splitlines()[0].split(": ", 1)[-1]
    return text[:1].upper() + text[1:]


def check_counts(args: argparse.Namespace) -> None:
    """The numeric options argparse cannot bound (`check_limits`) and the executor's, before anything runs."""
    check_limits(args)
    if args.out is not None:
        check_out_dir(args.out)
    timeout = getattr(args, "run_timeout", None)
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise InputError(f"--run-timeout must be a positive number of seconds, got {timeout:g}")
    if (args.scheduler or args.dask_local) and args.executor != "dask":
        raise InputError("--scheduler and --dask-local need --executor dask")
    if args.scheduler and args.dask_local:
        raise InputError("give either --scheduler or --dask-local, not both")


def years_option(args: argparse.Namespace) -> float | None:
    if args.years is None:
        return None
    return int(args.years) if float(args.years).is_integer() else float(args.years)


def run_function(spec: None = None) -> Callable:
    """The model's run function, `runs.simulate.run_task`.

    A stand-in is passed as a callable to the Python API (`run_baseline(..., run_fn=...)`);
    naming one by module on the command line is no longer possible (it imported whatever was
    importable, the current folder first), and a name given here is refused.
    """
    if spec is not None:
        raise InputError("a run function cannot be named on the command line; pass run_fn= to the Python API")
    from runs.simulate import run_task

    return run_task


def default_out(command: str, labels: Sequence[str]) -> Path:
    return Path("out") / command / safe_label("-vs-".join(labels))


# --------------------------------------------------------------------------- input limits

# Bounds of the numeric options, by argparse dest: (low, high, integer, low excluded). Checked
# by `check_limits` before anything runs, in every command and script that has the option.
MAX_SEED = 2**63 - 1
LIMITS: dict[str, tuple[float, float, bool, bool]] = {
    "seeds": (1, 100_000, True, False),
    "root_seed": (0, MAX_SEED, True, False),
    "seed": (0, MAX_SEED, True, False),
    "years": (0, 50, False, True),
    "workers": (1, 1024, True, False),
    "dask_local": (1, 1024, True, False),
    "psy_reps": (20, 100_000, True, False),
    "reps": (20, 100_000, True, False),
    "bootstrap": (10, 100_000, True, False),
    "lag": (0, 100, True, False),
    "min_window": (1, 10_000_000, True, False),
    "run_timeout": (0, 7 * 24 * 3600, False, True),  # seconds per run, at most a week
    "trajectories": (2, 10_000, True, False),  # sensitivity: Morris trajectories
    "samples": (2, 65_536, True, False),  # sensitivity: Sobol base samples
    "short": (0, 50, False, True),  # discover: years
    "long": (0, 50, False, True),
    "min_coverage": (0, 1, False, True),
    "mass_min": (0, 0.5, False, True),
    "max_qp": (0, 1, False, True),
    "boxes": (1, 10, True, False),
}
# Filesystems that are views of the kernel, not places for results.
SPECIAL_DIRS = ("/proc", "/sys", "/dev")


def check_number(value: Any, option: str, low: float, high: float, *, integer: bool, low_open: bool = False) -> Any:
    """`value` if it is a finite number (a whole one if `integer`) in [low, high] (or (low, high]
    with `low_open`); otherwise InputError naming the option and the range."""
    where = f"{'(' if low_open else '['}{low:g}, {high:g}]" if high < 1e15 else f"{low:g}..2**63-1"
    kind = "a whole number" if integer else "a finite number"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{option} must be {kind} in {where}, got {value!r}")
    if integer and not (isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())):
        raise InputError(f"{option} must be {kind} in {where}, got {value!r}")
    if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
        shown = f"{value:g}" if isinstance(value, float) else (str(value) if abs(value) < 10**20 else f"{value:.3g}")
        raise InputError(f"{option} must be {kind} in {where}, got {shown}")
    return value


def check_limits(args: argparse.Namespace) -> None:
    """Every numeric option of `args` named in LIMITS within its bounds (InputError otherwise)."""
    for dest, (low, high, integer, low_open) in LIMITS.items():
        value = getattr(args, dest, None)
        if value is not None:
            check_number(value, "--" + dest.replace("_", "-"), low, high, integer=integer, low_open=low_open)


def check_out_dir(path: str | Path, option: str = "--out") -> Path:
    """The output folder `path` if it can be created and written; InputError naming the option if not.

    Refused: an empty path, a path whose existing part is a file (or lies under one), a path in
    /proc, /sys or /dev, a name too long for the filesystem, and a folder (or its nearest existing
    parent) in which a probe file cannot be created. Nothing is left behind: the probe file is
    removed and no folder is created.
    """
    import os
    import tempfile

    text = str(path)
    if not text.strip() or "\0" in text:
        raise InputError(f"{option} {text!r}: not a usable folder name")
    given = Path(text).expanduser()
    # The path as typed, part by part: the system walks it so (`afile/../x` fails at afile even
    # though it resolves to ./x), and a link to a missing target can be neither used nor made.
    prefix = Path(given.parts[0]) if given.parts else given
    for part in given.parts[1:]:
        if os.path.lexists(prefix) and not os.path.isdir(prefix):
            raise InputError(f"{option} {text}: {prefix} is a file, so no folder can be made under it")
        prefix = prefix / part
    if os.path.islink(given) and not os.path.exists(given):
        raise InputError(f"{option} {text}: a link to a missing target")
    real = Path(os.path.realpath(given))
    for special in SPECIAL_DIRS:
        if real == Path(special) or Path(special) in real.parents:
            raise InputError(f"{option} {text}: {special} is a system filesystem, not a place for results")
    if any(len(os.fsencode(part)) > 255 for part in real.parts) or len(os.fsencode(str(real))) > 4000:
        raise InputError(f"{option} {text}: the name is too long for the filesystem")
    existing = real
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        if existing == real:
            raise InputError(f"{option} {text}: exists and is not a folder")
        raise InputError(f"{option} {text}: {existing} is a file, so no folder can be made under it")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe-", dir=existing)
    except OSError as exc:
        raise InputError(f"{option} {text}: cannot write in {existing} ({exc.strerror or exc})") from None
    os.close(fd)
    os.unlink(probe)
    return given


# --------------------------------------------------------------------------- running


@dataclass
class Outcome:
    """What a command did: the runner's summary, tables and figures written, and warnings."""

    out_dir: Path
    summary: ExperimentSummary | None = None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    paths: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def table(self, frame: pd.DataFrame, name: str) -> Path:
        """Store a result table as out_dir/<name>.parquet (atomically) and remember it."""
        path = write_atomic(self.out_dir / f"{name}.parquet", lambda tmp: frame.to_parquet(tmp, index=False))
        self.tables[name] = frame
        self.paths.append(path)
        return path

    def figure(self, fig, name: str, dpi: int = 110) -> Path:
        """Store a figure as out_dir/<name>.png (atomically)."""
        path = write_atomic(self.out_dir / f"{name}.png", lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
        self.paths.append(path)
        return path

    def warn(self, message: str) -> None:
        """Something the command could not produce: printed now, and the exit status becomes 1."""
        self.warnings.append(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)

    @staticmethod
    def note(message: str) -> None:
        """Something the reader should know that leaves the results complete."""
        print(f"note: {message}", file=sys.stderr, flush=True)

    @property
    def ok(self) -> bool:
        return (self.summary is None or self.summary.ok) and not self.warnings

    def report(self, lines: Iterable[str]) -> int:
        """Print the summary lines and the paths written; the exit status: 0, or 1 if incomplete."""
        for line in lines:
            print(line)
        if self.paths:
            print("wrote:")
            for path in self.paths:
                print(f"  {path}")
        if self.summary is not None and not self.summary.ok:
            print(
                f"{self.summary.failed} run(s) failed and were left out; see "
                f"{self.out_dir / 'failures'}; rerun the same command to retry them"
            )
        return 0 if self.ok else 1


_LOCK_SCOPE: contextvars.ContextVar[contextlib.ExitStack | None] = contextvars.ContextVar("lock_scope", default=None)


def holding_lock(command: Callable) -> Callable:
    """Decorate a command function so that the out-folder lock `execute` takes is held until
    the command returns: from the first run through the analysis to the last result written,
    so a second runner on the same folder is refused (InputError) instead of interleaving."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        with contextlib.ExitStack() as stack:
            token = _LOCK_SCOPE.set(stack)
            try:
                return command(*args, **kwargs)
            finally:
                _LOCK_SCOPE.reset(token)

    return wrapper


def execute(
    out_dir: Path,
    scenarios: dict[str, dict],
    run_fn: Callable,
    n_seeds: int,
    root_seed: int,
    years: float,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
    extra: dict | None = None,
) -> Outcome:
    """Run (or resume) the experiment into out_dir and return an Outcome to add results to.

    Inside a `holding_lock` command the folder's lock (`runs.store.exclusive`) is taken here
    and kept until the command returns; otherwise it is released when the runs are done.
    """
    from runs import store
    from runs.experiment import run_experiment

    check_out_dir(out_dir)  # the default folder too, before the runner creates anything
    scope = _LOCK_SCOPE.get()
    if scope is not None:
        scope.enter_context(store.exclusive(Path(out_dir)))
    summary = run_experiment(
        out_dir,
        scenarios,
        run_fn,
        n_seeds=n_seeds,
        root_seed=root_seed,
        years=years,
        options=options,
        progress=progress,
        manifest_extra=extra,
        lock=scope is None,
    )
    return Outcome(out_dir=Path(out_dir), summary=summary)


def need_columns(table: pd.DataFrame | None, name: str, columns: Iterable[str]) -> None:
    if table is None:
        raise ResultError(f"the runs produced no {name!r} table")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ResultError(f"table {name!r} lacks column(s) {missing}")


# --------------------------------------------------------------------------- lifetimes


def lifetimes(episodes: pd.DataFrame | None, measure: str = "remaining", kind: str = "all") -> pd.DataFrame:
    """One row per chosen bubble episode with LIFETIME_COLUMNS; lifetime_weeks holds the measure.

    `episodes` is the loaded `episodes` table of an experiment (with scenario, replicate and
    seed). `kind` picks each run's first episode, the later ones, or all (default). Tables
    written before the `first` column existed get it from the order of each run's episodes.
    Dates become datetime64 with NaT for the burst of a censored episode.
    """
    import numpy as np
    import pandas as pd

    if measure not in MEASURES:
        raise InputError(f"measure must be one of {', '.join(MEASURES)}, got {measure!r}")
    source = "lifetime_weeks" if measure == "lifetime" else "remaining_weeks"
    need_columns(episodes, "episodes", ["scenario", "replicate", "seed", "start", "burst", source, "censored"])
    if "first" in episodes:
        first = episodes["first"].fillna(False).astype(bool)
    else:
        first = ~episodes.duplicated(["scenario", "replicate"], keep="first")
    frame = pd.DataFrame(
        {
            "scenario": episodes["scenario"].astype(str),
            "seed": episodes["seed"].astype(np.int64),
            "replicate": episodes["replicate"].astype(np.int64),
            "start": pd.to_datetime(episodes["start"]),
            "burst": pd.to_datetime(episodes["burst"]),
            "lifetime_weeks": pd.to_numeric(episodes[source], errors="coerce").astype(float),
            "censored": episodes["censored"].fillna(True).astype(bool),
            "cause": (episodes["cause"] if "cause" in episodes else pd.Series(None, index=episodes.index))
            .astype(object)
            .where(lambda s: s.notna(), None),
            "first": first.to_numpy(),
        }
    )
    return chosen_episodes(frame[LIFETIME_COLUMNS].reset_index(drop=True), kind)


def chosen_episodes(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """The rows of a lifetimes table (every episode, with `first`) that an analysis of `kind` takes."""
    if kind not in EPISODE_KINDS:
        raise InputError(f"episodes must be one of {', '.join(EPISODE_KINDS)}, got {kind!r}")
    if kind == "all":
        return frame
    return frame[frame["first"] == (kind == "first")].reset_index(drop=True)


def later_episodes_lines(frame: pd.DataFrame, horizon: float, labels: Sequence[str], kind: str) -> list[str]:
    """Follow-on episodes, reported apart from the headline ones (never pooled with them silently)."""
    from runs import survival

    if kind != "first":
        return []
    later = chosen_episodes(frame, "later")
    lines = []
    for row in survival.lifetime_summary(later, horizon, scenarios=labels).itertuples():
        if row.n_episodes:
            lines.append(
                f"  {row.scenario}: {row.n_episodes} later episode(s) in {row.n_runs} run(s) after the "
                f"first burst (reported apart; median {row.median_text})"
            )
    return ["episodes after each run's first:", *lines] if lines else []


def usable_lifetimes(frame: pd.DataFrame, outcome: Outcome | None = None) -> pd.DataFrame:
    """Rows the survival analysis can use (finite, non-negative lifetimes); warns about the rest."""
    import numpy as np

    bad = ~np.isfinite(frame["lifetime_weeks"]) | (frame["lifetime_weeks"] < 0)
    if bad.any() and outcome is not None:
        outcome.note(f"{int(bad.sum())} episode(s) without a usable lifetime left out of the survival analysis")
    return frame[~bad].reset_index(drop=True)


def bubble_definition(config: Mapping[str, Any], measure: str, kind: str = "first") -> str:
    """The bubble definition stated on every plot, with the scenario's own parameters."""
    params = config.get("bubble") if isinstance(config, Mapping) else None
    params = params if isinstance(params, Mapping) else {}
    theta, weeks, drawdown = params.get("theta"), params.get("confirm_weeks"), params.get("drawdown")
    if None in (theta, weeks, drawdown):
        text = (
            "a bubble starts when the AI basket's price/fundamental exceeds 1 + theta for m weeks "
            "and bursts at the first X% drawdown from its running peak or when the ratio falls "
            "back under 1 + theta (design 7)"
        )
    else:
        text = (
            f"a bubble starts when the AI basket's price/fundamental stays above {1 + theta:g} "
            f"for {weeks:g} weeks and bursts at the first {drawdown:.0%} drawdown from its "
            f"running peak or when the ratio falls back under {1 + theta:g}"
        )
    return f"{text}. Shown: {EPISODE_TEXT[kind]}; {MEASURE_TEXT[measure]}."


def horizon_weeks(years: float) -> float:
    return float(round(years * WEEKS_PER_YEAR))


def burst_label(horizon: float, measure: str) -> str:
    return f"P(burst within {horizon / WEEKS_PER_YEAR:g} years {MEASURE_FROM[measure]})"


def weeks_text(weeks: float) -> str:
    """Weeks with their length in years, for summaries people read."""
    if weeks is None or not math.isfinite(weeks):
        return "n/a"
    return f"{weeks:.0f} weeks ({weeks / WEEKS_PER_YEAR:.1f} years)"
