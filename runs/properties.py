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

The runs go through the experiment runner like every other command: replicate seeds spawned
from one root seed, progress, resumable, each run's small tables written as Parquet under
`--out` (default out/properties), then `checks.parquet` and `properties.png` (the rest of the
market's and the AI basket's price/fundamental over seeds, with and without the loop). The
checks are pure functions of the run summaries rebuilt from those tables (`summaries_from`),
so the tests assert exactly what this command prints.

    python -m runs properties --out out/properties
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from economy.errors import InputError

WEEKS_PER_YEAR = 52
ROOT_SEED = 20260101
LAB_GROWTH = {"OpenAI": 1.0, "Anthropic": 1.5}  # the baseline's revenue_growth, doubled and halved below

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
CHANNELS = [
    "no spend-back",
    "no partner money",
    "no round-trip revenue",
    "no marks",
    "no earnings-based funds",
    "no_loop",
]
SEEDS = {"null": 16, "facts": 16, "levers": 32, "bounds": 64}


@dataclass(frozen=True)
class Check:
    group: str
    name: str
    value: float
    target: str
    ok: bool | None  # None: reported, not checked


# ------------------------------------------------------------------------- one run
def run_name(variant: str) -> str:
    """The runner's folder name of a variant ('rate 2%' -> 'rate_2pct')."""
    from runs.commands import safe_label

    return safe_label(variant.replace("%", "pct"))


def baseline_folder(out_dir: Path, seeds_per_group: dict[str, int] = SEEDS) -> Path:
    """The experiment folder (under out_dir) that holds the baseline and no_loop runs."""
    return Path(out_dir) / next(
        name for name, (_, _, variants) in experiments(seeds_per_group).items() if "baseline" in variants
    )


def run_properties(task) -> dict:
    """One run of a variant, reduced to the small tables the checks read (the experiment
    runner's run function: module-level, so worker processes can import it)."""
    from model import scenario as scenarios
    from model.model import CircularFinance
    from runs.simulate import run_checked

    config = scenarios.from_dict(task.config, where=f"task {task.scenario}/{task.replicate}")
    model = CircularFinance(config, rng=task.seed)
    opening = model.weekly_row()  # the state at the start date, before any trading
    run_checked(model)  # books checked at quarter ends
    return measure(model, opening)


def measure(model, opening: dict) -> dict:
    """A finished model's summary row, stylized facts, episodes, events and a few weekly series."""
    import pandas as pd

    from model.stylized import stylized_facts

    tables = model.tables()
    weekly, episodes = tables["weekly"], tables["episodes"]
    giants = [g.name for g in model.giants]
    labs = [lab.name for lab in model.labs]
    multiples = [
        (weekly[f"{lab}_valuation"] / weekly[f"{lab}_revenue"]).replace([np.inf, -np.inf], np.nan).max() for lab in labs
    ]
    first = episodes[episodes["first"]].iloc[0] if episodes["first"].any() else None
    year5 = min(len(weekly), 5 * WEEKS_PER_YEAR) - 1
    flows = (weekly["flow_to_index"] + weekly["flow_to_active"]) * WEEKS_PER_YEAR / weekly["market_cap"]
    summary = {
        "rest_pf_start": float(opening["pf_Rest"]),
        "basket_pf_start": float(opening["basket_pf"]),
        "rest_pf_week0": float(weekly["pf_Rest"].iloc[0]),
        "rest_pf_end": float(weekly["pf_Rest"].iloc[-1]),
        "rest_pf_peak": float(weekly["pf_Rest"].max()),
        "basket_pf_peak": float(weekly["basket_pf"].max()),
        "premium_3y": float(weekly["ai_premium"].iloc[: 3 * WEEKS_PER_YEAR].mean()),
        "fundamental_5y": float(weekly["basket_fundamental"].iloc[year5]),
        "lab_multiple_max": float(np.nanmax(multiples)) if labs else 0.0,
        "first_remaining_weeks": float(first["remaining_weeks"]) if first is not None else math.nan,
        "first_censored": bool(first["censored"]) if first is not None else False,
        "net_flow_share": float(flows.mean()),
        "weeks": len(weekly),
    }
    facts = [
        {"series": name, "statistic": key, "value": float(value)}
        for name, returns in [
            ("basket", np.log1p(weekly["basket_return"].iloc[1:])),
            *[(g, np.diff(np.log(weekly[f"price_{g}"]))) for g in giants],
        ]
        for key, value in stylized_facts(returns).items()
    ]
    return {
        "summary": pd.DataFrame([summary]),
        "facts": pd.DataFrame(facts),
        "episodes": episodes,
        "events": tables["events"].astype({"week": "int64", "event": "str"}),
        "series": weekly[["week", "pf_Rest", "basket_pf", "ai_premium"]].reset_index(drop=True),
    }


