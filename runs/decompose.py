"""`python -m runs decompose`: how much of the AI premium and of the bubble each channel makes.

This module owns the channel decomposition of design section 9. Six channels, each on (as
in the base scenario) or off:

- `marks`: marks on lab stakes. Off: stakes held at cost (regime `no_marks`, or `strict`
  together with `roundtrip` off).
- `roundtrip`: round-trip revenue. Off: revenue paid with the vendor's own investment is
  netted out of reported revenue (regime `net_roundtrip`, or `strict`). Investment keeps its
  form (credits and spend-back clauses): made plain cash as well, the round trip would no
  longer be tracked at all, its revenue would be reported gross as if real and netting would
  remove nothing, so the channel would measure zero by construction.
- `partner_money`: the giants' money in the labs' new rounds. Off:
  `economy.partner_money = false`. (`marks`, `roundtrip` and `partner_money` all off is the
  `no_loop` scenario except that investment keeps its form; `python -m runs properties`
  measures plain cash apart, as "no spend-back".)
- `passive`: the passive share of fund money. Off: `market.passive_share = 0.2`, a low value
  (about the passive share of US fund assets around 2012, against about half today). This
  low value is a modelling choice: there is no market without index funds to compare with.
- `extrapolation`: savers' extrapolation of past returns. Off: `savers.extrapolation = 0`.
- `earnings_investors`: active money that values stocks on reported earnings. Off:
  `market.earnings_share = 0` (that money values stocks on their fundamental instead).

"On" means as in the base scenario, so a channel the base scenario already has off
contributes exactly zero. Every one of the 2^6 = 64 combinations is a variant of the
experiment, named by its channels as a bit string in the order above (`c111111` all on,
`c000000` all off), and all variants run on the same seeds through the resumable runner.
Each run keeps only a one-row `outcomes` table and its `episodes`.

Outcomes per run: `ai_premium`, the AI premium (the basket's price/fundamental over the rest
of the market's) averaged over all weeks; `peak_premium`, its highest weekly value;
`peak_pf`, the basket's highest weekly price/fundamental; and `remaining_life`, the first
bubble episode's remaining life from the scenario start in years of 52 weeks, restricted to
the horizon: an episode still alive at the horizon counts the horizon, a run without any
episode counts 0 (no bubble, no remaining life). Censoring happens only at the common
horizon, so the mean of this restricted value over all runs equals the Kaplan-Meier restricted
mean survival time to the horizon of "time to the first burst" in which a run without a bubble
counts as bursting at once (design 7: no plain mean of censored lifetimes). Remaining life
counts from the scenario start, so it mixes when a bubble forms with how long it lasts (the
question a reader in 2026 asks), and where few runs form a bubble it rests on those few.

For each outcome y, v(S) is the mean over seeds of y with exactly the channels in S on, and
channel i's Shapley value is phi_i = sum over S without i of |S|!(n-|S|-1)!/n! (v(S+i) - v(S)).
The values add up exactly to v(all on) - v(all off). Intervals: 95% percentile bootstrap
over seeds (phi is linear in v, so per-seed values are resampled). A run that failed drops
its seed from every variant, since each seed needs its complete factorial. Results:
`shapley.parquet` (channel, outcome, value, low, high), `totals.parquet` (outcome, all_on,
all_off, difference) and `decompose.png`. `run_decompose` is the Python entry point.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from economy.errors import InputError
from runs.commands import holding_lock
from runs.executors import ExecutorOptions

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from runs.commands import Outcome

CHANNELS = ("marks", "roundtrip", "partner_money", "passive", "extrapolation", "earnings_investors")
CHANNEL_TEXT = {
    "marks": "marks on lab stakes",
    "roundtrip": "round-trip revenue",
    "partner_money": "partner money in rounds",
    "passive": "passive share",
    "extrapolation": "savers' extrapolation",
    "earnings_investors": "earnings-based valuation",
}
# The low passive share a `passive` off variant uses: about the passive share of US fund
# assets around 2012 (a modelling choice; the baseline has 0.5, about today's).
LOW_PASSIVE_SHARE = 0.2
# Scenario fields the channels set; --set may not touch them.
CHANNEL_FIELDS = (
    "economy.regime",
    "economy.partner_money",
    "market.passive_share",
    "savers.extrapolation",
    "market.earnings_share",
)
# An accounting regime as (marks on stakes, round-trip revenue reported gross).
REGIME_PARTS = {
    "gaap_2026": (True, True),
    "net_roundtrip": (True, False),
    "no_marks": (False, True),
    "strict": (False, False),
}
REGIME_OF = {parts: regime for regime, parts in REGIME_PARTS.items()}

OUTCOMES = ("ai_premium", "peak_premium", "peak_pf", "remaining_life")
OUTCOME_TEXT = {
    "ai_premium": "AI premium, mean over weeks",
    "peak_premium": "AI premium, peak week",
    "peak_pf": "peak price/fundamental of the AI basket",
    "remaining_life": "first episode's remaining life (years, restricted to the horizon)",
}
OUTCOME_COLUMNS = [
    "ai_premium",
    "peak_premium",
    "peak_pf",
    "remaining_weeks",
    "first_censored",
    "has_episode",
    "horizon_weeks",
]
WEEKS_PER_YEAR = 52
DEFAULT_SEEDS = 32
DEFAULT_BOOTSTRAP = 1000


# --------------------------------------------------------------------------- command line


def add_parser(subparsers) -> None:
    from runs.commands import add_executor_options

    parser = subparsers.add_parser(
        "decompose",
        help="Shapley values of six channels for the AI premium, peak and remaining life",
        description=(
            "How much each channel contributes to the AI premium (mean and peak), the basket's peak\n"
            "price/fundamental and the first bubble episode's remaining life: all 64 on/off combinations\n"
            "of six channels on the same seeds, Shapley values with 95% bootstrap intervals over seeds\n"
            "(they add up to all-on minus all-off), a table and a bar chart.\n\n"
            "Channels (on = as in the base scenario):\n"
            "  marks               marks on lab stakes; off: stakes at cost (regime no_marks)\n"
            "  roundtrip           round-trip revenue; off: netted out of reported revenue (net_roundtrip)\n"
            "  partner_money       the giants' money in new rounds; off: economy.partner_money = false\n"
            "                      (these three off = no_loop, but with investment in its own form)\n"
            f"  passive             passive share; off: market.passive_share = {LOW_PASSIVE_SHARE:g}, a low value\n"
            "                      (about the US share around 2012; a modelling choice)\n"
            "  extrapolation       savers' extrapolation of returns; off: savers.extrapolation = 0\n"
            "  earnings_investors  active money valuing reported earnings; off: market.earnings_share = 0\n\n"
            "Writes shapley.parquet (channel, outcome, value, low, high), totals.parquet (outcome,\n"
            "all_on, all_off, difference) and decompose.png. Remaining life: years from the scenario\n"
            "start to the first episode's burst, the horizon if it is still alive, 0 without an episode\n"
            "(its mean is the Kaplan-Meier restricted mean survival time)."
        ),
        epilog="example:\n  python -m runs decompose --seeds 32 --years 10 --out out/decompose",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--scenario", default="baseline", metavar="NAME", help="base scenario name or TOML path (default: baseline)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=DEFAULT_SEEDS,
        metavar="N",
        help=f"replicates per variant (default {DEFAULT_SEEDS}); replicate i has the same "
        "seed in every variant; 64 variants, so 64 runs per seed",
    )
    parser.add_argument(
        "--root-seed",
        type=int,
        default=0,
        metavar="N",
        help="root seed the replicate seeds and the bootstrap are drawn from (default 0)",
    )
    parser.add_argument("--years", type=float, metavar="Y", help="horizon in years (default: the scenario's run.years)")
    parser.add_argument(
        "--out", metavar="DIR", help="output folder (default out/decompose/<scenario>); rerunning into it resumes"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="set",
        help="override a field of the base scenario, e.g. economy.interest_rate=0.05 "
        "(not the fields the channels set); VALUE is read as TOML; repeatable",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=DEFAULT_BOOTSTRAP,
        metavar="N",
        help=f"bootstrap resamples of the seeds for the intervals (default {DEFAULT_BOOTSTRAP})",
    )
    add_executor_options(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from runs import commands

    commands.check_counts(args)
    outcome, lines = run_decompose(
        args.scenario,
        n_seeds=args.seeds,
        out_dir=args.out,
        root_seed=args.root_seed,
        years=commands.years_option(args),
        overrides=commands.parse_overrides(args.set),
        n_boot=args.bootstrap,
        options=ExecutorOptions.from_args(args),
    )
    return outcome.report(lines)


# --------------------------------------------------------------------------- variants


def variant_name(on: Sequence[bool]) -> str:
    """A variant's name: 'c' and one bit per channel in CHANNELS order ('c111111': all on)."""
    if len(on) != len(CHANNELS):
        raise ValueError(f"expected {len(CHANNELS)} channel flags, got {len(on)}")
    return "c" + "".join("1" if flag else "0" for flag in on)


