"""How do interest rates change the bubble's lifetime? The baseline at several policy rates.

Every rate runs the same paired seeds; rounds are priced against the scenario's reference
rate, so a higher rate lowers the labs' multiples and outside appetite. Writes
`lifetimes.parquet`, `sweep.parquet` (per rate: Kaplan-Meier median lifetime and P(burst)
with 95% intervals, median peak price/fundamental), `survival.png` and `sweep.png`.

    python -m runs.scripts.interest_rates [--rates 0.02,0.04,0.06,0.08] [--seeds 12] [--out DIR]
"""

from __future__ import annotations

from runs import commands, scripts
from runs.loader import load_experiment
from runs.simulate import scenario_config

NAME = "interest_rates"
FIELD = "economy.interest_rate"


@commands.holding_lock
def main(argv: list[str] | None = None) -> int:
    p = scripts.parser(NAME, __doc__, seeds=12)
    p.add_argument("--rates", default="0.02,0.04,0.06,0.08", help="policy rates to compare")
    args = p.parse_args(argv)
    scripts.check(args)
    rates = [commands.parse_value(v) for v in args.rates.split(",")]
    scenarios = {
        f"rate-{commands.value_text(r)}": scenario_config(args.scenario, {FIELD: r}, args.years) for r in rates
    }
    years = commands.common_years(scenarios)

    summary = scripts.run_scenarios(args, scenarios, years)
    tables = load_experiment(args.out, {"episodes": None, "weekly": ["basket_pf"]}, strict=False)
    return scripts.report_sweep(args, summary, tables, scenarios, "interest_rate", rates, years)


if __name__ == "__main__":
    scripts.run(main)
