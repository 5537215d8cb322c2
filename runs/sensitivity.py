"""`python -m runs sensitivity`: which parameters decide how long the AI bubble lives (Morris or Sobol).

This module owns the global sensitivity analysis of design section 9: the parameters and
their bounds come from a TOML file (`scenarios/sensitivity/default.toml` by default; each
parameter sets one scenario field or several to the same value, numbers drawn between
`low` and `high`, or one of a list of `values`), SALib draws the sample points (Morris
trajectories, Morris 1991 with Campolongo et al. 2007's mu*, or Saltelli's scheme for Sobol
indices, Saltelli et al. 2010), every point is a scenario of the experiment and all points
run on the same paired seeds through the resumable runner. A choice parameter is drawn as a
number u in [0, 1] and takes the value at index floor(u n) of its n values, so Morris' four
levels visit four values evenly.

Outcomes per point, each the mean over its seeds (`runs.decompose.outcome_row` per run):
`remaining_life`, the first bubble episode's remaining life from the scenario start in years,
restricted to the horizon, 0 for a run without an episode (the mean is the restricted mean of
"time to first burst", see `runs.decompose`); `episode_share`, the share of runs with an
episode (it tells how much of remaining_life is whether a bubble forms at all); `peak_pf`,
the AI basket's highest price/fundamental; `ai_premium`, the AI premium averaged over weeks.
The two ratios are analysed in logs. With more than one seed per point, `noise.parquet` says
how much of each outcome's variance is the seed's (within a point) rather than the
parameters': the indices apportion the variance of the point means, noise included, and are
read against it.

A point is used only if all its seeds finished; a Morris trajectory or a Sobol block
(N rows of the sample share a block of k + 2 points) with a missing point is dropped whole,
with a warning, since its elementary effects or estimators need every point. Results:
`samples.parquet` (per point: its label, the parameters' values, the outcomes, the runs
used), `noise.parquet`, `indices.parquet` (parameter, outcome, index, value, conf, low, high: Morris mu,
mu_star with its bootstrap interval, sigma; Sobol S1 and ST with theirs) and
`sensitivity.png`. `run_sensitivity` is the Python entry point.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs import commands
from runs.commands import Outcome, ResultError
from runs.executors import ExecutorOptions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

METHODS = ("morris", "sobol")
DEFAULT_PARAMETERS = Path(__file__).resolve().parent.parent / "scenarios" / "sensitivity" / "default.toml"
OUTCOMES = ("remaining_life", "episode_share", "peak_pf", "ai_premium")
OUTCOME_TEXT = {
    "remaining_life": "first episode's remaining life (years, restricted mean)",
    "episode_share": "share of runs with a bubble episode",
    "peak_pf": "peak price/fundamental of the AI basket",
    "ai_premium": "AI premium, mean over weeks",
}
# Ratios are analysed in logs: a week in which the rest of the market collapses would otherwise put
# one point's premium at 20 and let it decide the indices (found by a falsification review).
LOG_OUTCOMES = ("peak_pf", "ai_premium")
INDEX_TEXT = {name: text + (" (log)" if name in LOG_OUTCOMES else "") for name, text in OUTCOME_TEXT.items()}
INDEX_COLUMNS = ["parameter", "outcome", "index", "value", "conf", "low", "high"]
NOISE_COLUMNS = ["outcome", "run_variance", "within_point_variance", "noise_share_runs", "noise_share_means"]
DEFAULT_SEEDS = 4
DEFAULT_TRAJECTORIES = 10
DEFAULT_SAMPLES = 64  # Sobol base samples: a power of two (Sobol' sequences balance in powers of 2)
MORRIS_LEVELS = 4
RESAMPLES = 1000  # bootstrap resamples of SALib's confidence intervals
CONF_LEVEL = 0.95
MAX_PARAMETERS = 50
MAX_POINTS = 200_000
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_PARAMETER_KEYS = {"name", "field", "fields", "low", "high", "values"}


# --------------------------------------------------------------------------- command line


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sensitivity",
        help="global sensitivity of bubble lifetime, peak and premium (Morris or Sobol, SALib)",
        description=commands.describe(__doc__) + "\n\n"
        "Draws sample points of the parameters in a TOML file (default\n"
        "scenarios/sensitivity/default.toml) with SALib, runs (or resumes) every point on the same\n"
        "paired seeds, and writes indices.parquet (Morris mu, mu* with its 95%% interval and sigma, or\n"
        "Sobol S1 and ST with theirs, per parameter and outcome), samples.parquet and sensitivity.png.\n"
        "Outcomes: the first episode's remaining life (restricted mean, years), the share of runs\n"
        "with an episode, the peak price/fundamental and the mean AI premium.",
        epilog="examples:\n  python -m runs sensitivity --method morris --trajectories 4 --years 2 --out out/morris\n"
        "  python -m runs sensitivity --method sobol --samples 64 --seeds 2 --years 5 --out out/sobol",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--method", choices=METHODS, default="morris", help="morris (screening, default) or sobol")
    parser.add_argument(
        "--parameters",
        metavar="FILE",
        default=str(DEFAULT_PARAMETERS),
        help="TOML list of parameters and bounds (default: scenarios/sensitivity/default.toml)",
    )
    parser.add_argument(
        "--trajectories",
        type=int,
        default=DEFAULT_TRAJECTORIES,
        metavar="R",
        help=f"Morris trajectories, each k + 1 points for k parameters (default {DEFAULT_TRAJECTORIES})",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=DEFAULT_SAMPLES,
        metavar="N",
        help=f"Sobol base samples, a power of two; N (k + 2) points (default {DEFAULT_SAMPLES})",
    )
    # Lifetimes here are always the first episode's remaining life: no --measure or --episodes.
    commands.add_experiment_options(parser, seeds=DEFAULT_SEEDS, lifetimes=False)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    commands.check_counts(args)
    outcome, lines = run_sensitivity(
        args.method,
        args.parameters,
        args.scenario,
        trajectories=args.trajectories,
        samples=args.samples,
        n_seeds=args.seeds,
        out_dir=args.out,
        root_seed=args.root_seed,
        years=commands.years_option(args),
        overrides=commands.parse_overrides(args.set),
        options=ExecutorOptions.from_args(args),
    )
    return outcome.report(lines)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Parameter:
    """One parameter of the analysis: the scenario fields it sets, and its bounds or values."""

    name: str
    fields: tuple[str, ...]
    low: float = 0.0
    high: float = 1.0
    values: tuple | None = None  # a choice parameter's values; None for a number
    integer: bool = False

    @property
    def bounds(self) -> list[float]:
        """Its bounds in SALib's problem: a choice is drawn as u in [0, 1]."""
        return [0.0, 1.0] if self.values is not None else [float(self.low), float(self.high)]

    def value(self, u: float) -> Any:
        """The scenario value of a drawn number."""
        if self.values is not None:
            return self.values[min(int(u * len(self.values)), len(self.values) - 1)]
        if self.integer:
            return int(min(max(round(u), self.low), self.high))
        return float(min(max(u, self.low), self.high))  # SALib's scaling can round past an end

    def describe(self) -> dict:
        """Its definition as JSON data (for the manifest)."""
        out: dict[str, Any] = {"name": self.name, "fields": list(self.fields)}
        if self.values is not None:
            out["values"] = list(self.values)
        else:
            out.update(low=self.low, high=self.high)
        return out


