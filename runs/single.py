"""`python -m runs single`: one run of one scenario, its tables and its picture.

Writes `steps.parquet` (weekly series with a date column), `quarters.parquet` (the giants'
and labs' quarterly statements, one row per entity and quarter, `kind` telling which),
`episodes.parquet` (the bubble episodes the model dates, with their causes) and `run.png`
(the AI basket's price against its fundamental value with episodes shaded; reported profit
split into real, round-trip and marks against free cash flow). Every file is written to a
temporary name and renamed into place, so a folder never holds a half-written file. The
same seed gives the same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from economy.errors import InputError
from runs.store import write_atomic

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

# The docstring without its "`python -m runs X`: " lead-in, as the command's --help text.
_DESCRIPTION = __doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "single",
        help="one run: tables and a figure",
        description=_DESCRIPTION,
        epilog="example:\n  python -m runs single --scenario strict --seed 7 --years 5 --out out/single",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario", default="baseline", metavar="NAME", help="scenario name or TOML path (default: baseline)"
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: the scenario's)")
    parser.add_argument(
        "--years", type=float, default=None, metavar="Y", help="horizon in years (default: the scenario's run.years)"
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder to write the files to")
    parser.set_defaults(func=main)


def run_single(scenario="baseline", seed=None, years=None) -> dict[str, pd.DataFrame]:
    """Run a scenario once; return the tables `single` writes (and the run's other tables)."""
    import pandas as pd

    from model.model import CircularFinance

    if years is not None and years <= 0:
        raise InputError(f"--years must be positive, not {years}")
    model = CircularFinance(scenario, years=years, rng=seed)
    model.run()
    tables = model.tables()
    giants = tables["giant_quarters"].rename(columns={"giant": "name"}).assign(kind="giant")
    labs = tables["lab_quarters"].rename(columns={"lab": "name"}).assign(kind="lab")
    tables["steps"] = tables["weekly"]
    tables["quarters"] = pd.concat([giants, labs], ignore_index=True)
    tables["definition"] = model.config.bubble
    return tables


def run_figure(tables: dict) -> Figure:
    """Price against fundamental with episodes shaded; profit by origin against free cash flow.

    A Figure on the Agg canvas: no pyplot state, no backend switched.
    """
    import matplotlib.dates as mdates
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    steps, episodes = tables["steps"], tables["episodes"]
    definition = tables.get("definition")
    dates = pd.to_datetime(steps["date"])
    fig = Figure(figsize=(11, 8), layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(dates, steps["basket_price"] / 1000.0, color="tab:blue", label="AI basket market cap")
    top.plot(
        dates, steps["basket_fundamental"] / 1000.0, color="tab:green", label="fundamental value (real cash flows)"
    )
    for row in episodes.itertuples():
        begin = max(pd.Timestamp(row.start), dates.iloc[0])
        end = dates.iloc[-1] if row.censored else pd.Timestamp(row.burst)
        top.axvspan(begin, end, color="tab:red", alpha=0.12, lw=0)
    top.set_ylabel("$ trillion")
    rule = ""
    if definition is not None:
        rule = (
            f" (shaded: bubble episodes, price/fundamental > {1 + definition.theta:g} for "
            f"{definition.confirm_weeks} weeks, until a {definition.drawdown:.0%} drawdown or back under)"
        )
    top.set_title("The four giants: price against fundamental value" + rule, fontsize=9)
    top.legend(loc="upper left")

    quarters = tables["quarters"]
    giants = quarters[quarters["kind"] == "giant"]
    by_quarter = giants.groupby("date")[["profit_real", "profit_roundtrip", "profit_marks", "free_cash_flow"]].sum()
    when = pd.to_datetime(by_quarter.index)
    width = 60
    positive = by_quarter[["profit_real", "profit_roundtrip", "profit_marks"]].clip(lower=0.0)
    negative = by_quarter[["profit_real", "profit_roundtrip", "profit_marks"]].clip(upper=0.0)
    colors = {"profit_real": "tab:gray", "profit_roundtrip": "tab:orange", "profit_marks": "tab:purple"}
    labels = {
        "profit_real": "real profit",
        "profit_roundtrip": "round-trip revenue",
        "profit_marks": "marks on lab stakes",
    }
    up = pd.Series(0.0, index=by_quarter.index)
    down = pd.Series(0.0, index=by_quarter.index)
    for column in colors:
        bottom.bar(when, positive[column], width, bottom=up, color=colors[column], label=labels[column])
        bottom.bar(when, negative[column], width, bottom=down, color=colors[column])
        up += positive[column]
        down += negative[column]
    bottom.plot(when, by_quarter["free_cash_flow"], color="black", marker=".", label="free cash flow")
    bottom.axhline(0.0, color="black", lw=0.5)
    bottom.set_ylabel("$ billion a quarter, four giants")
    bottom.set_title("Reported net income by origin (after tax) against free cash flow", fontsize=9)
    bottom.legend(loc="upper left", fontsize=8)
    bottom.xaxis.set_major_locator(mdates.YearLocator())
    bottom.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
    return fig


def write_outputs(tables: dict, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("steps", "quarters", "episodes"):
        path = out / f"{name}.parquet"
        write_atomic(path, lambda tmp, t=tables[name]: t.to_parquet(tmp, index=False))
        written.append(path)
    figure = run_figure(tables)
    path = out / "run.png"
    write_atomic(path, lambda tmp: figure.savefig(tmp, dpi=110, format="png", metadata={"Software": None}))
    written.append(path)
    return written


def main(args) -> int:
    from runs.commands import check_limits, check_out_dir, resolve

    check_limits(args)
    out = check_out_dir(args.out)
    resolve(args.scenario, None, args.years)  # a bad scenario is refused before the run
    tables = run_single(args.scenario, args.seed, args.years)
    for path in write_outputs(tables, out):
        print(f"wrote {path}")
    episodes = tables["episodes"]
    for row in episodes.itertuples():
        end = "still going at the horizon" if row.censored else f"burst {row.burst} ({row.cause})"
        print(
            f"episode: start {row.start}, peak {row.peak} at {row.peak_pf:.2f}x fundamental, {end}; "
            f"lifetime {row.lifetime_weeks / 52:.1f} years"
        )
    if episodes.empty:
        print("no bubble episode in this run")
    return 0