def variants() -> dict[str, tuple[bool, ...]]:
    """Every combination of the channels, {name: flags in CHANNELS order}, all on first."""
    return {variant_name(flags): flags for flags in itertools.product((True, False), repeat=len(CHANNELS))}


def channel_overrides(on: Mapping[str, bool], base: Mapping[str, Any]) -> dict[str, Any]:
    """The scenario overrides that switch off the channels `on` marks False, given the base config.

    A channel that is on keeps the base scenario's value; only fields that change are returned,
    so the all-on variant has no overrides.
    """
    unknown = sorted(set(on) - set(CHANNELS))
    if unknown:
        raise InputError(f"unknown channel(s) {unknown}; channels are {', '.join(CHANNELS)}")
    on = {channel: bool(on.get(channel, True)) for channel in CHANNELS}
    economy = base["economy"]
    marks, gross = REGIME_PARTS[economy["regime"]]
    changes = {
        "economy.regime": REGIME_OF[(marks and on["marks"], gross and on["roundtrip"])],
        "economy.partner_money": bool(economy["partner_money"]) and on["partner_money"],
        "market.passive_share": base["market"]["passive_share"] if on["passive"] else LOW_PASSIVE_SHARE,
        "savers.extrapolation": base["savers"]["extrapolation"] if on["extrapolation"] else 0.0,
        "market.earnings_share": base["market"]["earnings_share"] if on["earnings_investors"] else 0.0,
    }
    return {key: value for key, value in changes.items() if value != _dotted(base, key)}


