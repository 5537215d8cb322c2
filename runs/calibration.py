"""`python -m runs calibration`: run a scenario and print every seed figure of design section 8
(read from the first quarter's statements) beside the model's value, then the first year's
cloud revenue by origin; exit 0 only if all figures are within tolerance.
"""

from __future__ import annotations

import argparse
import json
import math

# The docstring without its "`python -m runs X`: " lead-in, as the command's --help text.
_DESCRIPTION = __doc__.split(": ", 1)[1][:1].upper() + __doc__.split(": ", 1)[1][1:]


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "calibration",
        help="compare the first quarter with the seed figures",
        description=_DESCRIPTION,
        epilog="example:\n  python -m runs calibration --scenario baseline --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario", default="baseline", metavar="NAME", help="scenario name or TOML path (default: baseline)"
    )
    parser.add_argument("--seed", type=int, default=None, metavar="N", help="random seed (default: the scenario's)")
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.set_defaults(func=main)


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def main(args) -> int:
    from economy.accounting import revenue_by_origin
    from model.calibration import TOLERANCE, run_first_year, seed_figures
    from runs.commands import check_limits, resolve

    check_limits(args)
    resolve(args.scenario)  # a bad scenario is refused before the run
    tables = run_first_year(args.scenario, rng=args.seed)
    table = seed_figures(tables)
    counted = table[table["ok"].notna()]
    passed = bool(counted["ok"].all())
    if args.json:
        rows = [
            {
                "figure": r.figure,
                "seed": r.seed,
                "model": _number(r.model),
                "rel_error": _number(r.rel_error),
                "ok": None if r.ok is None else bool(r.ok),
            }
            for r in table.itertuples()
        ]
        print(json.dumps(rows, indent=2))
        return 0 if passed else 1
    width = max(len(name) for name in table["figure"])
    print(f"Calibration of scenario {args.scenario!r}, first quarter (tolerance {TOLERANCE:.0%})")
    print(f"{'figure':<{width}}  {'seed':>9}  {'model':>9}  {'rel.err':>8}  ok")
    for r in table.itertuples():
        if r.ok is None:
            print(f"{r.figure:<{width}}  {r.seed:>9.2f}  {'-':>9}  {'-':>8}  reference ({r.note})")
            continue
        mark = "ok" if r.ok else "FAIL"
        print(
            f"{r.figure:<{width}}  {r.seed:>9.2f}  {r.model:>9.2f}  {r.rel_error:>+8.1%}  {mark}"
            + (f"  ({r.compare.replace('_', ' ')})" if r.compare != "about" else "")
        )
    print(
        f"{int(counted['ok'].sum())} of {len(counted)} figures within tolerance" + ("" if passed else "; see FAIL rows")
    )
    print("\nCloud revenue by who really paid, first year ($B and share; design 5.2)")
    print(f"{'giant':<10} {'round-trip':>16} {'cross-funded':>16} {'real':>16}")
    for r in revenue_by_origin(tables["giant_quarters"]).itertuples():
        print(
            f"{r.giant:<10} {r.roundtrip:>8.1f} ({r.roundtrip_share:>4.0%}) {r.cross:>8.1f} ({r.cross_share:>4.0%})"
            f" {r.real:>8.1f} ({r.real_share:>4.0%})"
        )
    return 0 if passed else 1
