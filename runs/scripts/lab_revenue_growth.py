"""How does the labs' real revenue growth change the bubble? Every lab's growth scaled by a factor.

A factor of 1 is the scenario; 0.5 halves every lab's current revenue growth, 1.5 raises it
by half (the long-run growth the rate fades to is left as it is). Faster real growth lets
the labs justify their rounds with customers' money, slower growth leaves them leaning on
their partners. Every factor runs the same paired seeds. Writes `lifetimes.parquet`,
`sweep.parquet` (per factor: Kaplan-Meier median lifetime and P(burst) with 95% intervals,
median peak price/fundamental), `survival.png` and `sweep.png`.

    python -m runs.scripts.lab_revenue_growth [--factors 0.5,0.75,1,1.5] [--seeds 12] [--out DIR]
"""

from __future__ import annotations

from economy.errors import InputError
from runs import commands, scripts
from runs.loader import load_experiment
from runs.simulate import scenario_config

NAME = "lab_revenue_growth"


@commands.holding_lock
def main(argv: list[str] | None = None) -> int:
    p = scripts.parser(NAME, __doc__, seeds=12)
    p.add_argument("--factors", default="0.5,0.75,1,1.5", help="multipliers of every lab's revenue growth")
    args = p.parse_args(argv)
    scripts.check(args)
    factors = [commands.parse_value(v) for v in args.factors.split(",")]
    if any(isinstance(f, bool) or not isinstance(f, (int, float)) or f < 0 for f in factors):
        raise InputError(f"--factors must be non-negative numbers separated by commas, got {args.factors!r}")
    labs = scenario_config(args.scenario, years=args.years)["labs"]
    scenarios = {}
    for factor in factors:
        growth = {f"labs.{lab['name']}.revenue_growth": factor * lab["revenue_growth"] for lab in labs}
        scenarios[f"growth-x{factor:g}"] = scenario_config(args.scenario, growth, args.years)
    years = commands.common_years(scenarios)

    summary = scripts.run_scenarios(args, scenarios, years)
    tables = load_experiment(args.out, {"episodes": None, "weekly": ["basket_pf"]}, strict=False)
    return scripts.report_sweep(args, summary, tables, scenarios, "growth_factor", factors, years)


if __name__ == "__main__":
    scripts.run(main)