def _dotted(config: Mapping[str, Any], key: str) -> Any:
    table, name = key.split(".")
    return config[table][name]


def variant_configs(
    scenario: str = "baseline",
    overrides: Mapping[str, Any] | None = None,
    years: float | None = None,
) -> tuple[dict[str, dict], dict[str, dict[str, Any]]]:
    """Every variant's resolved config, and the overrides that made it, {name: ...} in variants() order."""
    from runs.simulate import scenario_config

    overrides = dict(overrides or {})
    clash = sorted(set(overrides) & set(CHANNEL_FIELDS))
    if clash:
        raise InputError(
            f"--set {clash[0]} is a field the channels set; decompose switches it itself "
            f"(fields: {', '.join(CHANNEL_FIELDS)})"
        )
    if years is not None and (isinstance(years, bool) or not isinstance(years, (int, float)) or not years > 0):
        raise InputError(f"--years must be a positive number, got {years!r}")
    base = scenario_config(scenario, overrides, years)
    if base["economy"]["regime"] not in REGIME_PARTS:
        raise InputError(
            f"scenario {scenario!r}: regime {base['economy']['regime']!r} is not one of {', '.join(REGIME_PARTS)}"
        )
    configs, changes = {}, {}
    for name, flags in variants().items():
        changed = channel_overrides(dict(zip(CHANNELS, flags, strict=True)), base)
        configs[name] = scenario_config(scenario, {**overrides, **changed}, years) if changed else base
        changes[name] = changed
    return configs, changes


