"""`python -m runs sweep`: bubble lifetime and burst probability across one or two parameters.

This module owns the parameter sweep: a grid of one or two scenario fields (dotted, like
`market.passive_share`, or short names from `model.model.PARAMETERS`, like `interest_rate`),
each grid point a scenario of the experiment with the same paired seeds. Every point is
loaded and validated before anything runs, so an unknown parameter or a bad value stops the
command with one line naming it. Results: `sweep.parquet` (one row per grid point: the
values, episode counts, Kaplan-Meier median lifetime and P(burst) with 95% intervals),
`lifetimes.parquet`, and `sweep.png`: curves against one parameter, heat maps over two.
`run_sweep` is the Python entry point.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs import commands
from runs.commands import Outcome, ResultError
from runs.executors import ExecutorOptions
from runs.loader import load_experiment

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SEEDS = 10
MAX_PARAMS = 2


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="median lifetime and burst probability over a grid of one or two parameters",
        description=commands.describe(__doc__) + "\n\n"
        "Runs (or resumes) one scenario at every point of a grid of one or two scenario fields, on\n"
        "the same paired seeds at every point. Writes sweep.parquet (per point: episode counts,\n"
        "Kaplan-Meier median lifetime and P(burst) with 95% intervals), lifetimes.parquet and\n"
        "sweep.png (curves over one parameter, heat maps over two). Every point is checked before\n"
        "anything runs.",
        epilog="example:\n  python -m runs sweep interest_rate=0.02,0.04,0.06 regime=gaap_2026,strict --seeds 10 "
        "--out out/sweep",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "grid",
        nargs="+",
        metavar="PARAM=V1,V2,...",
        help="a scenario field (economy.interest_rate, labs.OpenAI.revenue_growth) or "
        "short name (interest_rate) and its values; one or two of them",
    )
    commands.add_experiment_options(parser, seeds=DEFAULT_SEEDS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    commands.check_counts(args)
    outcome, lines = run_sweep(
        parse_grid(args.grid),
        args.scenario,
        n_seeds=args.seeds,
        out_dir=args.out,
        root_seed=args.root_seed,
        years=commands.years_option(args),
        overrides=commands.parse_overrides(args.set),
        measure=args.measure,
        episodes=args.episode_kind,
        options=ExecutorOptions.from_args(args),
    )
    return outcome.report(lines)


def parse_grid(specs: Sequence[str]) -> dict[str, list]:
    """['interest_rate=0.02,0.04', ...] as {dotted key: [values]}, values read as TOML."""
    if not 1 <= len(specs) <= MAX_PARAMS:
        raise InputError(f"sweep takes one or two PARAM=V1,V2,... arguments, got {len(specs)}")
    grid: dict[str, list] = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        name = name.strip()
        if not sep or not name or not text.strip():
            raise InputError(f"sweep expects PARAM=V1,V2,... (e.g. interest_rate=0.02,0.04,0.06), got {spec!r}")
        key = commands.parameter_key(name)
        try:
            values = [commands.parse_value(v) for v in text.split(",")]
        except InputError:
            raise InputError(f"sweep {spec!r}: an empty value in the list") from None
        if key in grid:
            raise InputError(f"sweep parameter {name!r} given twice")
        if len({commands.value_text(v) for v in values}) != len(values):
            raise InputError(f"sweep parameter {name!r} lists a value twice")
        grid[key] = values
    return grid


def grid_points(
    grid: Mapping[str, Sequence],
    scenario: str,
    overrides: Mapping[str, Any] | None,
    years: float | None,
) -> list[tuple[dict[str, Any], commands.Resolved]]:
    """Every grid point as (its values, the resolved scenario); InputError naming a bad parameter."""
    overrides = dict(overrides or {})
    if not grid or len(grid) > MAX_PARAMS:
        raise InputError(f"sweep takes one or two parameters, got {len(grid)}")
    for key, values in grid.items():
        if key == "run.years":
            raise InputError("sweep over run.years is not supported: the horizon is one per experiment (--years)")
        if key in overrides:
            raise InputError(f"sweep parameter {key!r} is also given with --set")
        if isinstance(values, (str, bytes)) or not len(values):
            raise InputError(f"sweep parameter {key!r} needs a list of values")
    commands.resolve(scenario, overrides, years)  # a bad --set or scenario is reported as such
    points = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo, strict=True))
        try:
            resolved = commands.resolve(scenario, {**overrides, **values}, years)
        except InputError as exc:
            named = ", ".join(f"{k}={commands.value_text(v)}" for k, v in values.items())
            raise InputError(f"sweep parameter {named}: {exc}") from None
        points.append((values, resolved))
    return points


@commands.holding_lock
def run_sweep(
    grid: Mapping[str, Sequence],
    scenario: str = "baseline",
    *,
    n_seeds: int = DEFAULT_SEEDS,
    out_dir: str | Path | None = None,
    root_seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    measure: str = "remaining",
    episodes: str = "first",
    run_fn: Callable | None = None,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
) -> tuple[Outcome, list[str]]:
    """Run or resume a sweep over `grid` ({dotted key: values}) and write its table and figure."""
    if measure not in commands.MEASURES:
        raise InputError(f"measure must be one of {', '.join(commands.MEASURES)}, got {measure!r}")
    if episodes not in commands.EPISODE_KINDS:
        raise InputError(f"episodes must be one of {', '.join(commands.EPISODE_KINDS)}, got {episodes!r}")
    grid = {commands.parameter_key(k): list(v) for k, v in grid.items()}
    points = grid_points(grid, scenario, overrides, years)
    configs, years = commands.experiment_scenarios([r for _, r in points])
    params = [commands.short_name(k) for k in grid]
    base = commands.scenario_label(scenario, overrides)
    out_dir = Path(out_dir) if out_dir is not None else commands.default_out("sweep", [base, *params])
    outcome = commands.execute(
        out_dir,
        configs,
        run_fn or commands.run_function(None),
        n_seeds,
        root_seed,
        years,
        options=options,
        progress=progress,
        extra={"command": "sweep", "grid": {k: [commands.value_text(v) for v in vs] for k, vs in grid.items()}},
    )
    lines = [f"sweep of {' x '.join(params)} on {base!r} ({len(points)} points): {outcome.summary}"]
    try:
        lines += analyse(outcome, points, params, years, measure, episodes)
    except ResultError as exc:
        outcome.warn(f"sweep analysis skipped: {exc}")
    return outcome, lines


def sweep_table(
    life: pd.DataFrame,
    labels: Sequence[str],
    values: Mapping[str, Sequence],
    horizon: float,
) -> pd.DataFrame:
    """One row per grid point: its parameter values, then the survival summary and max_weeks.

    `labels` are the grid points' scenario labels in sweep order and `values` maps each
    parameter's column name to its value at every point, in the same order.
    """
    import numpy as np
    import pandas as pd

    from runs import survival

    summary = survival.lifetime_summary(life, horizon, scenarios=labels)
    longest = life.groupby("scenario")["lifetime_weeks"].max()
    summary["max_weeks"] = [float(longest.get(label, np.nan)) for label in labels]
    columns = {}
    for name, column in values.items():
        column = list(column)
        kinds = {type(v) for v in column}
        # A column mixing text and numbers cannot be stored; numbers stay numeric when they can.
        if len(kinds) > 1 and not kinds <= {int, float}:
            column = [commands.value_text(v) for v in column]
        columns[name] = column
    return pd.concat([pd.DataFrame(columns), summary], axis=1)


def analyse(
    outcome: Outcome,
    points: Sequence[tuple[dict, commands.Resolved]],
    params: Sequence[str],
    years: float,
    measure: str,
    kind: str = "first",
) -> list[str]:
    """The sweep table, lifetimes and figure of a finished sweep; summary lines."""
    labels = [r.label for _, r in points]
    from runs import figures

    tables = load_experiment(outcome.out_dir, {"episodes": None}, labels, strict=False)
    horizon = commands.horizon_weeks(years)
    every = commands.usable_lifetimes(commands.lifetimes(tables.get("episodes"), measure), outcome)
    outcome.table(every, "lifetimes")
    life = commands.chosen_episodes(every, kind)
    values = {param: [list(v.values())[i] for v, _ in points] for i, param in enumerate(params)}
    table = sweep_table(life, labels, values, horizon)
    table.insert(len(params) + 1, "measure", measure)
    table.insert(len(params) + 2, "episodes", kind)
    outcome.table(table, "sweep")
    definition = commands.bubble_definition(points[0][1].config, measure, kind)
    title = f"Bubble {commands.MEASURE_AXIS[measure]} across {' and '.join(params)}"
    if life.empty:
        fig = figures.message_figure(title, f"No bubble episodes in any run. Bubble definition: {definition}")
    elif len(params) == 1:
        fig = figures.sweep_curves(
            table,
            params[0],
            title,
            commands.burst_label(horizon, measure),
            note=f"Kaplan-Meier medians and P(burst) with 95% intervals; bubble definition: {definition}",
        )
    else:
        fig = figures.sweep_heatmaps(
            table,
            params[0],
            params[1],
            title,
            commands.burst_label(horizon, measure),
            note=f"Kaplan-Meier medians (grey: not reached, > longest observed) "
            f"and P(burst); bubble definition: {definition}",
        )
    outcome.figure(fig, "sweep")
    lines = [
        f"{' x '.join(params)}: median {commands.MEASURE_AXIS[measure]}; {commands.burst_label(horizon, measure)}:"
    ]
    for row in table.to_dict("records"):
        values = ", ".join(f"{p}={commands.value_text(row[p])}" for p in params)
        burst = f"{row['p_burst']:.2f}" if math.isfinite(row["p_burst"]) else "n/a"
        lines.append(f"  {values}: {row['n_episodes']} episodes; median {row['median_text']}; P(burst) {burst}")
    return lines + commands.later_episodes_lines(every, horizon, labels, kind)