def load_parameters(path: str | Path) -> list[Parameter]:
    """The parameters of a TOML file; InputError naming the file and the entry if anything is wrong.

    Field names and whether the bounds suit the fields are checked later, by validating the
    scenario at each sample point (`point_scenarios`).
    """
    path = Path(path)
    if path.exists() and not path.is_file():
        raise InputError(f"--parameters {path}: not a regular file")
    if not path.is_file():
        raise InputError(f"--parameters {path}: file not found")
    from model.scenario import read_toml

    raw = read_toml(path)
    extra = sorted(set(raw) - {"parameter"})
    if extra:
        raise InputError(f"{path}: unknown key {extra[0]!r}; the file holds [[parameter]] tables only")
    entries = raw.get("parameter")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{path}: needs at least one [[parameter]] table")
    if len(entries) > MAX_PARAMETERS:
        raise InputError(f"{path}: {len(entries)} parameters, at most {MAX_PARAMETERS}")
    params = [_parameter(entry, f"{path}: parameter {i + 1}") for i, entry in enumerate(entries)]
    names = [p.name for p in params]
    for name in names:
        if names.count(name) > 1:
            raise InputError(f"{path}: parameter {name!r} given twice")
    fields = [f for p in params for f in p.fields]
    for field in fields:
        if fields.count(field) > 1:
            raise InputError(f"{path}: field {field!r} is set by two parameters")
    return params


