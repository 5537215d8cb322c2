"""`python -m runs compare`: several scenarios, paired seeds, their bubble lifetimes side by side.

This module owns the comparison experiment: it runs (or resumes) the same N seeds of every
scenario given, collects one row per bubble episode (`lifetimes.parquet`), summarises each
scenario's Kaplan-Meier median and burst probability with the log-rank p-value
(`summary.parquet`) and draws the survival curves against historical bubbles
(`survival.png`). It also dates bubbles the way an outside observer would, with the
Phillips-Shi-Yu BSADF test on each run's weekly log basket price (`psy_episodes.parquet`),
and sets those lifetimes beside the model-known ones (`survival_model_vs_psy.png` and the
psy_* columns of the summary). `run_compare` is the Python entry point.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs import commands
from runs.commands import Outcome, ResultError
from runs.executors import ExecutorOptions
from runs.loader import load_experiment
from runs.psy_critical import DEFAULT_REPS as PSY_REPS

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SEEDS = 20
PSY_COLUMNS = ["scenario", "replicate", "seed", "start", "end", "duration", "ongoing"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="bubble lifetimes of several scenarios side by side (Kaplan-Meier, log-rank, PSY)",
        description=commands.describe(__doc__) + "\n\n"
        "Runs (or resumes) the same N seeds of every scenario given and compares their bubbles: one\n"
        "row per episode (lifetimes.parquet), each scenario's Kaplan-Meier median and burst\n"
        "probability with the log-rank p-value (summary.parquet) and the survival curves\n"
        "(survival.png); the same runs dated by the Phillips-Shi-Yu BSADF test on the weekly log\n"
        "basket price (psy_episodes.parquet, survival_model_vs_psy.png). Rerunning resumes.",
        epilog="example:\n  python -m runs compare baseline strict no_loop --seeds 20 --out out/compare",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenarios", nargs="+", metavar="SCENARIO", help="scenario names or TOML paths (two or more to compare them)"
    )
    commands.add_experiment_options(parser, seeds=DEFAULT_SEEDS, scenario=False)
    parser.add_argument(
        "--psy-reps",
        type=int,
        default=PSY_REPS,
        metavar="N",
        help=f"Monte Carlo replications for the PSY critical values (default {PSY_REPS}; cached per series length)",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    commands.check_counts(args)
    outcome, lines = run_compare(
        args.scenarios,
        n_seeds=args.seeds,
        out_dir=args.out,
        root_seed=args.root_seed,
        years=commands.years_option(args),
        overrides=commands.parse_overrides(args.set),
        measure=args.measure,
        episodes=args.episode_kind,
        psy_reps=args.psy_reps,
        options=ExecutorOptions.from_args(args),
    )
    return outcome.report(lines)


@commands.holding_lock
def run_compare(
    scenarios: Sequence[str],
    *,
    n_seeds: int = DEFAULT_SEEDS,
    out_dir: str | Path | None = None,
    root_seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    measure: str = "remaining",
    episodes: str = "first",
    psy_reps: int = PSY_REPS,
    run_fn: Callable | None = None,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
) -> tuple[Outcome, list[str]]:
    """Run or resume the comparison and write its tables and figures.

    `overrides` apply to every scenario (and appear in every label). Returns the Outcome and
    the summary lines to print.
    """
    if measure not in commands.MEASURES:
        raise InputError(f"measure must be one of {', '.join(commands.MEASURES)}, got {measure!r}")
    if episodes not in commands.EPISODE_KINDS:
        raise InputError(f"episodes must be one of {', '.join(commands.EPISODE_KINDS)}, got {episodes!r}")
    if isinstance(psy_reps, bool) or not isinstance(psy_reps, int) or psy_reps < 20:
        raise InputError(f"--psy-reps must be at least 20 to estimate a 95% quantile, got {psy_reps}")
    if isinstance(scenarios, str) or not scenarios:
        raise InputError("compare needs at least one scenario name or path")
    resolved = [commands.resolve(s, overrides, years) for s in scenarios]
    configs, years = commands.experiment_scenarios(resolved)
    labels = list(configs)
    out_dir = Path(out_dir) if out_dir is not None else commands.default_out("compare", labels)
    outcome = commands.execute(
        out_dir,
        configs,
        run_fn or commands.run_function(None),
        n_seeds,
        root_seed,
        years,
        options=options,
        progress=progress,
        extra={"command": "compare"},
    )
    lines = [f"compare {', '.join(labels)}: {outcome.summary}"]
    try:
        lines += analyse(outcome, labels, resolved[0].config, years, measure, psy_reps, kind=episodes)
    except ResultError as exc:
        outcome.warn(f"comparison skipped: {exc}")
    return outcome, lines


def analyse(
    outcome: Outcome,
    labels: list[str],
    config: Mapping,
    years: float,
    measure: str,
    psy_reps: int,
    cache_dir: str | Path | None = None,
    kind: str = "first",
) -> list[str]:
    """Lifetimes, summary, PSY episodes and figures of a finished comparison; summary lines."""
    from runs import figures, survival

    tables = load_experiment(
        outcome.out_dir, {"episodes": None, "weekly": ["date", "week", "basket_price"]}, labels, strict=False
    )
    definition = commands.bubble_definition(config, measure, kind)
    horizon = commands.horizon_weeks(years)
    every = commands.usable_lifetimes(commands.lifetimes(tables.get("episodes"), measure), outcome)
    outcome.table(every, "lifetimes")
    life = commands.chosen_episodes(every, kind)
    summary = survival.lifetime_summary(life, horizon, scenarios=labels)
    p_value = survival.logrank(life) if life["scenario"].nunique() >= 2 else float("nan")
    summary.insert(1, "measure", measure)
    summary.insert(2, "episodes", kind)
    summary["logrank_p"] = p_value

    try:
        found = psy_episodes(tables.get("weekly"), psy_reps, outcome, cache_dir)
    except ResultError as exc:
        outcome.warn(f"PSY date-stamping skipped: {exc}")
        found = None
    if found is not None:
        outcome.table(found, "psy_episodes")
        psy_life = psy_lifetimes(found)
        psy_summary = survival.lifetime_summary(psy_life, horizon, scenarios=labels)
        summary["psy_n_episodes"] = psy_summary["n_episodes"].to_numpy()
        summary["psy_n_ongoing"] = psy_summary["n_censored"].to_numpy()
        summary["psy_median_weeks"] = psy_summary["median_weeks"].to_numpy()
        summary["psy_median_text"] = psy_summary["median_text"].to_numpy()
    outcome.table(summary, "summary")

    title = f"Bubble lifetimes: {' vs '.join(labels)} (Kaplan-Meier)"
    if life.empty:
        fig = figures.message_figure(title, f"No bubble episodes in any run. Bubble definition: {definition}")
    else:
        fig = survival.plot_survival(
            life,
            definition_note=definition,
            scenarios=labels,
            title=title,
            horizon_weeks=horizon if measure == "remaining" else None,
        )
        fig.axes[0].set_xlabel(f"{commands.MEASURE_AXIS[measure]} (years; 1 year = 52 weeks)")
    outcome.figure(fig, "survival")
    if found is not None:
        fig = figures.survival_side_by_side(
            survival.km_by_scenario(life, labels),
            survival.km_by_scenario(psy_lifetimes(found), labels),
            labels,
            model_title=f"model-known episodes ({commands.MEASURE_AXIS[measure]})",
            psy_title="PSY-detected episodes (BSADF above its 95% critical value)",
            note=f"Left: {definition} Right: Phillips-Shi-Yu (2015) BSADF on the weekly log basket price, "
            "minimum window r0 = 0.01 + 1.8/sqrt(T), lag 0, episodes of at least log(T) weeks; the test "
            "sees only the simulated weeks, so a boom under way at the start is dated from when it first "
            "has a full window. Censored: still inflating (model) or still above the critical value (PSY) "
            "at the horizon. Bands: 95%.",
        )
        outcome.figure(fig, "survival_model_vs_psy")
    return _summary_lines(summary, p_value, measure, found is not None, kind) + commands.later_episodes_lines(
        every, horizon, labels, kind
    )


def _summary_lines(
    summary: pd.DataFrame, p_value: float, measure: str, with_psy: bool, kind: str = "first"
) -> list[str]:
    horizon = float(summary["horizon_weeks"].iloc[0])
    lines = [
        f"{commands.EPISODE_TEXT[kind]}: median {commands.MEASURE_AXIS[measure]}, restricted mean to the "
        f"horizon and {commands.burst_label(horizon, measure)}, per scenario:"
    ]
    for row in summary.itertuples():
        burst = f"{row.p_burst:.2f}" if math.isfinite(row.p_burst) else "n/a"
        rmst = (
            f"{row.rmst_weeks / 52:.1f} y (95% CI {row.rmst_lower_weeks / 52:.1f} to {row.rmst_upper_weeks / 52:.1f})"
            if math.isfinite(row.rmst_weeks)
            else "n/a"
        )
        line = (
            f"  {row.scenario}: {row.n_episodes} episodes ({row.n_censored} censored); median "
            f"{row.median_text}; restricted mean {rmst}; P(burst) {burst}"
        )
        if with_psy:
            line += f"; PSY: {row.psy_n_episodes} episodes, median {row.psy_median_text}"
        lines.append(line)
    if math.isfinite(p_value):
        lines.append(f"log-rank test across scenarios: p = {p_value:.3g}")
    return lines


# --------------------------------------------------------------------------- PSY


def psy_episodes(
    weekly: pd.DataFrame | None,
    reps: int = PSY_REPS,
    outcome: Outcome | None = None,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """PSY episodes of each run's weekly log basket price: PSY_COLUMNS, one row per episode.

    start and end are dates (end is the last week above the critical value when ongoing);
    duration counts weeks above. Critical values are simulated once per series length and
    cached on disk by runs.psy_critical. Runs whose price is not positive and finite are skipped.
    """
    import numpy as np
    import pandas as pd

    from runs import psy, psy_critical

    commands.need_columns(weekly, "weekly", ["scenario", "replicate", "seed", "date", "week", "basket_price"])
    rows, skipped, cvs = [], 0, {}
    for (scenario, replicate), run in weekly.groupby(["scenario", "replicate"], sort=True):
        run = run.sort_values("week")
        price = run["basket_price"].to_numpy(dtype=float)
        if not (np.all(np.isfinite(price)) and np.all(price > 0)):
            skipped += 1
            continue
        T = price.size
        try:
            if T not in cvs:
                cvs[T] = psy_critical.critical_values(T, n_reps=reps, cache_dir=cache_dir)
            found = psy.date_stamp(np.log(price), dates=list(pd.to_datetime(run["date"])), cv=cvs[T])
        except ValueError:  # too short for the smallest window, or a flat series
            skipped += 1
            continue
        for ep in found.itertuples():
            rows.append(
                {
                    "scenario": scenario,
                    "replicate": int(replicate),
                    "seed": int(run["seed"].iloc[0]),
                    "start": ep.start_date,
                    "end": ep.end_date,
                    "duration": int(ep.duration),
                    "ongoing": bool(ep.ongoing),
                }
            )
    if skipped and outcome is not None:
        outcome.note(
            f"PSY date-stamping left out {skipped} run(s) whose basket price is too short, "
            "flat, or not positive and finite"
        )
    table = pd.DataFrame(rows, columns=PSY_COLUMNS)
    table["start"] = pd.to_datetime(table["start"])
    table["end"] = pd.to_datetime(table["end"])
    return table.astype({"replicate": np.int64, "seed": np.int64, "duration": np.int64, "ongoing": bool})


def psy_lifetimes(found: pd.DataFrame) -> pd.DataFrame:
    """PSY episodes as a survival table: duration in weeks, censored when still ongoing."""
    import pandas as pd

    return pd.DataFrame(
        {
            "scenario": found["scenario"].astype(str),
            "lifetime_weeks": found["duration"].astype(float),
            "censored": found["ongoing"].astype(bool),
        }
    )
