"""Do the accounting rules make the bubble? The baseline under gaap_2026 against strict.

`gaap_2026` books the giants' stakes and round-trip revenue as the companies do; `strict`
carries stakes at cost and nets the round trip out (README, accounting regimes). Cash paths
are identical under both, so any difference in lifetimes comes from what investors are
shown. Replicate i has the same seed under both regimes, so the peak price/fundamental is
compared pair by pair. Writes `lifetimes.parquet`, `summary.parquet` (Kaplan-Meier median
and P(burst) per regime, log-rank p), `peak_pf.parquet` (per seed, both regimes),
`survival.png`.

    python -m runs.scripts.accounting_regime [--seeds 20] [--out DIR]
"""

from __future__ import annotations

import math

from runs import commands, scripts, survival
from runs.loader import load_experiment
from runs.simulate import scenario_config

NAME = "accounting_regime"
REGIMES = ("gaap_2026", "strict")


@commands.holding_lock
def main(argv: list[str] | None = None) -> int:
    args = scripts.parser(NAME, __doc__, seeds=20).parse_args(argv)
    scripts.check(args)
    scenarios = {r: scenario_config(args.scenario, {"economy.regime": r}, args.years) for r in REGIMES}
    years = commands.common_years(scenarios)

    summary = scripts.run_scenarios(args, scenarios, years)
    tables = load_experiment(args.out, {"episodes": None, "weekly": ["basket_pf"]}, strict=False)
    horizon = commands.horizon_weeks(years)
    every = commands.lifetimes(tables.get("episodes"), args.measure)
    life = commands.chosen_episodes(every, args.episode_kind)
    table = survival.lifetime_summary(life, horizon, scenarios=list(REGIMES))
    p_value = survival.logrank(life)
    table["logrank_p"] = p_value
    peaks = (
        scripts.peak_ratio(tables.get("weekly"))
        .pivot(index=["replicate", "seed"], columns="scenario", values="peak_pf")
        .reset_index()
    )
    definition = commands.bubble_definition(scenarios[REGIMES[0]], args.measure, args.episode_kind)
    drawn = {}
    if not life.empty:
        drawn["survival"] = survival.plot_survival(
            life,
            definition_note=definition,
            scenarios=list(REGIMES),
            title="Bubble lifetimes under the companies' accounting (gaap_2026) and strict accounting",
        )
        drawn["survival"].axes[0].set_xlabel(f"{commands.MEASURE_AXIS[args.measure]} (years; 1 year = 52 weeks)")
    paths = scripts.write(args.out, {"lifetimes": every, "summary": table, "peak_pf": peaks}, drawn)

    print(f"accounting regimes: {summary}")
    for row in table.itertuples():
        burst = f"{row.p_burst:.2f}" if math.isfinite(row.p_burst) else "n/a"
        print(
            f"  {row.scenario}: {row.n_episodes} episodes, median {row.median_text}, "
            f"{commands.burst_label(horizon, args.measure)} {burst}"
        )
    if math.isfinite(p_value):
        print(f"  log-rank p = {p_value:.3g}")
    if set(REGIMES) <= set(peaks.columns) and len(peaks):
        lower = (peaks["strict"] < peaks["gaap_2026"]).mean()
        print(
            f"  peak price/fundamental, median: gaap_2026 {peaks['gaap_2026'].median():.2f}, strict "
            f"{peaks['strict'].median():.2f}; strict lower in {lower:.0%} of {len(peaks)} paired seeds"
        )
    print("wrote:\n" + "\n".join(f"  {path}" for path in paths))
    return 0 if summary.ok else 1


if __name__ == "__main__":
    scripts.run(main)