def experiments(seeds_per_group: dict[str, int] = SEEDS) -> dict[str, tuple[int, float, list[str]]]:
    """The runs the checks need, as experiments of one seed count and horizon each:
    folder name -> (seeds, years, variants). Replicate i has the same seed in all of them."""
    wanted = {"baseline": seeds_per_group["bounds"], "no_loop": seeds_per_group["bounds"]}
    for name in VARIANTS:
        wanted.setdefault(name, seeds_per_group["levers"])
    groups: dict[str, tuple[int, float, list[str]]] = {}
    for name, n in wanted.items():
        years = VARIANTS[name][2]
        groups.setdefault(f"{n}-seeds-{years:g}-years", (n, years, []))[2].append(name)
    return groups


def run_all(
    out_dir, root_seed: int = ROOT_SEED, seeds_per_group: dict[str, int] = SEEDS, options=None, progress=None
) -> tuple[list[dict], int]:
    """Run (or resume) every experiment under out_dir; the run summaries and the number of failures."""
    from runs.experiment import run_experiment
    from runs.loader import load_experiment
    from runs.simulate import scenario_config
    from runs.store import exclusive, read_manifest

    summaries, failed = [], 0
    for folder, (n, years, variants) in experiments(seeds_per_group).items():
        configs = {run_name(v): scenario_config(VARIANTS[v][0], VARIANTS[v][1], years) for v in variants}
        where = Path(out_dir) / folder
        with exclusive(where):  # held through the reading, so no second runner interleaves
            result = run_experiment(
                where,
                configs,
                run_properties,
                n_seeds=n,
                root_seed=root_seed,
                years=years,
                options=options,
                progress=progress,
                manifest_extra={"command": "properties", "variants": {run_name(v): v for v in variants}},
                lock=False,
            )
            failed += result.failed
            tables = load_experiment(where, ["summary", "facts", "episodes", "events"], strict=False)
            seeds = read_manifest(where)["seeds"]
            summaries += summaries_from(tables, {run_name(v): v for v in variants}, result.failures, seeds)
    return summaries, failed


def summaries_from(tables: dict, names: dict[str, str], failures=(), seeds=()) -> list[dict]:
    """One dict per run (the form the checks read), ordered by variant and replicate; failed
    runs appear as {"variant", "seed", "failed": True}."""
    import pandas as pd

    def by_run(name: str) -> dict:
        table = tables.get(name, pd.DataFrame(columns=["scenario", "replicate"]))
        return {key: group for key, group in table.groupby(["scenario", "replicate"], sort=False)}

    facts, episodes, events = by_run("facts"), by_run("episodes"), by_run("events")
    empty = pd.DataFrame(columns=["lifetime_weeks", "censored", "cause", "event"])
    runs = []
    for row in tables["summary"].to_dict("records"):
        key = (row["scenario"], row["replicate"])
        run_facts = facts.get(key, pd.DataFrame(columns=["series", "statistic", "value"]))
        run_episodes = episodes.get(key, empty)
        runs.append(
            {
                **row,
                "variant": names[row["scenario"]],
                "failed": False,
                "error": "",
                "facts": {
                    series: dict(zip(group["statistic"], group["value"], strict=True))
                    for series, group in run_facts.groupby("series", sort=False)
                },
                "episodes": len(run_episodes),
                "bursts": int((~run_episodes["censored"].astype(bool)).sum()),
                "lifetimes": [float(x) for x in run_episodes["lifetime_weeks"]],
                "episode_table": run_episodes,
                "events": [str(text) for text in events.get(key, empty)["event"]],
            }
        )
    for scenario, replicate in failures:
        runs.append(
            {
                "variant": names[scenario],
                "scenario": scenario,
                "replicate": replicate,
                "seed": seeds[replicate],
                "failed": True,
                "error": "see the failures folder",
            }
        )
    return sorted(runs, key=lambda s: (list(names).index(s["scenario"]), s["replicate"]))


