"""Short scripts, one per question of the design (section 1), on the Python API.

Each script (`python -m runs.scripts.NAME --help`) builds its scenarios with
`runs.simulate.scenario_config`, runs them with `runs.experiment.run_experiment` (so it
resumes and records failures like the commands), reads lifetimes back with
`runs.commands.lifetimes`, and summarises them with `runs.survival`. Its default size
(a dozen or two seeds of the scenario's own horizon) finishes in a few minutes on two cores;
`--seeds` and `--years` scale it. This package holds what they share: the options, the
error policy, and the peak price-to-fundamental ratio of each run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from economy.errors import InputError
from runs import commands, figures, survival
from runs.experiment import EXECUTORS, ExperimentSummary
from runs.store import write_atomic


def parser(name: str, doc: str, seeds: int) -> argparse.ArgumentParser:
    """The options every script takes."""
    from runs.cli import _Parser  # usage errors as one line, exit status 2

    p = _Parser(prog=f"python -m runs.scripts.{name}", description=doc.splitlines()[0])
    p.add_argument("--scenario", default="baseline", metavar="NAME", help="scenario name or TOML path")
    p.add_argument("--seeds", type=int, default=seeds, metavar="N", help=f"replicates per value (default {seeds})")
    p.add_argument("--root-seed", type=int, default=0, metavar="N", help="root seed (default 0)")
    p.add_argument("--years", type=float, metavar="Y", help="horizon (default: the scenario's)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out") / "scripts" / name,
        metavar="DIR",
        help=f"output folder (default out/scripts/{name}); rerunning resumes",
    )
    p.add_argument(
        "--measure",
        choices=commands.MEASURES,
        default="remaining",
        help="remaining (scenario start to burst, default) or lifetime (the episode's start to its burst)",
    )
    p.add_argument(
        "--episodes",
        choices=commands.EPISODE_KINDS,
        default="first",
        dest="episode_kind",
        help="first (each run's headline episode, default), later or all (pooled)",
    )
    p.add_argument("--executor", choices=EXECUTORS, default="process")
    p.add_argument("--workers", type=int, metavar="N", help="worker processes (default: all CPUs)")
    # The scripts read args.run_fn; a stand-in model is for the Python API only, not the command line.
    p.set_defaults(run_fn=None)
    return p


def check(args: argparse.Namespace) -> None:
    """The numeric options within their bounds and the output folder writable, before anything runs."""
    commands.check_limits(args)
    commands.check_out_dir(args.out)


def run_scenarios(args: argparse.Namespace, scenarios: dict[str, dict], years: float) -> ExperimentSummary:
    """Run (or resume) a script's scenarios into `args.out` through the runner the commands use.

    Inside a script's `main` decorated with `commands.holding_lock`, the folder's lock is held
    from the first run until `main` returns, so a second runner cannot analyse the folder meanwhile.
    """
    from runs.executors import ExecutorOptions

    outcome = commands.execute(
        Path(args.out),
        scenarios,
        commands.run_function(args.run_fn),
        args.seeds,
        args.root_seed,
        years,
        options=ExecutorOptions.from_args(args),
    )
    return outcome.summary


def run(main: Callable[[list[str] | None], int]) -> None:
    """Call a script's main with the command-line policy: bad input is one line, exit status 2."""
    try:
        code = main(None)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    except commands.ResultError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


def peak_ratio(weekly: pd.DataFrame) -> pd.DataFrame:
    """Each run's highest basket price/fundamental: scenario, replicate, seed, peak_pf."""
    commands.need_columns(weekly, "weekly", ["scenario", "replicate", "seed", "basket_pf"])
    return (
        weekly.groupby(["scenario", "replicate", "seed"], as_index=False)["basket_pf"]
        .max()
        .rename(columns={"basket_pf": "peak_pf"})
    )


def write(out: Path, tables: dict[str, pd.DataFrame], figures: dict) -> list[Path]:
    """Store tables as Parquet and figures as PNG in `out`; the paths written."""
    paths = []
    for name, table in tables.items():
        paths.append(write_atomic(out / f"{name}.parquet", lambda tmp, t=table: t.to_parquet(tmp, index=False)))
    for name, fig in figures.items():
        paths.append(write_atomic(out / f"{name}.png", lambda tmp, f=fig: f.savefig(tmp, dpi=110, format="png")))
    return paths


def report_sweep(
    args: argparse.Namespace,
    summary: ExperimentSummary,
    tables: dict[str, pd.DataFrame],
    scenarios: dict[str, dict],
    param: str,
    values: list,
    years: float,
) -> int:
    """Lifetimes, the per-value summary and both figures of a one-parameter script; exit status."""
    from runs.sweep import sweep_table

    labels = list(scenarios)
    horizon = commands.horizon_weeks(years)
    every = commands.lifetimes(tables.get("episodes"), args.measure)
    life = commands.chosen_episodes(every, args.episode_kind)
    table = sweep_table(life, labels, {param: values}, horizon)
    if "weekly" in tables:
        peaks = peak_ratio(tables["weekly"]).groupby("scenario")["peak_pf"].median()
        table["median_peak_pf"] = [float(peaks.get(label, float("nan"))) for label in labels]
    definition = commands.bubble_definition(next(iter(scenarios.values())), args.measure, args.episode_kind)
    title = f"Bubble {commands.MEASURE_AXIS[args.measure]} by {param}"
    drawn = {}
    if life.empty:
        drawn["survival"] = figures.message_figure(title, f"No bubble episodes. {definition}")
    else:
        drawn["survival"] = survival.plot_survival(
            life, definition_note=definition, scenarios=labels, title=f"{title} (Kaplan-Meier)"
        )
        drawn["survival"].axes[0].set_xlabel(f"{commands.MEASURE_AXIS[args.measure]} (years; 1 year = 52 weeks)")
        drawn["sweep"] = figures.sweep_curves(
            table, param, title, commands.burst_label(horizon, args.measure), note=f"Bubble definition: {definition}"
        )
    paths = write(args.out, {"lifetimes": every, "sweep": table}, drawn)

    print(f"{param}: {summary}")
    for row in table.to_dict("records"):
        peak = f"; median peak price/fundamental {row['median_peak_pf']:.2f}" if "median_peak_pf" in row else ""
        print(
            f"  {param}={commands.value_text(row[param])}: {row['n_episodes']} episodes, median "
            f"{row['median_text']}, {commands.burst_label(horizon, args.measure)} {row['p_burst']:.2f}{peak}"
        )
    print("wrote:\n" + "\n".join(f"  {path}" for path in paths))
    return 0 if summary.ok else 1
