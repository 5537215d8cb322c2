"""Survival analysis of bubble lifetimes, and the historical yardstick it is plotted against."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines.statistics import logrank_test

from economy.errors import InputError
from runs.history import historical_lifetimes
from runs.survival import km_by_scenario, lifetime_summary, logrank, plot_survival

MEAN_WEEKS = 100.0
TRUE_MEDIAN = MEAN_WEEKS * math.log(2)


def exponential_lifetimes(scenario: str, mean: float, n: int, seed: int, censor_max: float = 300.0):
    """Exponential lifetimes, right-censored by independent uniform follow-up times."""
    rng = np.random.default_rng(seed)
    life = rng.exponential(mean, n)
    follow_up = rng.uniform(0, censor_max, n)
    return pd.DataFrame(
        {"scenario": scenario, "lifetime_weeks": np.minimum(life, follow_up), "censored": life > follow_up}
    )


def test_km_median_recovers_the_true_median_under_censoring():
    data = exponential_lifetimes("a", MEAN_WEEKS, 4000, seed=1)
    assert 0.3 < data["censored"].mean() < 0.5  # heavy enough censoring to bias naive estimates

    row = lifetime_summary(data, horizon_weeks=150).iloc[0]
    assert row["median_reached"]
    assert row["median_weeks"] == pytest.approx(TRUE_MEDIAN, rel=0.06)
    assert row["median_lower_weeks"] <= TRUE_MEDIAN <= row["median_upper_weeks"]

    # Treating censored episodes as bursts, or dropping them, biases lifetimes short.
    assert data["lifetime_weeks"].median() < 0.85 * TRUE_MEDIAN
    assert data.loc[~data["censored"], "lifetime_weeks"].median() < 0.85 * TRUE_MEDIAN
    assert data["lifetime_weeks"].mean() < 0.75 * MEAN_WEEKS
    as_bursts = lifetime_summary(data.assign(censored=False), horizon_weeks=150).iloc[0]
    assert as_bursts["median_weeks"] < 0.85 * TRUE_MEDIAN

    # The whole curve, not only its median, follows exp(-t / mean).
    km = km_by_scenario(data)
    for t in (25.0, 50.0, 100.0, 150.0):
        at_t = km[km["timeline"] <= t].iloc[-1]
        assert at_t["survival"] == pytest.approx(math.exp(-t / MEAN_WEEKS), abs=0.03)
        assert at_t["lower"] <= at_t["survival"] <= at_t["upper"]


def test_km_table_is_tidy_per_scenario():
    data = pd.concat([exponential_lifetimes("b", 50, 200, seed=2), exponential_lifetimes("a", 80, 150, seed=3)])
    km = km_by_scenario(data)
    assert list(km.columns) == ["scenario", "timeline", "survival", "lower", "upper", "at_risk", "events", "censored"]
    assert list(km["scenario"].unique()) == ["a", "b"]
    for scenario, n in (("a", 150), ("b", 200)):
        part = km[km["scenario"] == scenario]
        assert part["timeline"].is_monotonic_increasing
        assert part["survival"].is_monotonic_decreasing
        assert part.iloc[0]["at_risk"] == n and part.iloc[0]["survival"] == 1.0
        assert part["events"].sum() + part["censored"].sum() == n
        assert part["censored"].sum() == data.loc[data["scenario"] == scenario, "censored"].sum()


def test_lifetime_summary_columns_counts_and_burst_probability():
    data = pd.concat([exponential_lifetimes("fast", 40, 3000, seed=4), exponential_lifetimes("slow", 400, 300, seed=5)])
    summary = lifetime_summary(data, horizon_weeks=100, scenarios=["fast", "slow", "none"])
    assert list(summary.columns) == [
        "scenario",
        "n_episodes",
        "n_runs",
        "n_burst",
        "n_censored",
        "median_weeks",
        "median_lower_weeks",
        "median_upper_weeks",
        "median_reached",
        "median_text",
        "horizon_weeks",
        "rmst_weeks",
        "rmst_lower_weeks",
        "rmst_upper_weeks",
        "p_burst",
        "p_burst_lower",
        "p_burst_upper",
        "interval",
    ]
    fast, slow, none = (summary.iloc[i] for i in range(3))
    assert fast["n_episodes"] == 3000
    assert fast["n_burst"] + fast["n_censored"] == 3000
    assert fast["n_censored"] == data.loc[data["scenario"] == "fast", "censored"].sum()
    true_p = 1 - math.exp(-100 / 40)
    assert fast["p_burst"] == pytest.approx(true_p, abs=0.02)
    assert fast["p_burst_lower"] <= true_p <= fast["p_burst_upper"]

    # Most slow bubbles outlive the 300-week follow-up: the median is not reached, and says so.
    assert not slow["median_reached"]
    assert math.isnan(slow["median_weeks"])
    assert "not reached" in slow["median_text"]
    assert 0 < slow["p_burst_lower"] <= slow["p_burst"] <= slow["p_burst_upper"] < 0.5

    assert none["n_episodes"] == 0 and math.isnan(none["p_burst"]) and none["median_text"] == "no episodes"


def test_restricted_mean_is_the_area_under_the_curve_to_the_horizon():
    data = exponential_lifetimes("a", MEAN_WEEKS, 4000, seed=8)
    row = lifetime_summary(data, horizon_weeks=150).iloc[0]
    true_rmst = MEAN_WEEKS * (1 - math.exp(-150 / MEAN_WEEKS))  # integral of exp(-t/mean) to 150
    assert row["rmst_weeks"] == pytest.approx(true_rmst, rel=0.03)
    assert row["rmst_lower_weeks"] <= true_rmst <= row["rmst_upper_weeks"]
    # With censoring only at the horizon, the restricted mean is the plain mean of min(T, horizon).
    life = np.random.default_rng(9).exponential(60.0, 500)
    at_horizon = pd.DataFrame({"scenario": "b", "lifetime_weeks": np.minimum(life, 100.0), "censored": life > 100.0})
    assert lifetime_summary(at_horizon, 100).iloc[0]["rmst_weeks"] == pytest.approx(np.minimum(life, 100).mean())


def test_episodes_pooled_from_one_run_get_intervals_clustered_by_seed():
    # 40 runs, each giving five episodes that share one lifetime: 200 rows but 40 independent facts.
    rng = np.random.default_rng(10)
    life = np.repeat(rng.exponential(MEAN_WEEKS, 40), 5)
    pooled = pd.DataFrame(
        {"scenario": "a", "seed": np.repeat(np.arange(40), 5), "lifetime_weeks": life, "censored": False}
    )
    clustered = lifetime_summary(pooled, horizon_weeks=150).iloc[0]
    naive = lifetime_summary(pooled.drop(columns="seed"), horizon_weeks=150).iloc[0]
    assert clustered["n_runs"] == 40 and clustered["n_episodes"] == 200
    assert clustered["interval"].startswith("bootstrap over 40 seeds")
    assert clustered["rmst_weeks"] == naive["rmst_weeks"]  # the estimate is the same; its spread is not
    width = clustered["rmst_upper_weeks"] - clustered["rmst_lower_weeks"]
    assert width > 1.7 * (naive["rmst_upper_weeks"] - naive["rmst_lower_weeks"])  # about sqrt(5) wider
    assert lifetime_summary(pooled, horizon_weeks=150).equals(lifetime_summary(pooled, horizon_weeks=150))


def test_logrank_separates_different_groups_and_not_identical_ones():
    a = exponential_lifetimes("a", 50, 300, seed=6)
    b = exponential_lifetimes("b", 150, 300, seed=7)
    different = pd.concat([a, b])
    p = logrank(different)
    assert p < 1e-6
    pairwise = logrank_test(
        a["lifetime_weeks"], b["lifetime_weeks"], event_observed_A=~a["censored"], event_observed_B=~b["censored"]
    )
    assert p == pytest.approx(pairwise.p_value, rel=1e-9)

    identical = pd.concat([a, a.assign(scenario="copy")])
    assert logrank(identical) > 0.99
    same_law = pd.concat([a, exponential_lifetimes("c", 50, 300, seed=8)])
    assert logrank(same_law) > 0.01
    assert math.isnan(logrank(a))


def test_bad_lifetimes_tables_are_rejected():
    good = exponential_lifetimes("a", 50, 10, seed=9)
    with pytest.raises(InputError, match="censored"):
        km_by_scenario(good.drop(columns="censored"))
    with pytest.raises(InputError, match="non-negative"):
        lifetime_summary(good.assign(lifetime_weeks=-1.0), horizon_weeks=10)
    with pytest.raises(InputError, match="True/False"):
        logrank(good.assign(censored=np.nan))


def test_historical_lifetimes_table():
    history = historical_lifetimes()
    assert list(history.columns) == [
        "name",
        "start",
        "peak",
        "burst",
        "trough",
        "lifetime_months",
        "lifetime_weeks",
        "note",
    ]
    assert len(history) == 7
    assert history["start"].is_monotonic_increasing
    assert (history["burst"] == history["peak"]).all()
    assert history["note"].str.contains("at the peak").all()
    by_name = history.set_index("name")
    assert by_name.loc["South Sea 1720", "lifetime_months"] < 7  # "burst within seven months"
    assert by_name.loc["Dot-com 1995-2000", "lifetime_months"] / 12 == pytest.approx(5.2, abs=0.1)
    assert by_name.loc["Tulips 1636-37", "lifetime_months"] == pytest.approx(3, abs=0.1)
    assert by_name.loc["US stocks 1929", "trough"] == pd.Timestamp("1932-07-01")
    ratio = history["lifetime_weeks"] / history["lifetime_months"]
    assert np.allclose(ratio, 365.25 / 12 / 7, rtol=1e-3)


def test_plot_survival_draws_curves_history_and_annotations(tmp_path):
    data = pd.concat(
        [exponential_lifetimes(s, m, 200, seed=i) for i, (s, m) in enumerate([("base", 60), ("loop", 200)])]
    )
    history = historical_lifetimes()
    note = "price above 1.5x fundamentals for 8 weeks; burst = 20% drawdown"
    fig = plot_survival(data, definition_note=note, horizon_weeks=300)
    ax = fig.axes[0]

    curves = [line for line in ax.get_lines() if str(line.get_gid()).startswith("km:")]
    assert sorted(line.get_gid() for line in curves) == ["km:base", "km:loop"]
    assert all("median" in line.get_label() for line in curves)

    marks = {line.get_gid(): line for line in ax.get_lines() if str(line.get_gid()).startswith("history:")}
    assert set(marks) == {f"history:{name}" for name in history["name"]}
    dotcom = marks["history:Dot-com 1995-2000"]
    dotcom_weeks = history.set_index("name").loc["Dot-com 1995-2000", "lifetime_weeks"]
    assert dotcom.get_xdata()[0] == pytest.approx(dotcom_weeks / 52)
    labels = {text.get_text() for text in ax.texts}
    assert set(history["name"]) <= labels

    legend = ax.get_legend()
    legend_title = legend.get_title().get_text()
    assert "log-rank" in legend_title
    assert f"{logrank(data):.3f}" in legend_title or "< 0.001" in legend_title
    assert any(note in text.get_text() for text in fig.texts)
    assert "years" in ax.get_xlabel()
    # The at-risk table is a twin axis under the plot, with a row per scenario.
    at_risk = [a for a in fig.axes if a is not ax]
    assert at_risk and "base" in at_risk[0].get_xticklabels()[0].get_text()

    path = tmp_path / "survival.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000

    bare = plot_survival(data.query("scenario == 'base'"), history=False)
    assert not [line for line in bare.axes[0].get_lines() if str(line.get_gid()).startswith("history:")]
    assert "n/a" in bare.axes[0].get_legend().get_title().get_text()


def test_one_run_with_several_episodes_has_no_interval():
    one_run = pd.DataFrame({"scenario": "s", "seed": [1, 1, 1], "lifetime_weeks": [5.0, 7.0, 9.0], "censored": False})
    row = lifetime_summary(one_run, 520).iloc[0]
    assert row["rmst_weeks"] == pytest.approx(7.0)
    assert math.isnan(row["rmst_lower_weeks"]) and math.isnan(row["median_upper_weeks"])
