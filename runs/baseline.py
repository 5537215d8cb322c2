"""`python -m runs baseline`: many seeds of one scenario, and what its bubble looks like.

This module owns the baseline experiment: it runs (or resumes) N seeded replicates of a
scenario through the experiment runner, then summarises the ensemble in four figures and
their tables: the AI basket's price against its fundamental as a fan chart across seeds
with bubble episodes shaded (`basket_fan`, `bubble_share`), the giants' reported profit
split into real, round-trip and marks against free cash flow (`profit_split`), the share
of each giant's backlog owed by the labs (`backlog_concentration`), and the Kaplan-Meier
curve of bubble lifetimes (`lifetimes`, `summary`). `run_baseline` is the Python entry
point; its `run_fn` defaults to the model's `runs.simulate.run_task`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs import commands
from runs.commands import Outcome, ResultError
from runs.executors import ExecutorOptions
from runs.loader import load_experiment

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_SEEDS = 20
QUANTILES = (0.1, 0.5, 0.9)
PROFIT_COLUMNS = ["profit_real", "profit_roundtrip", "profit_marks", "net_income", "free_cash_flow"]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "baseline",
        help="many seeds of one scenario: price vs fundamental, profits, backlog, lifetimes",
        description=commands.describe(__doc__) + "\n\n"
        "Runs (or resumes) N seeded replicates of one scenario and summarises the ensemble: the AI\n"
        "basket's price against its fundamental across seeds with bubble episodes shaded, the giants'\n"
        "reported profit split into real, round-trip and marks against free cash flow, the share of\n"
        "each giant's backlog owed by the labs, and the Kaplan-Meier curve of bubble lifetimes.\n"
        "Tables (.parquet) and figures (.png) go to --out; rerunning the same command resumes.",
        epilog="example:\n  python -m runs baseline --seeds 20 --years 10 --set interest_rate=0.05 --out out/baseline",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands.add_experiment_options(parser, seeds=DEFAULT_SEEDS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    commands.check_counts(args)
    outcome, lines = run_baseline(
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


@commands.holding_lock
def run_baseline(
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
    """Run or resume the baseline experiment and write its tables and figures.

    Returns the Outcome (summary, tables, paths, warnings) and the summary lines to print.
    """
    if measure not in commands.MEASURES:
        raise InputError(f"measure must be one of {', '.join(commands.MEASURES)}, got {measure!r}")
    if episodes not in commands.EPISODE_KINDS:
        raise InputError(f"episodes must be one of {', '.join(commands.EPISODE_KINDS)}, got {episodes!r}")
    resolved = commands.resolve(scenario, overrides, years)
    scenarios, years = commands.experiment_scenarios([resolved])
    out_dir = Path(out_dir) if out_dir is not None else commands.default_out("baseline", [resolved.label])
    outcome = commands.execute(
        out_dir,
        scenarios,
        run_fn or commands.run_function(None),
        n_seeds,
        root_seed,
        years,
        options=options,
        progress=progress,
        extra={"command": "baseline"},
    )
    lines = [f"baseline {resolved.label!r}: {outcome.summary}"]
    lines += analyse(outcome, resolved.label, resolved.config, years, measure, episodes)
    return outcome, lines


def analyse(
    outcome: Outcome, label: str, config: Mapping, years: float, measure: str, kind: str = "first"
) -> list[str]:
    """Tables and figures of a finished baseline experiment in outcome.out_dir; summary lines."""
    tables = load_experiment(
        outcome.out_dir,
        {
            "weekly": ["date", "week", "basket_price", "basket_fundamental", "basket_pf"],
            "episodes": None,
            "giant_quarters": ["date", "giant", *PROFIT_COLUMNS, "backlog_share_*"],
        },
        [label],
        strict=False,
    )
    if not tables and outcome.summary is not None and outcome.summary.ran + outcome.summary.skipped == 0:
        outcome.warn("no finished runs to analyse")
        return []
    definition = commands.bubble_definition(config, measure, kind)
    lines: list[str] = []
    steps = [
        ("survival curve", lambda: _survival(outcome, tables, label, years, measure, definition, lines, kind)),
        ("fan chart", lambda: _fan(outcome, tables, label, definition)),
        ("profit split", lambda: _profits(outcome, tables, label)),
        ("backlog concentration", lambda: _backlog(outcome, tables, label)),
    ]
    for what, step in steps:
        try:
            step()
        except ResultError as exc:
            outcome.warn(f"{what} skipped: {exc}")
    return lines


# --------------------------------------------------------------------------- pieces


def _survival(outcome, tables, label, years, measure, definition, lines, kind="first") -> None:
    import numpy as np

    from runs import figures, survival

    every = commands.usable_lifetimes(commands.lifetimes(tables.get("episodes"), measure), outcome)
    outcome.table(every, "lifetimes")
    life = commands.chosen_episodes(every, kind)
    horizon = commands.horizon_weeks(years)
    summary = survival.lifetime_summary(life, horizon, scenarios=[label])
    summary.insert(1, "measure", measure)
    summary.insert(2, "episodes", kind)
    outcome.table(summary, "summary")
    n_runs = outcome.summary.ran + outcome.summary.skipped if outcome.summary else 0
    row = summary.iloc[0]
    with_bubble = every.groupby("replicate").size().shape[0]
    lines.append(
        f"bubble episodes: {len(every)} in {n_runs} runs ({with_bubble} runs with at least one); shown: "
        f"{commands.EPISODE_TEXT[kind]}, {row.n_episodes} of them: {row.n_burst} burst, {row.n_censored} still "
        "inflating at the horizon (censored)"
    )
    lines.append(f"median {commands.MEASURE_AXIS[measure]}: {row.median_text}")
    if np.isfinite(row.rmst_weeks):
        lines.append(
            f"restricted mean {commands.MEASURE_AXIS[measure]} to the horizon: "
            f"{row.rmst_weeks / 52:.1f} years (95% CI {row.rmst_lower_weeks / 52:.1f} to "
            f"{row.rmst_upper_weeks / 52:.1f}; {row.interval})"
        )
    if np.isfinite(row.p_burst):
        lines.append(
            f"{commands.burst_label(horizon, measure)}: {row.p_burst:.2f} "
            f"(95% CI {row.p_burst_lower:.2f} to {row.p_burst_upper:.2f})"
        )
    if life.empty:
        fig = figures.message_figure("Bubble lifetimes", f"No bubble episodes in {n_runs} runs. {definition}")
    else:
        fig = survival.plot_survival(
            life,
            definition_note=definition,
            scenarios=[label],
            horizon_weeks=horizon if measure == "remaining" else None,
            title=f"Bubble lifetimes, {label}: {n_runs} seeds (Kaplan-Meier)",
        )
        fig.axes[0].set_xlabel(f"{commands.MEASURE_AXIS[measure]} (years; 1 year = 52 weeks)")
    outcome.figure(fig, "survival")
    lines += commands.later_episodes_lines(every, horizon, [label], kind)


def bubble_share(weekly: pd.DataFrame, episodes: pd.DataFrame | None) -> pd.DataFrame:
    """Share of runs inside a bubble episode each week: date, week, share.

    An episode covers weeks from its start (clipped to the first simulated week) up to its
    burst week, or to the end of the run when it is censored.
    """
    import numpy as np
    import pandas as pd

    commands.need_columns(weekly, "weekly", ["scenario", "replicate", "date", "week"])
    calendar = weekly.drop_duplicates("week").sort_values("week")[["week", "date"]]
    weeks = calendar["week"].to_numpy()
    n_runs = weekly[["scenario", "replicate"]].drop_duplicates().shape[0]
    count = np.zeros(len(weeks) + 1)
    if episodes is not None and len(episodes):
        commands.need_columns(episodes, "episodes", ["start_week", "burst_week", "censored"])
        first = np.searchsorted(weeks, np.maximum(episodes["start_week"].to_numpy(dtype=float), weeks[0]))
        burst = episodes["burst_week"].to_numpy(dtype=float)
        open_ended = episodes["censored"].fillna(True).to_numpy(dtype=bool) | ~np.isfinite(burst)
        last = np.where(open_ended, len(weeks), np.searchsorted(weeks, np.where(open_ended, 0, burst)))
        np.add.at(count, first, 1)
        np.add.at(count, last, -1)
    share = np.cumsum(count)[: len(weeks)] / max(n_runs, 1)
    return pd.DataFrame(
        {"date": pd.to_datetime(calendar["date"]).to_numpy(), "week": weeks, "share": np.clip(share, 0, 1)}
    )


def _quantiles(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    table = frame.groupby(keys)[column].quantile(list(QUANTILES)).unstack()
    table.columns = [f"p{round(q * 100):02d}" for q in QUANTILES]
    return table.reset_index()


def basket_fan(weekly: pd.DataFrame) -> pd.DataFrame:
    """date, series (price, fundamental, pf), p10, p50, p90 across seeds."""
    import pandas as pd

    commands.need_columns(weekly, "weekly", ["date", "basket_price", "basket_fundamental", "basket_pf"])
    data = weekly.assign(date=pd.to_datetime(weekly["date"]))
    parts = []
    for series, column in (("price", "basket_price"), ("fundamental", "basket_fundamental"), ("pf", "basket_pf")):
        part = _quantiles(data, ["date"], column)
        part.insert(1, "series", series)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _fan(outcome, tables, label, definition) -> None:
    from runs import figures

    weekly, episodes = tables.get("weekly"), tables.get("episodes")
    fan = basket_fan(weekly)
    share = bubble_share(weekly, episodes)
    outcome.table(fan, "basket_fan")
    outcome.table(share, "bubble_share")
    n = weekly[["scenario", "replicate"]].drop_duplicates().shape[0]
    fig = figures.fan_chart(
        fan[fan["series"] != "pf"],
        share,
        title=f"AI basket: price against fundamental value, {label} ({n} seeds)",
        note=(
            f"Shaded: weeks when most runs are inside a bubble episode. Bubble definition: {definition}"
            if episodes is not None
            else "Bubble episodes not shown: the runs produced no episodes table."
        ),
    )
    outcome.figure(fig, "price_vs_fundamental")


def profit_table(giant_quarters: pd.DataFrame) -> pd.DataFrame:
    """Per quarter: medians across seeds of the giants' summed profit parts, net income and FCF."""
    import pandas as pd

    commands.need_columns(giant_quarters, "giant_quarters", ["date", "giant", *PROFIT_COLUMNS])
    if giant_quarters.empty:
        raise ResultError("no quarter closed within the horizon")
    sums = (
        giant_quarters.assign(date=pd.to_datetime(giant_quarters["date"]))
        .groupby(["scenario", "replicate", "date"])[PROFIT_COLUMNS]
        .sum(min_count=1)
        .reset_index()
    )
    table = sums.groupby("date")[PROFIT_COLUMNS].median()
    spread = sums.groupby("date")["free_cash_flow"].quantile([0.1, 0.9]).unstack()
    table["free_cash_flow_p10"], table["free_cash_flow_p90"] = spread[0.1], spread[0.9]
    return table.reset_index()


