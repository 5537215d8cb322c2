"""Where the market's null model bends: the caveats the README lists, measured.

- the rest of the market's drift when the interest rate differs from the 4% reference, and
  over twenty years (its price/fundamental at the end over its start, median over seeds, and the
  share of runs outside 0.8-1.25);
- how much of an arbitrary opening mispricing latent demand keeps: Microsoft opened at 1.5 and
  at 0.67 times its observed price, latent demand solved at that price (its own reference), and
  its price/fundamental after ten years over the same seed's unshifted run's;
- the largest single-giant price/fundamental and the largest weekly basket move in the baseline.

    python -m runs.scripts.market_caveats [--seeds 16] [--workers N] [--out out/market_caveats]

The runs go through the experiment runner (one experiment per horizon, replicate seeds of the
root seed 20260101, resumable), each keeping a one-row `caveats` table.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from economy.errors import InputError
from runs.properties import run_name

GIANTS = ("Microsoft", "Alphabet", "Amazon", "Oracle")
OWN_TASTES = {"market.latent_reference": ""}
VARIANTS = {  # name -> (scenario, overrides, years)
    "no_loop, rate 2%": ("no_loop", {"economy.interest_rate": 0.02}, 10.0),
    "no_loop, rate 6%": ("no_loop", {"economy.interest_rate": 0.06}, 10.0),
    "no_loop, 20 years": ("no_loop", {}, 20.0),
    "baseline, 20 years": ("baseline", {}, 20.0),
    "baseline": ("baseline", {}, 10.0),
    "Microsoft opens at 1.5x": ("baseline", {**OWN_TASTES, "giants.Microsoft.price": 483.6 * 1.5}, 10.0),
    "Microsoft opens at 0.67x": ("baseline", {**OWN_TASTES, "giants.Microsoft.price": 483.6 / 1.5}, 10.0),
}


def measure(task) -> dict[str, pd.DataFrame]:
    """The experiment runner's run function: one run reduced to the four numbers above."""
    from model import scenario as scenarios
    from model.model import CircularFinance

    model = CircularFinance(scenarios.from_dict(task.config, where=task.scenario), rng=task.seed)
    opening = model.weekly_row()
    model.run()
    weekly = model.tables()["weekly"]
    returns = np.log1p(weekly["basket_return"].iloc[1:])
    return {
        "caveats": pd.DataFrame(
            [
                {
                    "rest_end_over_start": weekly["pf_Rest"].iloc[-1] / opening["pf_Rest"],
                    "microsoft_pf_end": weekly["pf_Microsoft"].iloc[-1],
                    "largest_giant_pf": max(weekly[f"pf_{g}"].max() for g in GIANTS),
                    "largest_weekly_move": float(returns.abs().max()),
                }
            ]
        )
    }


def main(argv: list[str] | None = None) -> int:
    from pathlib import Path

    from runs import commands
    from runs.cli import _Parser
    from runs.executors import ExecutorOptions
    from runs.experiment import run_experiment
    from runs.loader import load_experiment
    from runs.simulate import scenario_config

    parser = _Parser(prog="python -m runs.scripts.market_caveats", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16, help="seeds per variant (default 16)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--out", default="out/market_caveats", help="output folder (default out/market_caveats)")
    args = parser.parse_args(argv)
    try:
        commands.check_limits(args)
        commands.check_out_dir(args.out)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    pieces = []
    for years in sorted({spec[2] for spec in VARIANTS.values()}):
        names = {run_name(name): name for name, spec in VARIANTS.items() if spec[2] == years}
        configs = {key: scenario_config(VARIANTS[name][0], VARIANTS[name][1], years) for key, name in names.items()}
        where = Path(args.out) / f"{years:g}-years"
        run_experiment(
            where,
            configs,
            measure,
            n_seeds=args.seeds,
            root_seed=20260101,
            years=years,
            options=ExecutorOptions(workers=args.workers),
        )
        table = load_experiment(where, ["caveats"])["caveats"]
        pieces.append(table.assign(variant=table["scenario"].map(names)))
    rows = pd.concat(pieces, ignore_index=True)
    by = rows.groupby("variant", sort=False)
    drift = by["rest_end_over_start"]
    outside = by.apply(
        lambda d: float(((d["rest_end_over_start"] < 0.8) | (d["rest_end_over_start"] > 1.25)).mean()),
        include_groups=False,
    )
    print(f"{args.seeds} seeds per variant (replicate seeds of root 20260101)\n")
    print("rest of the market, price/fundamental at the end over its start")
    for name in list(VARIANTS)[:5]:
        print(f"  {name:<22} median {drift.median()[name]:.3f}, outside 0.8-1.25 in {outside[name]:.0%} of runs")
    observed = rows[rows["variant"] == "baseline"].set_index("seed")["microsoft_pf_end"]
    print(
        "\nMicrosoft's price/fundamental after ten years over the unshifted run's (latent demand solved at the "
        "opening price)"
    )
    for name, shift in (("Microsoft opens at 1.5x", 1.5), ("Microsoft opens at 0.67x", 1 / 1.5)):
        shifted = rows[rows["variant"] == name].set_index("seed")["microsoft_pf_end"]
        ratio = float(np.median(shifted / observed))
        print(f"  {name:<26} median ratio {ratio:.3f}: {np.log(ratio) / np.log(shift):.0%} of the opening gap kept")
    base = rows[rows["variant"] == "baseline"]
    print(
        f"\nbaseline: largest single-giant price/fundamental {base['largest_giant_pf'].max():.2f}; "
        f"largest weekly basket move (log) {base['largest_weekly_move'].max():.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