# --------------------------------------------------------------------------- checks
def _runs(summaries: list[dict], variant: str, n: int | None = None) -> list[dict]:
    chosen = [s for s in summaries if s["variant"] == variant]
    return chosen[:n] if n else chosen


def _sign_test(lower: list[float], higher: list[float]) -> tuple[int, int, float]:
    """One-sided sign test that `higher` exceeds `lower` pair by pair (ties and NaN dropped)."""
    from scipy.stats import binomtest

    # strict=False: the no-loop comparison may pass fewer runs on one side; pairs stop at the shorter.
    pairs = [(a, b) for a, b in zip(lower, higher, strict=False) if np.isfinite(a) and np.isfinite(b) and a != b]
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
            Check(
                "null market",
                f"{variant}: rest P/F at the start date, lowest of {len(runs)} seeds{note}",
                float(start.min()),
                f"within 0.9-1.1 (highest {start.max():.3f})",
                bool(start.min() >= 0.9 and start.max() <= 1.1),
            ),
            Check(
                "null market",
                f"{variant}: rest P/F after 10 years over its start, median",
                float(ratio),
                "0.8-1.25",
                bool(0.8 <= ratio <= 1.25),
            ),
            Check("null market", f"{variant}: rest P/F peak, median", float(peak), "<= 1.5", bool(peak <= 1.5)),
        ]
    return checks


EVENT_KINDS = (
    "down round",
    "round failed",
    "failed",
    "panic selling",
    "net flows turn negative",
    "switch to cash-flow valuation",
    "marks on lab stakes turn negative",
)


def causes_inside(table, start_date: dt.date) -> bool:
    """Every burst's cause is the mechanism's own description or a logged event dated inside its
    episode (from its first week in the run to its burst), never before it began."""
    for episode in table.itertuples():
        if episode.censored:
            continue
        found = re.search(r"\((\d{4}-\d{2}-\d{2})\)$", str(episode.cause))
        if found is None:
            if not str(episode.cause).startswith("price fell"):
                return False
            continue
        week = (dt.date.fromisoformat(found.group(1)) - start_date).days / 7
        if not max(episode.start_week, 0.0) <= week <= episode.burst_week:
            return False
    return True


def first_episodes(runs: list[dict]):
    """The headline (first) episode of each run that has one: remaining life from the start date."""
    import pandas as pd

    rows = [
        {
            "scenario": s["variant"],
            "seed": s["seed"],
            "lifetime_weeks": s["first_remaining_weeks"],
            "censored": s["first_censored"],
        }
        for s in runs
        if s["episodes"]
    ]
    return pd.DataFrame(rows, columns=["scenario", "seed", "lifetime_weeks", "censored"])