def inactive_channels(changes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Channels the base scenario already has off: switching them off changes nothing."""
    all_on = variant_name([True] * len(CHANNELS))
    idle = []
    for i, channel in enumerate(CHANNELS):
        alone_off = variant_name([j != i for j in range(len(CHANNELS))])
        if changes[alone_off] == changes[all_on]:
            idle.append(channel)
    return idle


# --------------------------------------------------------------------------- the run function


def run_outcomes(task) -> dict[str, pd.DataFrame]:
    """Run one variant and seed; return its one-row `outcomes` table and its `episodes` table.

    Picklable (module level), like runs.simulate.run_task, but it keeps only what the
    decomposition reads: a full weekly table of every run of a 64-variant experiment would
    take hundreds of MB.
    """
    from model import scenario as scenarios
    from model.model import CircularFinance
    from runs.simulate import run_checked

    config = scenarios.from_dict(task.config, where=f"task {task.scenario}/{task.replicate}")
    model = CircularFinance(config, rng=task.seed)
    run_checked(model)  # books checked at quarter ends
    tables = model.tables()
    return {"outcomes": outcome_row(tables["weekly"], tables["episodes"]), "episodes": tables["episodes"]}


def outcome_row(weekly: pd.DataFrame, episodes: pd.DataFrame) -> pd.DataFrame:
    """The one-row outcomes table (OUTCOME_COLUMNS) of a run's weekly and episodes tables."""
    import numpy as np
    import pandas as pd

    first = episodes[episodes["first"].astype(bool)] if len(episodes) else episodes
    has_episode = len(first) > 0
    premium = weekly["ai_premium"].to_numpy(dtype=float)
    pf = weekly["basket_pf"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "ai_premium": [float(np.mean(premium)) if premium.size else math.nan],
            "peak_premium": [float(np.max(premium)) if premium.size else math.nan],
            "peak_pf": [float(np.max(pf)) if pf.size else math.nan],
            "remaining_weeks": [float(first["remaining_weeks"].iloc[0]) if has_episode else math.nan],
            "first_censored": [bool(first["censored"].iloc[0]) if has_episode else False],
            "has_episode": [bool(has_episode)],
            "horizon_weeks": [np.int64(len(weekly))],
        }
    )


def remaining_life(outcomes: pd.DataFrame) -> np.ndarray:
    """Each run's first-episode remaining life in years, restricted to the horizon; 0 without an episode.

    With censoring only at the common horizon, the mean of this is the Kaplan-Meier restricted
    mean survival time to the horizon.
    """
    import numpy as np

    horizon = outcomes["horizon_weeks"].to_numpy(dtype=float)
    weeks = outcomes["remaining_weeks"].to_numpy(dtype=float)
    censored = outcomes["first_censored"].to_numpy(dtype=bool)
    has = outcomes["has_episode"].to_numpy(dtype=bool)
    life = np.where(censored, horizon, np.minimum(weeks, horizon))
    return np.where(has, life, 0.0) / WEEKS_PER_YEAR


# --------------------------------------------------------------------------- Shapley (pure)


def shapley_matrix(n: int) -> np.ndarray:
    """M (n x 2^n) with phi = M @ v, v indexed by coalition bit mask (bit i set: player i in)."""
    import numpy as np

    size = 1 << n
    weight = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    count = np.array([bin(mask).count("1") for mask in range(size)])
    matrix = np.zeros((n, size))
    for i in range(n):
        bit = 1 << i
        for mask in range(size):
            if mask & bit:
                matrix[i, mask] += weight[count[mask] - 1]
            else:
                matrix[i, mask] -= weight[count[mask]]
    return matrix


