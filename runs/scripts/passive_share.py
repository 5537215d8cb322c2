"""How does the passive share of savings change the bubble? The baseline at several passive shares.

Index funds buy by market-cap weight whatever the price, so the more of the savers' money
they hold, the less the market as a whole answers to valuations (design 6.1-6.2). Every
share runs the same paired seeds. Writes `lifetimes.parquet`, `sweep.parquet` (per share:
Kaplan-Meier median lifetime and P(burst) with 95% intervals, median peak
price/fundamental), `survival.png` and `sweep.png`.

    python -m runs.scripts.passive_share [--shares 0.3,0.5,0.7,0.9] [--seeds 12] [--out DIR]
"""

from __future__ import annotations

from runs import commands, scripts
from runs.loader import load_experiment
from runs.simulate import scenario_config

NAME = "passive_share"
FIELD = "market.passive_share"


@commands.holding_lock
def main(argv: list[str] | None = None) -> int:
    p = scripts.parser(NAME, __doc__, seeds=12)
    p.add_argument("--shares", default="0.3,0.5,0.7,0.9", help="passive shares of fund assets to compare")
    args = p.parse_args(argv)
    scripts.check(args)
    shares = [commands.parse_value(v) for v in args.shares.split(",")]
    scenarios = {
        f"passive-{commands.value_text(s)}": scenario_config(args.scenario, {FIELD: s}, args.years) for s in shares
    }
    years = commands.common_years(scenarios)

    summary = scripts.run_scenarios(args, scenarios, years)
    tables = load_experiment(args.out, {"episodes": None, "weekly": ["basket_pf"]}, strict=False)
    return scripts.report_sweep(args, summary, tables, scenarios, "passive_share", shares, years)


if __name__ == "__main__":
    scripts.run(main)
