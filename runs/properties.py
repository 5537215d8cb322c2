"""`python -m runs properties`: the market's must-show properties (design 6 and 10) as one table.

Runs the baseline and its counterfactuals on the same seeds (spawned from one root seed,
replicate i the same in every variant) and checks, each against its target:

- **null market**: under `no_loop` and `baseline` the rest of the market (no AI story) starts
  near its fundamental value and does not drift from it (16 seeds);
- **bubbles**: how often the AI basket forms a bubble with the loop and without it (64 seeds
  each), bursts, and whether lifetimes and causes come from the rules;
- **stylized facts** of weekly returns (Cont 2001), medians over 16 baseline seeds;
- **levers**, on 32 paired seeds with a one-sided sign test: interest rate, strict
  accounting, the passive share, the labs' real revenue growth;
- **channels**: each circular channel off on its own (spend-back, partner money, round-trip
  revenue, marks, earnings-based funds) and all together, against the baseline's AI premium;
- **bounds** over 64 baseline seeds: no lab above 100 times its revenue, the basket never
  above 10 times its fundamental, no failed run;
- the **flow multiplier** by an impulse experiment (Gabaix and Koijen 2021), and the savers'
  net flow into stocks as a share of market value (reported beside the Financial Accounts).

The checks are pure functions of the run summaries (`summarise`), so the tests assert exactly
what this command prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from economy.errors import InputError

WEEKS_PER_YEAR = 52
ROOT_SEED = 20260101
LAB_GROWTH = {"OpenAI": 1.0, "Anthropic": 1.5}   # the baseline's revenue_growth, doubled and halved below

# name -> (scenario, overrides, years)
VARIANTS = {
    "baseline": ("baseline", {}, 10.0),
    "no_loop": ("no_loop", {}, 10.0),
    "strict": ("strict", {}, 10.0),
    "rate 2%": ("baseline", {"economy.interest_rate": 0.02}, 10.0),
    "rate 6%": ("baseline", {"economy.interest_rate": 0.06}, 10.0),
    "passive 0.3": ("baseline", {"market.passive_share": 0.3}, 10.0),
    "passive 0.7": ("baseline", {"market.passive_share": 0.7}, 10.0),
    "lab growth x2": ("baseline", {f"labs.{lab}.revenue_growth": 2.0 * g for lab, g in LAB_GROWTH.items()}, 5.0),
    "lab growth x0.5": ("baseline", {f"labs.{lab}.revenue_growth": 0.5 * g for lab, g in LAB_GROWTH.items()}, 5.0),
    # One channel off at a time (the rest as in the baseline): what the AI premium is made of.
    "no spend-back": ("baseline", {"economy.spend_back": False}, 10.0),
    "no partner money": ("baseline", {"economy.partner_money": False}, 10.0),
    "no marks": ("baseline", {"economy.regime": "no_marks"}, 10.0),
    "no round-trip revenue": ("baseline", {"economy.regime": "net_roundtrip"}, 10.0),
    "no earnings-based funds": ("baseline", {"market.earnings_share": 0.0}, 10.0),
}
CHANNELS = ["no spend-back", "no partner money", "no round-trip revenue", "no marks", "no earnings-based funds",
            "no_loop"]
SEEDS = {"null": 16, "facts": 16, "levers": 32, "bounds": 64}


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    value: float
    target: str
    ok: bool | None      # None: reported, not checked


# ------------------------------------------------------------------------- one run
def summarise(task: tuple) -> dict:
    """Run one (variant, scenario, overrides, years, seed) and reduce it to what the checks read."""
    from model.model import CircularFinance
    from model.stylized import stylized_facts

    variant, scenario, overrides, years, seed = task
    out = {"variant": variant, "seed": seed, "failed": False, "error": ""}
    try:
        model = CircularFinance(scenario, rng=seed, years=years, overrides=overrides)
        opening = model.weekly_row()          # the state at the start date, before any trading
        model.run()
    except Exception as exc:   # a failed run is a result here: the bounds check counts them
        return {**out, "failed": True, "error": f"{type(exc).__name__}: {exc}"}
    tables = model.tables()
    weekly, episodes = tables["weekly"], tables["episodes"]
    giants = [g.name for g in model.giants]
    labs = [lab.name for lab in model.labs]
    multiples = [(weekly[f"{lab}_valuation"] / weekly[f"{lab}_revenue"]).replace([np.inf, -np.inf], np.nan).max()
                 for lab in labs]
    first = episodes.iloc[0] if len(episodes) else None
    year5 = min(len(weekly), 5 * WEEKS_PER_YEAR) - 1
    flows = (weekly["flow_to_index"] + weekly["flow_to_active"]) * WEEKS_PER_YEAR / weekly["market_cap"]
    return {**out,
            "rest_pf_start": float(opening["pf_Rest"]), "basket_pf_start": float(opening["basket_pf"]),
            "rest_pf_week0": float(weekly["pf_Rest"].iloc[0]), "rest_pf_end": float(weekly["pf_Rest"].iloc[-1]),
            "rest_pf_peak": float(weekly["pf_Rest"].max()), "basket_pf_peak": float(weekly["basket_pf"].max()),
            "premium_3y": float(weekly["ai_premium"].iloc[:3 * WEEKS_PER_YEAR].mean()),
            "fundamental_5y": float(weekly["basket_fundamental"].iloc[year5]),
            "lab_multiple_max": float(np.nanmax(multiples)) if labs else 0.0,
            "episodes": len(episodes), "bursts": int((~episodes["censored"]).sum()),
            "lifetimes": [float(x) for x in episodes["lifetime_weeks"]],
            "causes": [str(c) for c, censored in zip(episodes["cause"], episodes["censored"]) if not censored],
            "events": [text for _, text in model.events],
            "first_remaining_weeks": float(first["remaining_weeks"]) if first is not None else math.nan,
            "first_censored": bool(first["censored"]) if first is not None else None,
            "net_flow_share": float(flows.mean()),
            "facts": {"basket": stylized_facts(np.log1p(weekly["basket_return"].iloc[1:])),
                      **{g: stylized_facts(np.diff(np.log(weekly[f"price_{g}"]))) for g in giants}}}


def tasks(seeds_per_group: dict[str, int] = SEEDS, root_seed: int = ROOT_SEED) -> list[tuple]:
    """Every run the checks need; replicate i has the same seed in every variant."""
    from runs.experiment import replicate_seeds

    seeds = replicate_seeds(root_seed, max(seeds_per_group.values()))
    wanted = {"baseline": seeds_per_group["bounds"], "no_loop": seeds_per_group["bounds"]}
    for name in VARIANTS:
        wanted.setdefault(name, seeds_per_group["levers"])
    return [(name, *VARIANTS[name], seed) for name, n in wanted.items() for seed in seeds[:n]]


# --------------------------------------------------------------------------- checks
def _runs(summaries: list[dict], variant: str, n: int | None = None) -> list[dict]:
    chosen = [s for s in summaries if s["variant"] == variant]
    return chosen[:n] if n else chosen


def _sign_test(lower: list[float], higher: list[float]) -> tuple[int, int, float]:
    """One-sided sign test that `higher` exceeds `lower` pair by pair (ties and NaN dropped)."""
    from scipy.stats import binomtest

    pairs = [(a, b) for a, b in zip(lower, higher) if np.isfinite(a) and np.isfinite(b) and a != b]
    wins = sum(b > a for a, b in pairs)
    p = binomtest(wins, len(pairs), 0.5, alternative="greater").pvalue if pairs else math.nan
    return wins, len(pairs), float(p)


def null_market(summaries: list[dict], n: int = SEEDS["null"]) -> list[Check]:
    """The rest of the market starts near fair value and does not drift (design 10.5)."""
    checks = []
    for variant in ("no_loop", "baseline"):
        runs = [s for s in _runs(summaries, variant, n) if not s["failed"]]
        start = np.array([s["rest_pf_start"] for s in runs])
        ratio = np.median([s["rest_pf_end"] / s["rest_pf_start"] for s in runs])
        peak = np.median([s["rest_pf_peak"] for s in runs])
        note = " (1 by construction of the equity premium)" if variant == "baseline" else ""
        checks += [
            Check("null market", f"{variant}: rest P/F at the start date, lowest of {len(runs)} seeds{note}",
                  float(start.min()), f"within 0.9-1.1 (highest {start.max():.3f})",
                  bool(start.min() >= 0.9 and start.max() <= 1.1)),
            Check("null market", f"{variant}: rest P/F after 10 years over its start, median", float(ratio),
                  "0.8-1.25", bool(0.8 <= ratio <= 1.25)),
            Check("null market", f"{variant}: rest P/F peak, median", float(peak), "<= 1.5", bool(peak <= 1.5))]
    return checks


EVENT_KINDS = ("down round", "round failed", "failed", "panic selling", "net flows turn negative",
               "switch to cash-flow valuation", "marks on lab stakes turn negative")


def bubbles(summaries: list[dict], n: int = SEEDS["bounds"]) -> list[Check]:
    """The bubble is the loop's (design 10.4 and 10.5): it forms with the loop and not without it,
    bursts by itself at dates that differ from seed to seed, with a cause the model logged."""
    base = [s for s in _runs(summaries, "baseline", n) if not s["failed"]]
    formed = [s for s in base if s["episodes"]]
    burst = [s for s in formed if s["bursts"]]
    lifetimes = {round(life, 6) for s in base for life in s["lifetimes"]}
    events_ok = all(any(kind in event for kind in EVENT_KINDS) for s in base for event in s["events"])
    causes_ok = all(cause for s in base for cause in s["causes"])
    with_loop, without = (np.array([s["episodes"] > 0 for s in _runs(summaries, v, n) if not s["failed"]])
                          for v in ("baseline", "no_loop"))
    wins, pairs, p = _sign_test([float(x) for x in without], [float(x) for x in with_loop[:len(without)]])
    return [
        Check("bubbles", f"baseline runs that form a bubble (basket P/F > 1.5 for 4 weeks), {len(base)} seeds",
              len(formed) / max(1, len(base)), "reported", None),
        Check("bubbles", "of those, runs where it bursts before the horizon", len(burst) / max(1, len(formed)),
              "reported", None),
        Check("bubbles", f"no_loop runs that form one, {len(without)} seeds", float(without.mean()),
              f"fewer than baseline's {with_loop[:len(without)].mean():.2f}: sign test p < 0.05 ({wins} of {pairs})",
              bool(pairs and p < 0.05)),
        Check("bubbles", "distinct lifetimes across baseline seeds", float(len(lifetimes)), "> 5", len(lifetimes) > 5),
        Check("bubbles", "every logged event is a model rule's, every burst names a cause",
              float(events_ok and causes_ok), "1", events_ok and causes_ok)]


def stylized(summaries: list[dict], n: int = SEEDS["facts"]) -> list[Check]:
    """Weekly returns move like prices (design 6.6), medians over seeds."""
    runs = [s for s in _runs(summaries, "baseline", n) if not s["failed"]]
    basket = {k: float(np.median([s["facts"]["basket"][k] for s in runs])) for k in runs[0]["facts"]["basket"]}
    giants = [k for k in runs[0]["facts"] if k != "basket"]
    worst = max(abs(float(np.median([s["facts"][g]["ac1"] for s in runs]))) for g in giants)
    return [
        Check("stylized facts", "basket |lag-1 autocorrelation|", abs(basket["ac1"]), "<= 0.10",
              abs(basket["ac1"]) <= 0.10),
        Check("stylized facts", "each giant's |lag-1 autocorrelation|, the largest", worst, "<= 0.15", worst <= 0.15),
        Check("stylized facts", "basket excess kurtosis", basket["excess_kurtosis"], ">= 1",
              basket["excess_kurtosis"] >= 1.0),
        Check("stylized facts", "basket autocorrelation of |returns| at lag 10", basket["abs_ac10"], ">= 0.05",
              basket["abs_ac10"] >= 0.05),
        Check("stylized facts", "basket tail index (Hill, top 5%)", basket["tail_index"], "2-5",
              2.0 <= basket["tail_index"] <= 5.0),
        Check("stylized facts", "basket annualised volatility", basket["volatility"], "12%-45%",
              0.12 <= basket["volatility"] <= 0.45)]


def levers(summaries: list[dict], n: int = SEEDS["levers"]) -> list[Check]:
    """Levers move as economics says (design 10.6), on paired seeds: one-sided sign tests."""
    def paired(a: str, b: str, key: str) -> tuple[list[float], list[float]]:
        left = {s["seed"]: s.get(key, math.nan) for s in _runs(summaries, a, n) if not s["failed"]}
        right = {s["seed"]: s.get(key, math.nan) for s in _runs(summaries, b, n) if not s["failed"]}
        seeds = [seed for seed in left if seed in right]
        return [left[s] for s in seeds], [right[s] for s in seeds]

    rows = []
    for text, (low, high) in [
        ("a 6% rate gives a lower peak basket P/F than 2%", paired("rate 6%", "rate 2%", "basket_pf_peak")),
        ("a 6% rate gives a shorter remaining life of the first episode than 2%",
         paired("rate 6%", "rate 2%", "first_remaining_weeks")),
        ("strict accounting lowers the AI premium over the first three years", paired("strict", "baseline", "premium_3y")),
        ("strict accounting lowers the peak basket P/F", paired("strict", "baseline", "basket_pf_peak")),
        ("passive share 0.7 raises the peak basket P/F over 0.3", paired("passive 0.3", "passive 0.7", "basket_pf_peak")),
        ("labs' revenue growth doubled raises the basket's fundamental at year 5 over halved",
         paired("lab growth x0.5", "lab growth x2", "fundamental_5y")),
    ]:
        wins, pairs, p = _sign_test(low, high)
        rows.append(Check("levers", f"{text} ({wins} of {pairs} pairs)", p, "sign test p < 0.05",
                          bool(pairs and p < 0.05)))
    return rows


def channels(summaries: list[dict], n: int = SEEDS["levers"]) -> list[Check]:
    """What the AI premium is made of: each circular channel off on its own, and all together
    (no_loop); the premium over the first three years and the peak, medians and paired tests."""
    def by_seed(variant: str, key: str) -> dict:
        return {s["seed"]: s[key] for s in _runs(summaries, variant, n) if not s["failed"]}

    rows = []
    base_premium, base_peak = by_seed("baseline", "premium_3y"), by_seed("baseline", "basket_pf_peak")
    for variant in CHANNELS:
        premium, peak = by_seed(variant, "premium_3y"), by_seed(variant, "basket_pf_peak")
        seeds = [s for s in premium if s in base_premium]
        wins, pairs, p = _sign_test([premium[s] for s in seeds], [base_premium[s] for s in seeds])
        change = float(np.median([premium[s] - base_premium[s] for s in seeds]))
        peak_change = float(np.median([peak[s] - base_peak[s] for s in seeds]))
        rows.append(Check("channels", f"{variant}: AI premium over 3 years minus the baseline's, median "
                          f"(peak P/F {peak_change:+.2f}; lower in {wins} of {pairs}, p = {p:.2g})",
                          change, "reported", None))
    return rows


def bounds(summaries: list[dict], n: int = SEEDS["bounds"]) -> list[Check]:
    """Bounded (design 10.9): no runaway lab valuations or basket prices, no failed run."""
    runs = _runs(summaries, "baseline", n)
    done = [s for s in runs if not s["failed"]]
    lab = max((s["lab_multiple_max"] for s in done), default=math.nan)
    basket = max((s["basket_pf_peak"] for s in done), default=math.nan)
    failed = len(runs) - len(done)
    return [Check("bounds", f"highest lab valuation over revenue run-rate, {len(runs)} seeds", lab, "<= 100",
                  bool(lab <= 100.0)),
            Check("bounds", f"highest basket P/F, {len(runs)} seeds", basket, "<= 10", bool(basket <= 10.0)),
            Check("bounds", "failed runs", float(failed), "0", failed == 0)]


def flows(summaries: list[dict], root_seed: int = ROOT_SEED) -> list[Check]:
    """The flow multiplier (design 6.3) and savers' net flow into stocks (design 6.1)."""
    from model.impulse import flow_multiplier

    runs = [s for s in _runs(summaries, "baseline") if not s["failed"]]
    multipliers = {share: flow_multiplier(rng=root_seed, horizons=(4,), overrides={"market.passive_share": share})[4]
                   for share in (0.3, 0.5, 0.7)}
    rising = multipliers[0.3] < multipliers[0.5] < multipliers[0.7]
    flow = float(np.median([s["net_flow_share"] for s in runs]))
    return [Check("flows", "flow multiplier, 4 weeks after an inflow into index funds", multipliers[0.5], "3-8",
                  3.0 <= multipliers[0.5] <= 8.0),
            Check("flows", f"multiplier at passive share 0.3 / 0.7 ({multipliers[0.3]:.2f} / {multipliers[0.7]:.2f})",
                  multipliers[0.7] - multipliers[0.3], "rising with the passive share", rising),
            Check("flows", "savers' net flow into stocks per year, share of market value, median", flow,
                  "small (US: about -1% to +1%, Z.1)", None)]