def _profits(outcome, tables, label) -> None:
    from runs import figures

    table = profit_table(tables.get("giant_quarters"))
    outcome.table(table, "profit_split")
    fig = figures.profit_split(
        table,
        title=f"Reported profit by source against free cash flow, {label}",
        note="Medians across seeds of the sums over the giants; each bar part is its own median, "
        "so the parts need not add up to the median net income exactly.",
    )
    outcome.figure(fig, "profit_split")


def backlog_table(giant_quarters: pd.DataFrame) -> pd.DataFrame:
    """date, giant, p10, p50, p90 of the share of the giant's backlog owed by all labs together."""
    import pandas as pd

    commands.need_columns(giant_quarters, "giant_quarters", ["date", "giant"])
    if giant_quarters.empty:
        raise ResultError("no quarter closed within the horizon")
    shares = [c for c in giant_quarters.columns if c.startswith("backlog_share_")]
    if not shares:
        raise ResultError("table 'giant_quarters' has no backlog_share_<Lab> columns")
    data = giant_quarters.assign(
        date=pd.to_datetime(giant_quarters["date"]), lab_share=giant_quarters[shares].sum(axis=1, min_count=1)
    )
    return _quantiles(data, ["date", "giant"], "lab_share")


def _backlog(outcome, tables, label) -> None:
    from runs import figures

    table = backlog_table(tables.get("giant_quarters"))
    outcome.table(table, "backlog_concentration")
    labs = sorted(
        c.removeprefix("backlog_share_") for c in tables["giant_quarters"].columns if c.startswith("backlog_share_")
    )
    fig = figures.backlog_concentration(
        table,
        title=f"Backlog concentration: share owed by {' and '.join(labs)}, {label}",
    )
    outcome.figure(fig, "backlog_concentration")