def bubbles(summaries: list[dict], n: int = SEEDS["bounds"]) -> list[Check]:
    """The bubble is the loop's (design 10.4 and 10.5): it forms with the loop and not without it,
    bursts by itself at dates that differ from seed to seed, with a cause the model logged or the
    mechanism, inside its own episode. Lifetimes are the first episode's remaining life from the
    start date (Kaplan-Meier, censored at the horizon); later episodes are counted apart."""
    from model.scenario import load
    from runs.survival import lifetime_summary

    base = [s for s in _runs(summaries, "baseline", n) if not s["failed"]]
    formed = [s for s in base if s["episodes"]]
    burst = [s for s in formed if not s["first_censored"]]
    lifetimes = {round(life, 6) for s in base for life in s["lifetimes"]}
    events_ok = all(any(kind in event for kind in EVENT_KINDS) for s in base for event in s["events"])
    start_date = load("baseline").run.start
    causes_ok = all(causes_inside(s["episode_table"], start_date) for s in base)
    with_loop, without = (
        np.array([s["episodes"] > 0 for s in _runs(summaries, v, n) if not s["failed"]])
        for v in ("baseline", "no_loop")
    )
    wins, pairs, p = _sign_test([float(x) for x in without], [float(x) for x in with_loop[: len(without)]])
    horizon = float(max((s["weeks"] for s in base), default=0))
    life = lifetime_summary(first_episodes(base), horizon, scenarios=["baseline"]).iloc[0]
    later = sum(s["episodes"] - 1 for s in formed)
    return [
        Check(
            "bubbles",
            f"baseline runs that form a bubble (basket P/F > 1.5 for 4 weeks), {len(base)} seeds",
            len(formed) / max(1, len(base)),
            "reported",
            None,
        ),
        Check(
            "bubbles",
            "of those, runs whose first episode bursts before the horizon",
            len(burst) / max(1, len(formed)),
            "reported",
            None,
        ),
        Check(
            "bubbles",
            f"first episode's remaining life from the start, restricted mean to the horizon, years "
            f"(95% CI {life.rmst_lower_weeks / WEEKS_PER_YEAR:.1f}-{life.rmst_upper_weeks / WEEKS_PER_YEAR:.1f}; "
            f"median {_years(life.median_weeks)})",
            life.rmst_weeks / WEEKS_PER_YEAR,
            "reported",
            None,
        ),
        Check(
            "bubbles",
            "later episodes after the first burst (counted apart), all baseline runs",
            float(later),
            "reported",
            None,
        ),
        Check(
            "bubbles",
            f"no_loop runs that form one, {len(without)} seeds",
            float(without.mean()),
            f"fewer than baseline's {with_loop[: len(without)].mean():.2f}: sign test p < 0.05 ({wins} of {pairs})",
            bool(pairs and p < 0.05),
        ),
        Check("bubbles", "distinct lifetimes across baseline seeds", float(len(lifetimes)), "> 5", len(lifetimes) > 5),
        Check(
            "bubbles",
            "every logged event is a model rule's; every cause lies inside its episode",
            float(events_ok and causes_ok),
            "1",
            events_ok and causes_ok,
        ),
    ]


def _years(weeks: float) -> str:
    return f"{weeks / WEEKS_PER_YEAR:.1f} y" if math.isfinite(weeks) else "not reached"


