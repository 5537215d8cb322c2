"""Bubble lifetimes as survival data: Kaplan-Meier curves, medians, burst probabilities, tests, plot.

This module owns the statistics of how long simulated bubbles last. Its input is a
lifetimes table with one row per bubble episode and at least the columns `scenario`,
`lifetime_weeks` and `censored` (True when the bubble was still inflating at the end of
the run, so its lifetime is only known to exceed the observed one). Censored episodes
are right-censored, never dropped and never counted as bursts: ignoring them would bias
lifetimes short, counting them as bursts would too. Built on lifelines: per-scenario
Kaplan-Meier estimates with 95% bands (`km_by_scenario`), a summary per scenario with
the median lifetime, the restricted mean survival time to the horizon and the
probability of bursting before it (`lifetime_summary`; where one run contributes several
episodes, the intervals come from a bootstrap over seeds, because episodes of one run are
not independent), a log-rank test across scenarios (`logrank`) and a figure that
sets the curves against historical bubble lifetimes (`plot_survival`). The figure's
time axis is in years of 52 weeks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from economy.errors import InputError

REQUIRED_COLUMNS = ("scenario", "lifetime_weeks", "censored")
CONFIDENCE = 0.95
# The model steps in weeks and a model year is 52 of them.
WEEKS_PER_YEAR = 52.0

DEFAULT_TITLE = "Bubble lifetimes by scenario (Kaplan-Meier)"
# Bootstrap draws for intervals clustered by seed; seeded, so summaries are reproducible.
BOOTSTRAP_DRAWS = 400
BOOTSTRAP_SEED = 20150601


# --------------------------------------------------------------------------- input


def _clean(lifetimes: pd.DataFrame) -> pd.DataFrame:
    """The three columns this module uses, checked: non-negative lifetimes, boolean censoring."""
    if not isinstance(lifetimes, pd.DataFrame):
        raise InputError(f"lifetimes must be a pandas DataFrame, got {type(lifetimes).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in lifetimes.columns]
    if missing:
        raise InputError(f"lifetimes table lacks column(s) {missing}; it needs {list(REQUIRED_COLUMNS)}")
    weeks = pd.to_numeric(lifetimes["lifetime_weeks"], errors="coerce").astype(float)
    if weeks.isna().any() or not np.isfinite(weeks).all() or (weeks < 0).any():
        raise InputError("lifetimes column 'lifetime_weeks' must be finite and non-negative in every row")
    censored = lifetimes["censored"]
    if censored.isna().any() or not censored.isin([True, False, 0, 1]).all():
        raise InputError("lifetimes column 'censored' must be True/False (or 1/0) in every row")
    clean = pd.DataFrame(
        {
            "scenario": lifetimes["scenario"].astype(str).to_numpy(),
            "lifetime_weeks": weeks.to_numpy(),
            "censored": censored.astype(bool).to_numpy(),
        }
    )
    if "seed" in lifetimes.columns:
        clean["seed"] = lifetimes["seed"].to_numpy()
    return clean


def _scenario_order(lifetimes: pd.DataFrame, scenarios: Sequence[str] | None) -> list[str]:
    if scenarios is not None:
        return [str(s) for s in scenarios]
    column = lifetimes["scenario"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        present = set(column.astype(str))
        return [str(c) for c in column.cat.categories if str(c) in present]
    return sorted(set(column.astype(str)))


def _fit(data: pd.DataFrame, label: str, scale: float = 1.0) -> KaplanMeierFitter:
    fitter = KaplanMeierFitter(alpha=1 - CONFIDENCE)
    fitter.fit(data["lifetime_weeks"] / scale, event_observed=~data["censored"], label=label)
    return fitter


def _at(frame: pd.DataFrame | pd.Series, t: float):
    """Value of a right-continuous step function (indexed by time from 0) at time t."""
    return frame.loc[:t].iloc[-1]


# --------------------------------------------------------------------------- statistics


def km_by_scenario(lifetimes: pd.DataFrame, scenarios: Sequence[str] | None = None) -> pd.DataFrame:
    """The Kaplan-Meier survival function of each scenario, in one tidy table.

    Columns: scenario, timeline (weeks), survival, lower, upper (95% band), at_risk (just
    before the time), events, censored (at the time). Scenarios without episodes are absent.
    """
    data = _clean(lifetimes)
    parts = []
    for scenario in _scenario_order(lifetimes, scenarios):
        group = data[data["scenario"] == scenario]
        if group.empty:
            continue
        fitter = _fit(group, scenario)
        band = fitter.confidence_interval_survival_function_
        counts = fitter.event_table.reindex(fitter.survival_function_.index)
        parts.append(
            pd.DataFrame(
                {
                    "scenario": scenario,
                    "timeline": fitter.survival_function_.index.to_numpy(dtype=float),
                    "survival": fitter.survival_function_.iloc[:, 0].to_numpy(),
                    "lower": band.iloc[:, 0].to_numpy(),
                    "upper": band.iloc[:, 1].to_numpy(),
                    "at_risk": counts["at_risk"].to_numpy(dtype=int),
                    "events": counts["observed"].to_numpy(dtype=int),
                    "censored": counts["censored"].to_numpy(dtype=int),
                }
            )
        )
    columns = ["scenario", "timeline", "survival", "lower", "upper", "at_risk", "events", "censored"]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]


def _finite_or_nan(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else float("nan")


def _median_text(median: float, lower: float, upper: float, longest: float, unit: str) -> str:
    """The median and its interval in words, saying plainly when a value is not reached."""
    if math.isfinite(median) and not math.isfinite(lower):
        return f"{median:.1f} {unit} (no interval: a single run)"
    if math.isfinite(median):
        top = f"{upper:.1f}" if math.isfinite(upper) else "not reached"
        return f"{median:.1f} {unit} (95% CI {lower:.1f} to {top})"
    head = f"not reached: over half not burst by {longest:.1f} {unit}"
    return f"{head} (95% CI from {lower:.1f})" if math.isfinite(lower) else head


def _rmst(fitter: KaplanMeierFitter, horizon_weeks: float) -> tuple[float, float]:
    """Restricted mean survival time to the horizon (the area under the Kaplan-Meier step curve)
    and the Greenwood-type variance of that estimate (Klein and Moeschberger 2003, 4.5):
    Var = sum over event times t_j <= horizon of A_j^2 d_j / (n_j (n_j - d_j)), where A_j is the
    area under the curve from t_j to the horizon."""
    curve = fitter.survival_function_.iloc[:, 0]
    times = np.append(curve.index.to_numpy(dtype=float), np.inf)
    values = curve.to_numpy(dtype=float)
    widths = np.clip(np.minimum(times[1:], horizon_weeks) - times[:-1], 0.0, None)
    pieces = values * widths  # area of each step up to the horizon
    mean = float(pieces.sum())
    table = fitter.event_table
    event_times = table.index.to_numpy(dtype=float)
    deaths, at_risk = table["observed"].to_numpy(dtype=float), table["at_risk"].to_numpy(dtype=float)
    after = np.cumsum(pieces[::-1])[::-1]  # area from each step's start to the horizon
    area_after = np.interp(event_times, curve.index.to_numpy(dtype=float), after)
    usable = (deaths > 0) & (event_times <= horizon_weeks) & (at_risk > deaths)
    variance = float(
        np.sum(area_after[usable] ** 2 * deaths[usable] / (at_risk[usable] * (at_risk[usable] - deaths[usable])))
    )
    return mean, variance


def _clustered(group: pd.DataFrame) -> bool:
    """True when some run (seed) contributes more than one episode to the group."""
    return "seed" in group.columns and bool(group["seed"].duplicated().any())


def _bootstrap_by_seed(group: pd.DataFrame, horizon_weeks: float, draws: int, seed: int) -> dict[str, float]:
    """95% percentile intervals of the median, the RMST and P(burst by the horizon), resampling
    whole runs (seeds) with replacement, so episodes of one run move together."""
    rng = np.random.default_rng(seed)
    runs = [frame for _, frame in group.groupby("seed", sort=True)]
    if len(runs) < 2:  # one run: resampling it says nothing about the spread between runs
        keys = [
            "median_lower_weeks",
            "median_upper_weeks",
            "rmst_lower_weeks",
            "rmst_upper_weeks",
            "p_burst_lower",
            "p_burst_upper",
        ]
        return dict.fromkeys(keys, float("nan"))
    medians, means, bursts = [], [], []
    for _ in range(draws):
        sample = pd.concat([runs[i] for i in rng.integers(0, len(runs), len(runs))], ignore_index=True)
        fitter = _fit(sample, "bootstrap")
        medians.append(float(fitter.median_survival_time_))
        means.append(_rmst(fitter, horizon_weeks)[0])
        bursts.append(1.0 - float(_at(fitter.survival_function_.iloc[:, 0], horizon_weeks)))

    def interval(values: list[float]) -> tuple[float, float]:
        # A median not reached in a draw is infinite: it counts as beyond any finite bound.
        low, high = np.percentile(np.asarray(values, dtype=float), [2.5, 97.5])
        return _finite_or_nan(low), _finite_or_nan(high)

    (m_low, m_high), (r_low, r_high), (b_low, b_high) = interval(medians), interval(means), interval(bursts)
    return {
        "median_lower_weeks": m_low,
        "median_upper_weeks": m_high,
        "rmst_lower_weeks": r_low,
        "rmst_upper_weeks": r_high,
        "p_burst_lower": b_low,
        "p_burst_upper": b_high,
    }


def lifetime_summary(
    lifetimes: pd.DataFrame,
    horizon_weeks: float,
    scenarios: Sequence[str] | None = None,
    bootstrap_draws: int = BOOTSTRAP_DRAWS,
    bootstrap_seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """One row per scenario: episode counts, median lifetime, restricted mean, P(burst by horizon).

    The median comes from the Kaplan-Meier curve; it is not reached when fewer than half
    the bubbles burst within the data (median_weeks NaN, median_reached False, median_text
    says so). rmst_weeks is the restricted mean survival time to the horizon, the area
    under the curve up to it: unlike the median it always exists, and it is the measure
    to compare when many bubbles outlive the run. p_burst = 1 - S(horizon); beyond the
    longest observed lifetime the curve's last value is used. Intervals are 95%: from the
    Kaplan-Meier band (median, p_burst) and the Greenwood variance (RMST) when each run
    gives at most one episode; when one run (a `seed` column) gives several, from a
    bootstrap over seeds instead (`interval` names which). Interval ends that are not
    reached are NaN. Listing `scenarios` keeps ones without episodes, as rows of zeros
    and NaNs.
    """
    if not isinstance(horizon_weeks, (int, float, np.integer, np.floating)) or not horizon_weeks >= 0:
        raise InputError(f"horizon_weeks must be a non-negative number, got {horizon_weeks!r}")
    data = _clean(lifetimes)
    rows = []
    for scenario in _scenario_order(lifetimes, scenarios):
        group = data[data["scenario"] == scenario]
        row = {
            "scenario": scenario,
            "n_episodes": len(group),
            "n_runs": int(group["seed"].nunique()) if "seed" in group.columns else len(group),
            "n_burst": int((~group["censored"]).sum()),
            "n_censored": int(group["censored"].sum()),
            "median_weeks": np.nan,
            "median_lower_weeks": np.nan,
            "median_upper_weeks": np.nan,
            "median_reached": False,
            "median_text": "no episodes",
            "horizon_weeks": float(horizon_weeks),
            "rmst_weeks": np.nan,
            "rmst_lower_weeks": np.nan,
            "rmst_upper_weeks": np.nan,
            "p_burst": np.nan,
            "p_burst_lower": np.nan,
            "p_burst_upper": np.nan,
            "interval": "",
        }
        if not group.empty:
            fitter = _fit(group, scenario)
            median = float(fitter.median_survival_time_)
            rmst, variance = _rmst(fitter, horizon_weeks)
            if _clustered(group):
                bounds = _bootstrap_by_seed(group, horizon_weeks, bootstrap_draws, bootstrap_seed)
                interval = f"bootstrap over {row['n_runs']} seeds ({bootstrap_draws} draws)"
            else:
                ends = median_survival_times(fitter.confidence_interval_survival_function_)
                band = _at(fitter.confidence_interval_survival_function_, horizon_weeks)
                spread = 1.959964 * math.sqrt(max(variance, 0.0))
                bounds = {
                    "median_lower_weeks": _finite_or_nan(ends.iloc[0, 0]),
                    "median_upper_weeks": _finite_or_nan(ends.iloc[0, 1]),
                    "rmst_lower_weeks": max(rmst - spread, 0.0),
                    "rmst_upper_weeks": min(rmst + spread, float(horizon_weeks)),
                    # A high survival bound is a low burst bound.
                    "p_burst_lower": 1.0 - float(band.iloc[1]),
                    "p_burst_upper": 1.0 - float(band.iloc[0]),
                }
                interval = "Kaplan-Meier band; Greenwood variance for the restricted mean"
            lower, upper = bounds["median_lower_weeks"], bounds["median_upper_weeks"]
            row.update(
                bounds,
                median_weeks=_finite_or_nan(median),
                median_reached=math.isfinite(median),
                median_text=_median_text(
                    median,
                    lower if math.isfinite(lower) else math.nan,
                    upper if math.isfinite(upper) else math.inf,
                    group["lifetime_weeks"].max(),
                    "weeks",
                ),
                rmst_weeks=rmst,
                p_burst=1.0 - float(_at(fitter.survival_function_.iloc[:, 0], horizon_weeks)),
                interval=interval,
            )
        rows.append(row)
    return pd.DataFrame(rows)


def logrank(lifetimes: pd.DataFrame) -> float:
    """p-value of the log-rank test that all scenarios share one survival curve.

    With two scenarios this is the ordinary two-sample test. NaN with fewer than two
    scenarios or when no bubble burst at all (nothing to compare).
    """
    data = _clean(lifetimes)
    if data["scenario"].nunique() < 2 or data["censored"].all():
        return float("nan")
    result = multivariate_logrank_test(data["lifetime_weeks"], data["scenario"], event_observed=~data["censored"])
    return float(result.p_value)


# --------------------------------------------------------------------------- plot


def _format_p(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def plot_survival(
    lifetimes: pd.DataFrame,
    ax: Axes | None = None,
    history: pd.DataFrame | bool | None = None,
    title: str = DEFAULT_TITLE,
    definition_note: str | None = None,
    horizon_weeks: float | None = None,
    scenarios: Sequence[str] | None = None,
) -> Figure:
    """Kaplan-Meier curves per scenario against historical bubble lifetimes; returns the figure.

    Each scenario gets its curve with a 95% band, censoring ticks, its median in the legend
    and a row of at-risk counts under the axis; the legend title carries the log-rank
    p-value. `history` is a table with columns name and lifetime_weeks (None: the table
    from runs.history; False: no marks), drawn as labelled dashed vertical lines.
    `definition_note` states how a bubble was defined and is printed under the plot.
    `horizon_weeks` marks the end of the simulated time; `scenarios` picks and orders the
    curves (default: all, sorted). Time is in years of 52 weeks.
    Drawn on a plain Agg-backed Figure, so nothing is shown and pyplot state is untouched.
    """
    data = _clean(lifetimes)
    order = [s for s in _scenario_order(lifetimes, scenarios) if (data["scenario"] == s).any()]
    if history is None:
        from runs.history import historical_lifetimes

        history = historical_lifetimes()
    elif history is False:
        history = pd.DataFrame(columns=["name", "lifetime_weeks"])
    elif not isinstance(history, pd.DataFrame) or not {"name", "lifetime_weeks"} <= set(history.columns):
        raise InputError("history must be a DataFrame with columns 'name' and 'lifetime_weeks'")

    n_rows = len(order) + 1
    if ax is None:
        fig = Figure(figsize=(12, 5.5 + 0.17 * n_rows))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        # Inches of margin: at-risk row names on the left, legend on the right, and
        # tick labels, the at-risk table and the definition note underneath.
        left = 0.45 + 0.075 * max([10] + [len(s) for s in order])
        bottom = 0.75 + 0.17 * n_rows + 0.45
        width, height = fig.get_size_inches()
        fig.subplots_adjust(left=left / width, right=1 - 3.2 / width, top=1 - 0.45 / height, bottom=bottom / height)
    else:
        fig = ax.figure

    fitters, labels = [], []
    p_value = logrank(data[data["scenario"].isin(order)]) if len(order) >= 2 else float("nan")
    for i, scenario in enumerate(order):
        group = data[data["scenario"] == scenario]
        fitter = _fit(group, scenario, scale=WEEKS_PER_YEAR)
        median = float(fitter.median_survival_time_)
        bounds = median_survival_times(fitter.confidence_interval_survival_function_)
        lower, upper = float(bounds.iloc[0, 0]), float(bounds.iloc[0, 1])
        if math.isfinite(median):
            top = f"{upper:.1f}" if math.isfinite(upper) else "n.r."
            text = f"median {median:.1f} y (95% CI {lower:.1f} to {top})"
        else:
            text = f"median not reached (> {group['lifetime_weeks'].max() / WEEKS_PER_YEAR:.1f} y)"
        label = f"{scenario} (n={len(group)})\n{text}"
        fitter.plot_survival_function(
            ax=ax,
            color=f"C{i % 10}",
            label=label,
            ci_alpha=0.2,
            show_censors=True,
            censor_styles={"marker": "|", "ms": 5, "mew": 0.8},
        )
        for line in ax.get_lines():
            if line.get_label() == label:
                line.set_gid(f"km:{scenario}")
        fitters.append(fitter)
        labels.append(scenario)

    marks = history.sort_values("lifetime_weeks")
    longest = (
        max([data["lifetime_weeks"].max() if len(data) else 0.0, horizon_weeks or 0.0] + list(marks["lifetime_weeks"]))
        / WEEKS_PER_YEAR
    )
    ax.set_xlim(0, max(longest * 1.03, 0.5))
    ax.set_ylim(0, 1.05)
    span = ax.get_xlim()[1]

    legend_handles = [line for line in ax.get_lines() if str(line.get_gid()).startswith("km:")]
    previous_x, level = -math.inf, 0
    for j, (_, bubble) in enumerate(marks.iterrows()):
        x = float(bubble["lifetime_weeks"]) / WEEKS_PER_YEAR
        line = ax.axvline(
            x,
            color="0.35",
            linestyle="--",
            linewidth=0.9,
            zorder=1,
            gid=f"history:{bubble['name']}",
            label="historical bubbles, start to burst" if j == 0 else "_nolegend_",
        )
        if j == 0:
            legend_handles.append(line)
        # Stagger labels of nearby marks so the rotated names do not overprint each other.
        level = (level + 1) % 3 if x - previous_x < 0.04 * span else 0
        previous_x = x
        ax.text(
            x,
            0.99 - 0.2 * level,
            str(bubble["name"]),
            transform=ax.get_xaxis_transform(),
            rotation=90,
            ha="right",
            va="top",
            fontsize=7,
            color="0.25",
            gid=f"history-label:{bubble['name']}",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1},
        )
    if horizon_weeks is not None:
        legend_handles.append(
            ax.axvline(
                horizon_weeks / WEEKS_PER_YEAR,
                color="black",
                linestyle=":",
                linewidth=1.0,
                label="end of simulation",
                gid="horizon",
            )
        )

    ax.set_xlabel("bubble lifetime, start to burst (years; 1 year = 52 weeks)")
    ax.set_ylabel("share of bubbles not yet burst")
    ax.set_title(title)
    legend_title = f"log-rank test across scenarios: p {_format_p(p_value)}"
    if len(order) < 2:
        legend_title = "log-rank test: n/a (needs two scenarios)"
    ax.legend(
        handles=legend_handles,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        title=legend_title,
        title_fontsize=8,
        frameon=False,
        labelspacing=0.9,
    )
    if fitters:
        from lifelines.plotting import add_at_risk_counts

        add_at_risk_counts(*fitters, ax=ax, fig=fig, labels=labels, rows_to_show=["At risk"], ypos=-0.6)
    note = definition_note or "not stated"
    fig.text(
        0.01,
        0.01,
        f"Bubble definition: {note}",
        fontsize=8,
        ha="left",
        va="bottom",
        wrap=True,
        gid="definition",
    )
    return fig