def _parameter(entry: dict, where: str) -> Parameter:
    unknown = sorted(set(entry) - _PARAMETER_KEYS)
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(_PARAMETER_KEYS))})")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InputError(f"{where}: 'name' must be a word of letters, digits and _ (at most 64), got {name!r}")
    where = f"{where} ({name})"
    if ("field" in entry) == ("fields" in entry):
        raise InputError(f"{where}: give either 'field' or 'fields'")
    fields = [entry["field"]] if "field" in entry else entry["fields"]
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) and f for f in fields):
        raise InputError(f"{where}: 'fields' must be a non-empty list of scenario fields")
    try:
        fields = tuple(commands.parameter_key(f) for f in fields)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    if "run.years" in fields:
        raise InputError(f"{where}: run.years is one per experiment (--years), not a parameter")
    if "values" in entry:
        if "low" in entry or "high" in entry:
            raise InputError(f"{where}: give either 'values' or 'low' and 'high'")
        values = entry["values"]
        if not isinstance(values, list) or len(values) < 2:
            raise InputError(f"{where}: 'values' must list at least two values")
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise InputError(f"{where}: 'values' must be numbers, true/false or text")
        if len({commands.value_text(v) for v in values}) != len(values):
            raise InputError(f"{where}: 'values' lists a value twice")
        return Parameter(name, fields, values=tuple(values))
    low, high = entry.get("low"), entry.get("high")
    for key, bound in (("low", low), ("high", high)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise InputError(f"{where}: '{key}' must be a finite number, got {bound!r}")
    if not low < high:
        raise InputError(f"{where}: 'low' must be below 'high', got {low!r} and {high!r}")
    integer = isinstance(low, int) and isinstance(high, int)
    return Parameter(name, fields, low=low, high=high, integer=integer)


def problem(params: Sequence[Parameter]) -> dict:
    """SALib's problem description of the parameters."""
    return {"num_vars": len(params), "names": [p.name for p in params], "bounds": [p.bounds for p in params]}


def draw(method: str, params: Sequence[Parameter], size: int, seed: int) -> np.ndarray:
    """The sample matrix (points x parameters) of `size` Morris trajectories or Sobol base samples."""
    from SALib.sample import morris, sobol

    if method == "morris":
        return morris.sample(problem(params), size, num_levels=MORRIS_LEVELS, seed=seed)
    # `size` is a power of two (checked by the caller): the Sobol' sequence keeps its balance.
    return sobol.sample(problem(params), size, calc_second_order=False, scramble=True, seed=seed)


def point_values(params: Sequence[Parameter], sample: np.ndarray) -> list[dict[str, Any]]:
    """Each sample point as {parameter name: scenario value}."""
    return [{p.name: p.value(float(u)) for p, u in zip(params, row, strict=True)} for row in sample]


def point_label(i: int) -> str:
    return f"p{i:06d}"


def point_scenarios(
    scenario: str,
    overrides: Mapping[str, Any] | None,
    years: float | None,
    params: Sequence[Parameter],
    values: Sequence[Mapping[str, Any]],
    source: str,
) -> dict[str, dict]:
    """{point label: validated scenario config}; InputError naming the point and parameters if one is bad."""
    from model.scenario import load

    overrides = dict(overrides or {})
    commands.resolve(scenario, overrides, years)  # a bad --set or scenario is reported as such
    fields = {f: p for p in params for f in p.fields}
    clash = sorted(set(fields) & set(overrides))
    if clash:
        raise InputError(f"{clash[0]} is a parameter of {source} and also given with --set")
    run = {} if years is None else {"run.years": years}
    configs = {}
    for i, point in enumerate(values):
        setting = {f: point[p.name] for f, p in fields.items()}
        try:
            configs[point_label(i)] = load(scenario, {**overrides, **setting, **run}, source).to_dict()
        except InputError as exc:
            named = ", ".join(f"{k}={commands.value_text(v)}" for k, v in point.items())
            raise InputError(f"sample point {i} ({named}): {exc}") from None
    return configs


# --------------------------------------------------------------------------- the experiment


@commands.holding_lock
def run_sensitivity(
    method: str = "morris",
    parameters: str | Path = DEFAULT_PARAMETERS,
    scenario: str = "baseline",
    *,
    trajectories: int = DEFAULT_TRAJECTORIES,
    samples: int = DEFAULT_SAMPLES,
    n_seeds: int = DEFAULT_SEEDS,
    out_dir: str | Path | None = None,
    root_seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    run_fn: Callable | None = None,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
) -> tuple[Outcome, list[str]]:
    """Draw, run (or resume) and analyse a sensitivity experiment; the Outcome and the lines to print.

    The sample depends only on the parameters, the method, its size and `root_seed`, so a
    rerun with the same arguments resumes the same points.
    """
    from runs.decompose import run_outcomes

    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    size = trajectories if method == "morris" else samples
    option = "--trajectories" if method == "morris" else "--samples"
    if isinstance(size, bool) or not isinstance(size, int) or size < 2:
        raise InputError(f"{option} must be a whole number of at least 2, got {size!r}")
    if method == "sobol" and size & (size - 1):
        raise InputError(f"--samples must be a power of two (Sobol' sequences balance there), got {size}")
    if isinstance(root_seed, bool) or not isinstance(root_seed, int) or not 0 <= root_seed <= commands.MAX_SEED:
        raise InputError(f"--root-seed must be a non-negative integer below 2**63, got {root_seed!r}")
    params = load_parameters(parameters)
    k = len(params)
    n_points = size * (k + 1) if method == "morris" else size * (k + 2)
    if n_points > MAX_POINTS:
        raise InputError(f"{option} {size} with {k} parameters makes {n_points} points, at most {MAX_POINTS}")
    # SALib seeds numpy's legacy generator with at most 32 bits.
    sample = draw(method, params, size, root_seed % 2**32)
    values = point_values(params, sample)
    configs = point_scenarios(scenario, overrides, years, params, values, f"--parameters {parameters}")
    years = commands.common_years(configs)
    label = commands.scenario_label(scenario, overrides)
    out_dir = Path(out_dir) if out_dir is not None else commands.default_out("sensitivity", [label, method])
    extra = {
        "command": "sensitivity",
        "method": method,
        "size": size,
        "parameters": [p.describe() for p in params],
        "points": {point_label(i): v for i, v in enumerate(values)},
    }
    outcome = commands.execute(
        out_dir,
        configs,
        run_fn or run_outcomes,
        n_seeds,
        root_seed,
        years,
        options=options,
        progress=progress,
        extra=extra,
    )
    lines = [f"sensitivity ({method}) of {label}: {k} parameters, {len(configs)} points: {outcome.summary}"]
    try:
        lines += analyse(outcome, method, params, sample, values, n_seeds, root_seed, years, label)
    except ResultError as exc:
        outcome.warn(f"sensitivity analysis skipped: {exc}")
    return outcome, lines


def point_outcomes(runs: pd.DataFrame, labels: Sequence[str], n_seeds: int) -> pd.DataFrame:
    """Per point (in `labels` order): the outcomes' means over its seeds and the runs used.

    `runs` is the experiment's `outcomes` table (OUTCOME_COLUMNS of runs.decompose, with
    scenario and replicate). A point missing a seed, or with an outcome that is not finite,
    gets NaN outcomes: its mean would not be over the same seeds as the others'.
    """
    import numpy as np
    import pandas as pd

    runs = run_values(runs, n_seeds)
    grouped = runs.groupby("scenario")
    means = grouped[list(OUTCOMES)].mean().reindex(labels)
    counts = grouped["replicate"].nunique().reindex(labels).fillna(0).astype(np.int64)
    finite = grouped[list(OUTCOMES)].apply(lambda g: bool(np.isfinite(g.to_numpy(dtype=float)).all()))
    usable = (counts == n_seeds) & finite.reindex(labels).astype("boolean").fillna(False).astype(bool)
    means.loc[~usable.to_numpy()] = np.nan
    table = pd.DataFrame({"point": list(labels)})
    for name in OUTCOMES:
        table[name] = means[name].to_numpy(dtype=float)
    table["runs"] = counts.to_numpy()
    return table


def run_values(runs: pd.DataFrame, n_seeds: int) -> pd.DataFrame:
    """The runs of the first `n_seeds` replicates with each run's remaining_life and episode_share."""
    from runs.decompose import remaining_life

    runs = runs[runs["replicate"] < n_seeds].copy()
    runs["remaining_life"] = remaining_life(runs)
    runs["episode_share"] = runs["has_episode"].astype(float)
    return runs


def analysed(name: str, values):
    """An outcome as the indices analyse it: ratios in logs."""
    import numpy as np

    values = np.asarray(values, dtype=float)
    if name not in LOG_OUTCOMES:
        return values
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


def seed_noise(runs: pd.DataFrame, usable: Sequence[str], n_seeds: int) -> pd.DataFrame:
    """How much of each outcome's variance is the seed's (NOISE_COLUMNS; NaN with one seed).

    noise_share_runs: the mean variance over seeds at a point, over the variance of all runs.
    noise_share_means: the same noise in a point's mean over its seeds (divided by n_seeds),
    over the variance of the point means the indices apportion; a parameter's index can only
    be read against it (Sobol indices then sum to at most 1 - noise_share_means).
    """
    import numpy as np
    import pandas as pd

    runs = run_values(runs, n_seeds)
    runs = runs[runs["scenario"].isin(set(usable))]
    rows = []
    for name in OUTCOMES:
        y = pd.Series(analysed(name, runs[name]), index=runs.index)
        total = float(np.var(y, ddof=1)) if len(y) > 1 else math.nan
        if n_seeds < 2 or not total > 0:
            within = means = math.nan
        else:
            grouped = y.groupby(runs["scenario"])
            within = float(grouped.var(ddof=1).mean())
            means = float(np.var(grouped.mean(), ddof=1))
        rows.append(
            {
                "outcome": name,
                "run_variance": total,
                "within_point_variance": within,
                "noise_share_runs": within / total if total > 0 else math.nan,
                "noise_share_means": (within / n_seeds) / means if means and means > 0 else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=NOISE_COLUMNS)


def complete_groups(method: str, n_points: int, k: int, ok: np.ndarray) -> np.ndarray:
    """Which points the estimators may use: whole Morris trajectories (k + 1 points) or Sobol
    blocks (k + 2 points) in which every point has its outcome."""
    import numpy as np

    width = k + 1 if method == "morris" else k + 2
    groups = np.asarray(ok, dtype=bool).reshape(n_points // width, width).all(axis=1)
    return np.repeat(groups, width)


def indices(
    method: str,
    params: Sequence[Parameter],
    sample: np.ndarray,
    outcomes: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """The sensitivity indices of every outcome as a long table (INDEX_COLUMNS).

    `sample` and `outcomes` hold the usable points only (whole trajectories or blocks). Ratios
    (LOG_OUTCOMES) are analysed in logs. An outcome that is the same at every point has no
    variance to apportion: its Sobol indices are NaN, its Morris effects 0.
    """
    import warnings

    import numpy as np
    import pandas as pd
    from SALib.analyze import morris, sobol

    rows = []
    spec = problem(params)
    for name in OUTCOMES:
        y = analysed(name, outcomes[name])
        if method == "morris":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # one trajectory: sigma is undefined (NaN)
                res = morris.analyze(
                    spec, sample, y, num_resamples=RESAMPLES, conf_level=CONF_LEVEL, num_levels=MORRIS_LEVELS, seed=seed
                )
            found = {
                "mu": (res["mu"], None),
                "mu_star": (res["mu_star"], res["mu_star_conf"]),
                "sigma": (res["sigma"], None),
            }
        else:
            k = len(params)
            if np.ptp(y) == 0:
                nan = np.full(k, np.nan)
                found = {"S1": (nan, nan), "ST": (nan, nan)}
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    res = sobol.analyze(
                        spec, y, calc_second_order=False, num_resamples=RESAMPLES, conf_level=CONF_LEVEL, seed=seed
                    )
                found = {"S1": (res["S1"], res["S1_conf"]), "ST": (res["ST"], res["ST_conf"])}
        for index, (value, conf) in found.items():
            for i, param in enumerate(params):
                v = float(np.asarray(value, dtype=float)[i])
                c = float(np.asarray(conf, dtype=float)[i]) if conf is not None else math.nan
                rows.append(
                    {
                        "parameter": param.name,
                        "outcome": name,
                        "index": index,
                        "value": v,
                        "conf": c,
                        "low": v - c,
                        "high": v + c,
                    }
                )
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def analyse(
    outcome: Outcome,
    method: str,
    params: Sequence[Parameter],
    sample: np.ndarray,
    values: Sequence[Mapping[str, Any]],
    n_seeds: int,
    root_seed: int,
    years: float,
    label: str,
) -> list[str]:
    """samples.parquet, indices.parquet and the figure of a finished experiment; the lines to print."""
    import numpy as np
    import pandas as pd

    from runs.decompose import OUTCOME_COLUMNS
    from runs.loader import load_experiment

    labels = [point_label(i) for i in range(len(values))]
    tables = load_experiment(outcome.out_dir, {"outcomes": None}, labels, strict=False)
    runs = tables.get("outcomes")
    commands.need_columns(runs, "outcomes", OUTCOME_COLUMNS)
    per_point = point_outcomes(runs, labels, n_seeds)
    shown = pd.DataFrame(
        [{k: (v if not isinstance(v, bool) else str(v).lower()) for k, v in p.items()} for p in values]
    )
    table = pd.concat([per_point[["point"]], shown, per_point.drop(columns="point")], axis=1)
    outcome.table(table, "samples")

    ok = np.isfinite(per_point[list(OUTCOMES)].to_numpy(dtype=float)).all(axis=1)
    use = complete_groups(method, len(labels), len(params), ok)
    unit, one = ("trajectories", "trajectory") if method == "morris" else ("blocks", "block")
    width = len(params) + (1 if method == "morris" else 2)
    dropped = int((~use).sum()) // width
    if dropped:
        outcome.warn(
            f"{dropped} of {len(labels) // width} {unit} dropped: some of their points have runs that failed "
            "or have not finished (see the failures folder; rerun the same command to retry them)"
        )
    if not use.any():
        raise ResultError(f"no complete {one} of points")
    found = indices(method, params, sample[use], per_point.loc[use].reset_index(drop=True), root_seed % 2**32)
    outcome.table(found, "indices")
    used = int(use.sum()) // width
    title = (
        f"{'Morris' if method == 'morris' else 'Sobol'} sensitivity of {label}: {len(params)} parameters, "
        f"{used} {unit if used != 1 else one}, {n_seeds} seed{'s' * (n_seeds != 1)} per point, {years:g} year{'s' * (years != 1)}"
    )
    outcome.figure(plot_indices(found, method, title), "sensitivity")
    episodes = float(np.nanmean(per_point["episode_share"].to_numpy(dtype=float)))
    lines = [title, f"runs with a bubble episode: {episodes:.0%} (mean over points)"]
    noise = seed_noise(runs, [label for label, ok_ in zip(labels, use, strict=True) if ok_], n_seeds)
    outcome.table(noise, "noise")
    if n_seeds > 1:
        lines.append("seed noise, share of the variance of runs / of the point means the indices apportion:")
        for row in noise.itertuples():
            lines.append(
                f"  {INDEX_TEXT[row.outcome]}: {_share(row.noise_share_runs)} / {_share(row.noise_share_means)}"
            )
    else:
        outcome.note("one seed per point: the seed's noise cannot be told from the parameters' effects")
    return lines + index_lines(found, method)


def index_lines(found: pd.DataFrame, method: str) -> list[str]:
    """Per outcome, the parameters ranked by mu* (Morris) or ST (Sobol), with intervals."""
    lines = []
    key = "mu_star" if method == "morris" else "ST"
    for name in OUTCOMES:
        part = found[(found["outcome"] == name)]
        ranked = part[part["index"] == key].sort_values("value", ascending=False, na_position="last")
        lines.append(f"{INDEX_TEXT[name]}:")
        for row in ranked.itertuples():
            text = f"  {row.parameter:<26} {key} {_number(row.value)} ± {_number(row.conf)}"
            if method == "morris":
                sigma = part[(part["index"] == "sigma") & (part["parameter"] == row.parameter)]["value"].iloc[0]
                text += f"  sigma {_number(sigma)}"
            else:
                s1 = part[(part["index"] == "S1") & (part["parameter"] == row.parameter)].iloc[0]
                text += f"  S1 {_number(s1['value'])} ± {_number(s1['conf'])}"
            lines.append(text)
    return lines


def _share(value: float) -> str:
    return "n/a (no variance)" if not math.isfinite(value) else f"{value:.0%}"


def _number(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.3g}"


def plot_indices(found: pd.DataFrame, method: str, title: str):
    """One panel per outcome: each parameter's mu* (and sigma) or S1 and ST as bars with their intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(2, 2, figsize=(13, 9), constrained_layout=True)
    shown = ("mu_star", "sigma") if method == "morris" else ("S1", "ST")
    colours = {"mu_star": "#1f77b4", "sigma": "#bbbbbb", "S1": "#1f77b4", "ST": "#ff7f0e"}
    for ax, name in zip(axes.flat, OUTCOMES, strict=True):
        part = found[found["outcome"] == name]
        order = (
            part[part["index"] == shown[0 if method == "morris" else 1]]
            .sort_values("value", na_position="first")["parameter"]
            .tolist()
        )
        y = np.arange(len(order))
        height = 0.38
        for j, index in enumerate(shown):
            rows = part[part["index"] == index].set_index("parameter").reindex(order)
            values = rows["value"].to_numpy(dtype=float)
            conf = rows["conf"].to_numpy(dtype=float)
            ax.barh(
                y + (j - 0.5) * height,
                np.nan_to_num(values),
                height,
                xerr=np.where(np.isfinite(conf), conf, 0.0),
                color=colours[index],
                ecolor="black",
                capsize=2,
                label={"mu_star": "mu* (95% interval)", "sigma": "sigma", "S1": "S1 (95%)", "ST": "ST (95%)"}[index],
            )
        ax.set_yticks(y, order, fontsize=8)
        ax.set_title(INDEX_TEXT[name], fontsize=10)
        ax.axvline(0, color="black", lw=0.6)
        if not np.isfinite(part["value"].to_numpy(dtype=float)).any():
            ax.text(0.5, 0.5, "constant at every point: no variance to apportion", transform=ax.transAxes, ha="center")
        ax.legend(fontsize=8, loc="lower right")
    note = (
        "mu*: mean absolute elementary effect (outcome units per full range of the parameter); sigma: their spread "
        "(interactions, non-linearity)"
        if method == "morris"
        else "S1: share of the outcome's variance from the parameter alone; ST: including its interactions"
    )
    fig.suptitle(f"{title}\n{note}", fontsize=10)
    return fig