def stylized(summaries: list[dict], n: int = SEEDS["facts"]) -> list[Check]:
    """Weekly returns move like prices (design 6.6), medians over seeds."""
    runs = [s for s in _runs(summaries, "baseline", n) if not s["failed"]]
    basket = {k: float(np.median([s["facts"]["basket"][k] for s in runs])) for k in runs[0]["facts"]["basket"]}
    giants = [k for k in runs[0]["facts"] if k != "basket"]
    worst = max(abs(float(np.median([s["facts"][g]["ac1"] for s in runs]))) for g in giants)
    return [
        Check(
            "stylized facts",
            "basket |lag-1 autocorrelation|",
            abs(basket["ac1"]),
            "<= 0.10",
            abs(basket["ac1"]) <= 0.10,
        ),
        Check("stylized facts", "each giant's |lag-1 autocorrelation|, the largest", worst, "<= 0.15", worst <= 0.15),
        Check(
            "stylized facts",
            "basket excess kurtosis",
            basket["excess_kurtosis"],
            ">= 1",
            basket["excess_kurtosis"] >= 1.0,
        ),
        Check(
            "stylized facts",
            "basket autocorrelation of |returns| at lag 10",
            basket["abs_ac10"],
            ">= 0.05",
            basket["abs_ac10"] >= 0.05,
        ),
        Check(
            "stylized facts",
            "basket tail index (Hill, top 5%)",
            basket["tail_index"],
            "2-5",
            2.0 <= basket["tail_index"] <= 5.0,
        ),
        Check(
            "stylized facts",
            "basket annualised volatility",
            basket["volatility"],
            "12%-45%",
            0.12 <= basket["volatility"] <= 0.45,
        ),
    ]


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
        (
            "a 6% rate gives a shorter remaining life of the first episode than 2%",
            paired("rate 6%", "rate 2%", "first_remaining_weeks"),
        ),
        (
            "strict accounting lowers the AI premium over the first three years",
            paired("strict", "baseline", "premium_3y"),
        ),
        ("strict accounting lowers the peak basket P/F", paired("strict", "baseline", "basket_pf_peak")),
        (
            "passive share 0.7 raises the peak basket P/F over 0.3",
            paired("passive 0.3", "passive 0.7", "basket_pf_peak"),
        ),
        (
            "labs' revenue growth doubled raises the basket's fundamental at year 5 over halved",
            paired("lab growth x0.5", "lab growth x2", "fundamental_5y"),
        ),
    ]:
        wins, pairs, p = _sign_test(low, high)
        rows.append(
            Check("levers", f"{text} ({wins} of {pairs} pairs)", p, "sign test p < 0.05", bool(pairs and p < 0.05))
        )
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
        rows.append(
            Check(
                "channels",
                f"{variant}: AI premium over 3 years minus the baseline's, median "
                f"(peak P/F {peak_change:+.2f}; lower in {wins} of {pairs}, p = {p:.2g})",
                change,
                "reported",
                None,
            )
        )
    return rows


def bounds(summaries: list[dict], n: int = SEEDS["bounds"]) -> list[Check]:
    """Bounded (design 10.9): no runaway lab valuations or basket prices, no failed run."""
    runs = _runs(summaries, "baseline", n)
    done = [s for s in runs if not s["failed"]]
    lab = max((s["lab_multiple_max"] for s in done), default=math.nan)
    basket = max((s["basket_pf_peak"] for s in done), default=math.nan)
    failed = len(runs) - len(done)
    return [
        Check(
            "bounds",
            f"highest lab valuation over revenue run-rate, {len(runs)} seeds",
            lab,
            "<= 100",
            bool(lab <= 100.0),
        ),
        Check("bounds", f"highest basket P/F, {len(runs)} seeds", basket, "<= 10", bool(basket <= 10.0)),
        Check("bounds", "failed runs", float(failed), "0", failed == 0),
    ]


def flows(summaries: list[dict], root_seed: int = ROOT_SEED) -> list[Check]:
    """The flow multiplier (design 6.3) and savers' net flow into stocks (design 6.1)."""
    from model.impulse import flow_multiplier

    runs = [s for s in _runs(summaries, "baseline") if not s["failed"]]
    multipliers = {
        share: flow_multiplier(rng=root_seed, horizons=(4,), overrides={"market.passive_share": share})[4]
        for share in (0.3, 0.5, 0.7)
    }
    rising = multipliers[0.3] < multipliers[0.5] < multipliers[0.7]
    flow = float(np.median([s["net_flow_share"] for s in runs]))
    return [
        Check(
            "flows",
            "flow multiplier, 4 weeks after an inflow into index funds",
            multipliers[0.5],
            "3-8",
            3.0 <= multipliers[0.5] <= 8.0,
        ),
        Check(
            "flows",
            f"multiplier at passive share 0.3 / 0.7 ({multipliers[0.3]:.2f} / {multipliers[0.7]:.2f})",
            multipliers[0.7] - multipliers[0.3],
            "rising with the passive share",
            rising,
        ),
        Check(
            "flows",
            "savers' net flow into stocks per year, share of market value, median",
            flow,
            "small (US: about -1% to +1%, Z.1)",
            None,
        ),
    ]


def all_checks(summaries: list[dict]) -> list[Check]:
    return [
        *null_market(summaries),
        *bubbles(summaries),
        *stylized(summaries),
        *levers(summaries),
        *channels(summaries),
        *bounds(summaries),
        *flows(summaries),
    ]


