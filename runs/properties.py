"""`python -m runs properties`: the design's ensemble properties (section 10, items 3, 4 and 6),
printed as a table anyone can rerun.

Runs the baseline and its counterfactuals over the same seeds (0 .. N-1): how many runs form
a bubble, how many of those burst before the horizon, how varied the lifetimes are, the
median peak price-to-fundamental ratio of the AI basket, and the flow multiplier measured
by an impulse run (same seed, one extra inflow into index funds, market value 4 weeks on).
"""

from __future__ import annotations

import numpy as np

from economy.errors import InputError
from model.impulse import flow_multiplier
from runs.simulate import ensemble

VARIANTS = {
    "baseline": {},
    "strict, plain cash": {"regime": "strict", "spend_back": False},
    "passive share 0.3": {"overrides": {"market.passive_share": 0.3}},
    "passive share 0.7": {"overrides": {"market.passive_share": 0.7}},
}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("properties", help="bubble statistics over an ensemble", description=__doc__)
    parser.add_argument("--seeds", type=int, default=32, help="runs per variant (default 32)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.set_defaults(func=main)


def main(args) -> int:
    if args.seeds < 1:
        raise InputError(f"--seeds must be at least 1, not {args.seeds}")
    print(f"{args.seeds} seeds x 10 years per variant; bubble: basket price/fundamental > 1.5 for 4 weeks")
    print(f"{'variant':<20} {'formed':>8} {'burst':>8} {'lifetimes (weeks) p10/median/p90':>34} "
          f"{'median peak P/F':>16} {'multiplier (4 wk)':>18}")
    for name, parameters in VARIANTS.items():
        runs = ensemble(parameters, args.seeds, args.workers)
        formed = [r for r in runs if r["episodes"] > 0]
        burst = [r for r in formed if r["burst"] > 0]
        lifetimes = np.array([life for r in runs for life in r["lifetimes"]])
        spread = (np.percentile(lifetimes, [10, 50, 90]) if lifetimes.size else [np.nan] * 3)
        multiplier = flow_multiplier(rng=1, horizons=(4,), **parameters)[4]
        print(f"{name:<20} {len(formed) / len(runs):>8.0%} {len(burst) / max(1, len(formed)):>8.0%} "
              f"{spread[0]:>14.0f} /{spread[1]:>7.0f} /{spread[2]:>7.0f}   "
              f"{np.median([r['peak_pf'] for r in runs]):>16.2f} {multiplier:>18.2f}")
    print("formed: share of runs with an episode; burst: share of those with a burst before the horizon")
    return 0