def _masks(values, channels: Sequence[str]):
    import numpy as np

    flags = values[list(channels)].to_numpy(dtype=bool)
    return flags @ (1 << np.arange(len(channels)))


def _game(values, channels: Sequence[str], column: str = "value"):
    """Per-seed games as an array (seeds x 2^n) from a table of coalitions, with the seeds' labels."""
    import numpy as np

    missing = [c for c in [*channels, column] if c not in values.columns]
    if missing:
        raise ValueError(f"values table lacks column(s) {missing}")
    n, size = len(channels), 1 << len(channels)
    seeds = values["seed"].to_numpy() if "seed" in values.columns else np.zeros(len(values), dtype=np.int64)
    labels, row = np.unique(seeds, return_inverse=True)
    masks = _masks(values, channels)
    count = np.bincount(row * size + masks, minlength=labels.size * size)
    if np.any(count > 1):
        raise ValueError("a coalition appears twice for one seed")
    if not labels.size or np.any(count == 0):
        raise ValueError(f"every seed needs all {size} coalitions of {n} channels")
    games = np.empty((labels.size, size))
    games[row, masks] = values[column].to_numpy(dtype=float)
    return games, labels


def shapley(values: pd.DataFrame, channels: Sequence[str] = CHANNELS, column: str = "value") -> pd.DataFrame:
    """Shapley values of a game given as a table: one boolean column per channel and `column`.

    One row per coalition, or per coalition and seed (a `seed` column): then v(S) is the mean
    over seeds. Returns a table with columns channel and value, in `channels` order; the
    values add up to v(all on) - v(all off).
    """
    import pandas as pd

    games, _ = _game(values, channels, column)
    phi = shapley_matrix(len(channels)) @ games.mean(axis=0)
    return pd.DataFrame({"channel": list(channels), "value": phi})