# --------------------------------------------------------------------------- command
def add_parser(subparsers) -> None:
    from runs.commands import add_executor_options

    parser = subparsers.add_parser(
        "properties",
        help="the market's must-show properties over an ensemble",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  python -m runs properties --out out/properties --workers 2",
    )
    parser.add_argument(
        "--root-seed",
        type=int,
        default=ROOT_SEED,
        metavar="N",
        help=f"root seed the replicate seeds are spawned from (default {ROOT_SEED})",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default="out/properties",
        help="output folder (default out/properties); rerunning into it resumes",
    )
    add_executor_options(parser)
    parser.set_defaults(func=main)


def main(args) -> int:
    import pandas as pd

    from runs.commands import Outcome
    from runs.executors import ExecutorOptions

    if args.root_seed < 0:
        raise InputError(f"--root-seed must be a non-negative integer, got {args.root_seed}")
    options = ExecutorOptions.from_args(args).check()
    out_dir = Path(args.out)
    groups = experiments()
    total = sum(n * len(variants) for n, _, variants in groups.values())
    print(f"{total} runs: {', '.join(VARIANTS)}; root seed {args.root_seed}")
    summaries, failed = run_all(out_dir, args.root_seed, options=options)
    checks = all_checks(summaries)
    print(format_table(checks))
    outcome = Outcome(out_dir=out_dir)
    outcome.table(pd.DataFrame([vars(c) for c in checks]), "checks")
    outcome.figure(null_market_figure(out_dir, args.root_seed), "properties")
    if failed:
        outcome.warn(f"{failed} run(s) failed; see the failures folders under {out_dir}")
    return outcome.report([])


def null_market_figure(out_dir: Path, root_seed: int, seeds_per_group: dict[str, int] = SEEDS):
    """The rest of the market's and the AI basket's price/fundamental over the seeds, with the
    loop (baseline) and without it (no_loop): medians and 10-90% bands."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from runs.loader import load_experiment

    folder = baseline_folder(out_dir, seeds_per_group)
    series = load_experiment(folder, {"series": ["week", "pf_Rest", "basket_pf"]})["series"]
    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, column, title in zip(axes, ["pf_Rest", "basket_pf"], ["rest of the market", "AI basket"], strict=True):
        for i, variant in enumerate(["baseline", "no_loop"]):
            wide = series[series["scenario"] == run_name(variant)].pivot(
                index="week", columns="replicate", values=column
            )
            years = wide.index.to_numpy() / WEEKS_PER_YEAR
            low, mid, high = (wide.quantile(q, axis=1).to_numpy() for q in (0.1, 0.5, 0.9))
            ax.fill_between(years, low, high, color=f"C{i}", alpha=0.2, linewidth=0)
            ax.plot(years, mid, color=f"C{i}", label=f"{variant}: median, 10-90% of {wide.shape[1]} seeds")
        ax.axhline(1.0, color="black", linewidth=0.8)
        if column == "pf_Rest":
            ax.axhspan(0.8, 1.25, color="0.88", zorder=0, label="null market: within 0.8-1.25 of the start")
        else:
            ax.axhline(1.5, color="C3", linestyle="--", linewidth=0.8, label="bubble threshold 1 + theta")
            ax.legend(fontsize=8, loc="upper right")
        ax.set_title(f"{title}: price / fundamental value")
        ax.set_xlabel("years from the start date")
    axes[0].set_ylabel("price / fundamental")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.text(
        0.01,
        0.01,
        f"python -m runs properties (root seed {root_seed}); fundamental: design 7, the rest of "
        "the market taken as fairly priced at the start",
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    return fig


def format_table(checks: list[Check]) -> str:
    lines, group = [], None
    for check in checks:
        if check.group != group:
            group = check.group
            lines.append(f"\n{group}")
        mark = {True: "ok", False: "NOT MET", None: "reported"}[check.ok]
        lines.append(f"  {check.name:<86} {check.value:>9.3f}  {check.target:<34} {mark}")
    return "\n".join(lines).lstrip("\n")