def all_checks(summaries: list[dict]) -> list[Check]:
    return [*null_market(summaries), *bubbles(summaries), *stylized(summaries), *levers(summaries),
            *channels(summaries), *bounds(summaries), *flows(summaries)]


# --------------------------------------------------------------------------- command
def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("properties", help="the market's must-show properties over an ensemble",
                                   description=__doc__)
    parser.add_argument("--root-seed", type=int, default=ROOT_SEED, help=f"root seed (default {ROOT_SEED})")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.set_defaults(func=main)


def main(args) -> int:
    from runs.simulate import ensemble

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, not {args.workers}")
    if args.root_seed < 0:
        raise InputError(f"--root-seed must be non-negative, not {args.root_seed}")
    work = tasks(root_seed=args.root_seed)
    print(f"{len(work)} runs: {', '.join(VARIANTS)}; root seed {args.root_seed}")
    summaries = ensemble(summarise, work, args.workers)
    print(format_table(all_checks(summaries)))
    return 0


def format_table(checks: list[Check]) -> str:
    lines, group = [], None
    for check in checks:
        if check.group != group:
            group = check.group
            lines.append(f"\n{group}")
        mark = {True: "ok", False: "NOT MET", None: "reported"}[check.ok]
        lines.append(f"  {check.name:<86} {check.value:>9.3f}  {check.target:<34} {mark}")
    return "\n".join(lines).lstrip("\n")