def shapley_bootstrap(
    values: pd.DataFrame,
    channels: Sequence[str] = CHANNELS,
    column: str = "value",
    n_boot: int = DEFAULT_BOOTSTRAP,
    rng=0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Shapley values with percentile bootstrap intervals over seeds: channel, value, low, high.

    `values` has a `seed` column and every coalition for every seed. phi is linear in v, so
    each seed's own Shapley values are computed once and the bootstrap resamples their mean.
    `rng` is a numpy Generator or a seed for one.
    """
    import numpy as np
    import pandas as pd

    games, _ = _game(values, channels, column)
    per_seed = games @ shapley_matrix(len(channels)).T  # seeds x channels
    low, high = _bootstrap(per_seed, n_boot, np.random.default_rng(rng), level)
    return pd.DataFrame({"channel": list(channels), "value": per_seed.mean(axis=0), "low": low, "high": high})


def _bootstrap(per_seed, n_boot: int, rng, level: float = 0.95, draws=None):
    """Percentile interval of the mean over resampled seeds, per column of `per_seed`."""
    import numpy as np

    n = per_seed.shape[0]
    if draws is None:
        draws = rng.integers(0, n, size=(n_boot, n))
    means = per_seed[draws].mean(axis=1)
    tail = (1.0 - level) / 2 * 100
    return np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)


def decompose(
    table: pd.DataFrame,
    outcomes: Sequence[str] = OUTCOMES,
    channels: Sequence[str] = CHANNELS,
    n_boot: int = DEFAULT_BOOTSTRAP,
    rng=0,
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shapley values of every outcome from a long table of runs; (shapley, totals) tables.

    `table` has a `seed` column, one boolean column per channel and one column per outcome,
    one row per (seed, coalition), complete for every seed. The same seed resamples serve
    every outcome. shapley: channel, outcome, value, low, high; totals: outcome, all_on,
    all_off, difference (the sum of the outcome's Shapley values).
    """
    import numpy as np
    import pandas as pd

    matrix = shapley_matrix(len(channels))
    generator = np.random.default_rng(rng)
    rows, totals, draws = [], [], None
    for name in outcomes:
        games, _ = _game(table, channels, name)
        if draws is None:
            draws = generator.integers(0, games.shape[0], size=(n_boot, games.shape[0]))
        per_seed = games @ matrix.T
        low, high = _bootstrap(per_seed, n_boot, generator, level, draws)
        for i, channel in enumerate(channels):
            rows.append(
                {
                    "channel": channel,
                    "outcome": name,
                    "value": float(per_seed[:, i].mean()),
                    "low": float(low[i]),
                    "high": float(high[i]),
                }
            )
        mean = games.mean(axis=0)
        totals.append(
            {
                "outcome": name,
                "all_on": float(mean[-1]),
                "all_off": float(mean[0]),
                "difference": float(mean[-1] - mean[0]),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(totals)


# --------------------------------------------------------------------------- the experiment


@holding_lock
def run_decompose(
    scenario: str = "baseline",
    *,
    n_seeds: int = DEFAULT_SEEDS,
    out_dir: str | Path | None = None,
    root_seed: int = 0,
    years: float | None = None,
    overrides: Mapping[str, Any] | None = None,
    n_boot: int = DEFAULT_BOOTSTRAP,
    run_fn: Callable | None = None,
    options: ExecutorOptions | None = None,
    progress: str | bool | None = None,
) -> tuple[Outcome, list[str]]:
    """Run or resume the 64-variant experiment and write its tables and figure.

    Returns the Outcome (runs.commands) and the lines to print.
    """
    from runs import commands
    from runs.commands import ResultError

    if isinstance(n_seeds, bool) or not isinstance(n_seeds, int) or n_seeds < 1:
        raise InputError(f"--seeds must be at least 1, got {n_seeds!r}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 1:
        raise InputError(f"--bootstrap must be at least 1, got {n_boot!r}")
    if isinstance(root_seed, bool) or not isinstance(root_seed, int) or root_seed < 0:
        raise InputError(f"--root-seed must be a non-negative integer, got {root_seed!r}")
    overrides = dict(overrides or {})
    configs, changes = variant_configs(scenario, overrides, years)
    label = commands.scenario_label(scenario, overrides)
    years = commands.common_years(configs)
    out_dir = Path(out_dir) if out_dir is not None else Path("out") / "decompose" / label
    extra = {
        "command": "decompose",
        "base": label,
        "channels": list(CHANNELS),
        "variants": {
            name: [c for c, on in zip(CHANNELS, flags, strict=True) if on] for name, flags in variants().items()
        },
        "overrides": {name: dict(changed) for name, changed in changes.items()},
    }
    outcome = _execute(out_dir, configs, run_fn or run_outcomes, n_seeds, root_seed, years, options, progress, extra)
    lines = [f"decompose {label}: {outcome.summary}"]
    idle = inactive_channels(changes)
    if idle:
        outcome.note(
            f"the base scenario already has {', '.join(idle)} off: switching it off changes "
            "nothing, so its Shapley value is 0"
        )
    try:
        lines += analyse(outcome, label, n_seeds, root_seed, years, n_boot, configs)
    except ResultError as exc:
        outcome.warn(f"decomposition skipped: {exc}")
    return outcome, lines


def _execute(out_dir, configs, run_fn, n_seeds, root_seed, years, options, progress, extra: dict):
    """The one call into the runner."""
    from runs import commands

    return commands.execute(
        out_dir, configs, run_fn, n_seeds, root_seed, years, options=options, progress=progress, extra=extra
    )


def load_runs(outcome: Outcome, n_seeds: int) -> pd.DataFrame:
    """The finished runs' outcomes as a long table (seed, replicate, channel flags, outcomes).

    Seeds with any variant missing (a failed run) are dropped from every variant, with a
    warning; so are seeds whose outcome is not finite in some variant.
    """
    import numpy as np

    from runs import commands
    from runs.commands import ResultError
    from runs.loader import load_experiment

    names = list(variants())
    tables = load_experiment(outcome.out_dir, {"outcomes": None}, names, strict=False)
    runs = tables.get("outcomes")
    commands.need_columns(runs, "outcomes", OUTCOME_COLUMNS)
    runs = runs[runs["replicate"] < n_seeds].reset_index(drop=True)
    flags = variants()
    for i, channel in enumerate(CHANNELS):
        runs[channel] = [flags[name][i] for name in runs["scenario"]]
    runs["remaining_life"] = remaining_life(runs)

    per_replicate = runs.groupby("replicate")["scenario"].nunique().reindex(range(n_seeds), fill_value=0)
    incomplete = per_replicate.index[per_replicate < len(names)].tolist()
    if incomplete:
        outcome.warn(
            f"{len(incomplete)} seed(s) (replicate(s) {_listed(incomplete)}) dropped from all "
            "variants: some of their runs failed or have not finished, and Shapley values need "
            "every variant of a seed"
        )
    values = runs[[c for c in OUTCOMES]].to_numpy(dtype=float)
    bad = runs.loc[~np.isfinite(values).all(axis=1), "replicate"].unique().tolist()
    bad = sorted(set(bad) - set(incomplete))
    if bad:
        outcome.warn(
            f"{len(bad)} seed(s) (replicate(s) {_listed(bad)}) dropped from all variants: an outcome "
            "is not finite in some variant"
        )
    runs = runs[~runs["replicate"].isin(incomplete + bad)].reset_index(drop=True)
    if runs.empty:
        raise ResultError("no seed has all 64 variants finished")
    return runs


def _listed(items: Sequence[int], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def analyse(
    outcome: Outcome,
    label: str,
    n_seeds: int,
    root_seed: int,
    years: float,
    n_boot: int,
    configs: Mapping[str, Mapping] | None = None,
) -> list[str]:
    """Shapley values, totals and the bar chart of a finished experiment; the lines to print."""
    runs = load_runs(outcome, n_seeds)
    used = int(runs["replicate"].nunique())
    values, totals = decompose(runs, OUTCOMES, CHANNELS, n_boot=n_boot, rng=root_seed)
    outcome.table(values, "shapley")
    outcome.table(totals, "totals")
    low_passive = _passive_text(configs)
    title = f"Channel decomposition of {label}: {used} seed{'s' * (used != 1)}, {years:g} year{'s' * (years != 1)}"
    messages = {} if runs["has_episode"].any() else {"remaining_life": "no run formed a bubble episode"}
    fig = plot_decomposition(values, totals, title, _figure_note(low_passive, n_boot), low_passive, messages)
    outcome.figure(fig, "decompose")
    episodes = float(runs["has_episode"].mean())
    censored = float(runs["first_censored"].mean())
    lines = [
        f"{title} (64 variants; 95% bootstrap intervals over seeds, {n_boot} resamples)",
        f"runs with a bubble episode: {episodes:.0%}; first episode still alive at the horizon: {censored:.0%}",
    ]
    lines += table_lines(values, totals, low_passive)
    return lines


def _passive_text(configs: Mapping[str, Mapping] | None) -> str:
    if not configs:
        return ""
    base = configs[variant_name([True] * len(CHANNELS))]["market"]["passive_share"]
    return f" ({base:g} vs {LOW_PASSIVE_SHARE:g})"


def _figure_note(low_passive: str, n_boot: int) -> str:
    return (
        "Bars: each channel's Shapley value over the full factorial of the six channels on the same seeds; "
        "the bars of a panel sum to all-on minus all-off (panel title). Whiskers: 95% percentile bootstrap "
        f"over seeds ({n_boot} resamples). Off: marks at cost; round-trip revenue netted and investment as "
        "plain cash; no partner money in rounds; passive share"
        + (low_passive or f" {LOW_PASSIVE_SHARE:g}")
        + " (low value, a modelling choice); no savers' extrapolation; no earnings-based investors. Remaining "
        "life: scenario start to the first episode's burst, the horizon if still alive, 0 without an episode "
        "(mean = Kaplan-Meier restricted mean)."
    )


def _number(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:+.3f}"
    return "+0.000" if text == "-0.000" else text


def table_lines(values: pd.DataFrame, totals: pd.DataFrame, low_passive: str = "") -> list[str]:
    """The readable table: per outcome, its totals and each channel's value with its interval."""
    width = max(len(CHANNEL_TEXT[c]) for c in CHANNELS) + len(low_passive) + 2
    lines = []
    for total in totals.itertuples():
        lines.append(
            f"{OUTCOME_TEXT.get(total.outcome, total.outcome)} [{total.outcome}]: all on "
            f"{total.all_on:.3f}, all off {total.all_off:.3f}, difference {_number(total.difference)}"
        )
        part = values[values["outcome"] == total.outcome]
        for row in part.itertuples():
            text = CHANNEL_TEXT.get(row.channel, row.channel) + (low_passive if row.channel == "passive" else "")
            lines.append(f"  {text:<{width}} {_number(row.value)}  [{_number(row.low)}, {_number(row.high)}]")
        lines.append(f"  {'sum':<{width}} {_number(float(part['value'].sum()))}")
    return lines


def plot_decomposition(
    values: pd.DataFrame,
    totals: pd.DataFrame,
    title: str,
    note: str | None = None,
    passive_text: str = "",
    messages: Mapping[str, str] | None = None,
):
    """One panel per outcome: horizontal bars of the channels' Shapley values with interval whiskers.

    `messages` puts a line of text on an outcome's panel (e.g. that no run formed an episode).
    """
    import textwrap

    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    outcomes = list(totals["outcome"])
    cols = 2 if len(outcomes) > 1 else 1
    rows = math.ceil(len(outcomes) / cols)
    fig = Figure(figsize=(6.0 * cols, 2.9 * rows + 0.9), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    # strict=False: with two columns an odd number of outcomes leaves a spare panel.
    for ax, total in zip(axes, totals.itertuples(), strict=False):
        part = values[values["outcome"] == total.outcome].reset_index(drop=True)
        y = np.arange(len(part))[::-1]
        value = part["value"].to_numpy(dtype=float)
        err = np.vstack([value - part["low"].to_numpy(dtype=float), part["high"].to_numpy(dtype=float) - value])
        colours = ["C3" if v > 0 else "C0" for v in value]
        ax.barh(y, value, color=colours, alpha=0.8, xerr=np.clip(err, 0, None), ecolor="0.2", capsize=3)
        ax.axvline(0.0, color="0.3", lw=0.8)
        ax.set_yticks(
            y, [CHANNEL_TEXT.get(c, c) + (passive_text if c == "passive" else "") for c in part["channel"]], fontsize=8
        )
        ax.set_title(
            f"{OUTCOME_TEXT.get(total.outcome, total.outcome)}\nall on {total.all_on:.3f} - all off "
            f"{total.all_off:.3f} = {_number(total.difference)}",
            fontsize=9,
        )
        ax.set_xlabel("Shapley value" + (" (years)" if total.outcome == "remaining_life" else ""), fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
        if messages and total.outcome in messages:
            ax.text(
                0.5,
                0.5,
                messages[total.outcome],
                transform=ax.transAxes,
                ha="center",
                va="center",
                fontsize=9,
                color="0.3",
                gid="message",
            )
    for ax in axes[len(outcomes) :]:
        ax.set_axis_off()
    fig.suptitle(title)
    if note:
        lines = textwrap.wrap(note, 150 if cols > 1 else 90)
        room = (0.14 * len(lines) + 0.08) / fig.get_size_inches()[1]
        fig.get_layout_engine().set(rect=(0, room, 1, 1 - room))
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=7.5, ha="left", va="bottom", color="0.25", gid="note")
    return fig
