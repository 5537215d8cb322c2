"""The market side (design 6, 7 and 10): the must-show properties over the ensemble that
`python -m runs properties` prints (the same runs and the same checks), and the mechanics
behind them on single runs: the opening equilibrium, clearing, payouts, savers, profit against
cash, extreme parameters and the single-run command."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.funds import ActiveFund, IndexFund
from agents.savers import RetirementAccount
from model import CircularFinance
from runs import properties
from runs.executors import ExecutorOptions
from runs.loader import load_experiment

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    """The runs `python -m runs properties` makes, through the same experiment runner: 64
    baseline seeds and 32 of each counterfactual, replicate i on the same seed everywhere
    (about 5 minutes on two cores)."""
    out_dir = tmp_path_factory.mktemp("properties")
    summaries, failed = properties.run_all(out_dir, options=ExecutorOptions(workers=2), progress="off")
    return out_dir, summaries


@pytest.fixture(scope="module")
def summaries(ensemble):
    return ensemble[1]


def _unmet(checks):
    return "\n".join(f"{c.name}: {c.value:.3f} (target {c.target})" for c in checks if c.ok is False)


def _named(checks, text):
    chosen = [c for c in checks if text in c.name]
    assert len(chosen) == 1, [c.name for c in checks]
    return chosen[0]


# ------------------------------------------------------------------ ensemble properties
def test_null_market_the_rest_of_the_market_starts_fair_and_does_not_drift(summaries):
    assert not _unmet(properties.null_market(summaries)), _unmet(properties.null_market(summaries))


def test_the_bubble_is_the_loops_it_forms_with_the_loop_not_without_and_ends_by_itself(summaries):
    checks = properties.bubbles(summaries)
    assert not _unmet(checks), _unmet(checks)
    formed = _named(checks, "baseline runs that form a bubble").value
    assert formed > 0.0 and _named(checks, "no_loop runs that form one").value < formed


def test_the_circular_channels_that_carry_the_premium(summaries):
    """Marks on lab stakes, read by earnings-based funds, carry the AI premium: without either it
    falls in most paired seeds; round-trip revenue on its own carries little."""
    checks = {c.name.split(":")[0]: c for c in properties.channels(summaries)}
    for channel in ("no marks", "no earnings-based funds", "no_loop"):
        assert checks[channel].value < -0.02, checks[channel]
    assert abs(checks["no round-trip revenue"].value) < abs(checks["no marks"].value)


def test_episodes_restart_only_after_the_ratio_went_under_and_causes_lie_inside(ensemble):
    """Issue 8's must-show on 16 baseline seeds: no episode starts after a burst unless the ratio
    has been back under 1 + theta in between; every cause is dated inside its episode; exactly one
    first episode in each run that has any."""
    out_dir, summaries = ensemble
    folder = properties.baseline_folder(out_dir)
    tables = load_experiment(folder, {"series": ["week", "basket_pf"], "episodes": None}, scenarios=["baseline"])
    series, episodes = tables["series"], tables["episodes"]
    start_date = CircularFinance(years=0.02).config.run.start
    for replicate in range(16):
        ratio = series.loc[series["replicate"] == replicate, "basket_pf"].to_numpy()
        run = episodes[episodes["replicate"] == replicate].sort_values("peak_week")
        if run.empty:
            continue
        assert int(run["first"].sum()) == 1 and bool(run["first"].iloc[0])
        assert properties.causes_inside(run, start_date)
        for before, after in zip(run.itertuples(), run.iloc[1:].itertuples(), strict=False):  # consecutive pairs
            between = ratio[int(before.burst_week) : int(after.start_week)]
            assert (between <= 1.5).any(), (replicate, before.burst_week, after.start_week)
    assert sum(s["episodes"] > 0 for s in properties._runs(summaries, "baseline", 16)) > 0


BORDERLINE = ("excess kurtosis", "|returns| at lag 10")


def test_weekly_returns_have_no_usable_autocorrelation_a_tail_index_and_volatility_like_stocks(summaries):
    checks = [c for c in properties.stylized(summaries) if not any(text in c.name for text in BORDERLINE)]
    assert len(checks) == 4
    assert not _unmet(checks), _unmet(checks)


# Not strict: both sit within a few hundredths of their targets, where another platform's last
# floating-point bits may land either side; the README reports the measured values.
@pytest.mark.xfail(
    strict=False,
    reason="not met by the honest model, just: basket excess kurtosis about 0.95 "
    "(target 1) and autocorrelation of absolute returns at lag 10 about 0.048 (target 0.05) "
    "(README, 'What the model does not show')",
)
def test_returns_have_fat_tails_and_volatility_clusters_for_ten_weeks(summaries):
    checks = [c for c in properties.stylized(summaries) if any(text in c.name for text in BORDERLINE)]
    assert len(checks) == 2
    assert not _unmet(checks), _unmet(checks)


def test_strict_accounting_lowers_the_premium_and_the_peak_and_lab_growth_raises_the_fundamental(summaries):
    checks = [c for c in properties.levers(summaries) if "strict" in c.name or "revenue growth" in c.name]
    assert len(checks) == 3
    assert not _unmet(checks), _unmet(checks)


@pytest.mark.xfail(
    strict=True,
    reason="not met by the honest model: prices and fundamentals both scale with "
    "the rate at the opening equilibrium, and rounds' rate sensitivity is not enough to lower the "
    "peak (README, 'What the model does not show')",
)
def test_a_higher_interest_rate_lowers_the_peak_and_shortens_the_first_episode(summaries):
    checks = [c for c in properties.levers(summaries) if "rate" in c.name]
    assert len(checks) == 2
    assert not _unmet(checks), _unmet(checks)


@pytest.mark.xfail(
    strict=True,
    reason="not met by the honest model: the AI premium is made by active "
    "earnings-based funds, and passive money replaces them (README, 'What the model does not show')",
)
def test_a_larger_passive_share_raises_the_peak(summaries):
    check = _named(properties.levers(summaries), "passive share")
    assert check.ok, check


def test_no_runaway_valuations_and_no_failed_run(summaries):
    assert not _unmet(properties.bounds(summaries)), _unmet(properties.bounds(summaries))


def test_flow_multiplier_is_in_the_gabaix_koijen_range_and_rises_with_passive_share(summaries):
    checks = properties.flows(summaries)
    assert not _unmet(checks), _unmet(checks)
    assert abs(_named(checks, "net flow into stocks").value) < 0.03  # small next to market value (Z.1)


# ----------------------------------------------------------------------- single runs
def test_the_population_is_made_of_inspectable_mesa_agents():
    model = CircularFinance(years=0.2)
    assert len(model.agents_by_type[RetirementAccount]) == 1000
    assert len(model.agents_by_type[ActiveFund]) == 20
    assert len(model.agents_by_type[IndexFund]) == 3
    account = model.agents_by_type[RetirementAccount][0]
    model.run()
    assert account.wealth > 0.0 and 0.0 <= account.equity_share_target <= 1.0
    fund = model.agents_by_type[ActiveFund][0]
    assert set(fund.holdings()) == {"Microsoft", "Alphabet", "Amazon", "Oracle", "Rest"}


def test_weekly_columns_other_code_reads_keep_their_names():
    weekly = CircularFinance(years=0.1).run().tables()["weekly"]
    giants, labs = ["Microsoft", "Alphabet", "Amazon", "Oracle"], ["OpenAI", "Anthropic"]
    expected = {
        "basket_price",
        "basket_fundamental",
        "basket_pf",
        "ai_premium",
        "pf_Rest",
        *(f"pf_{g}" for g in giants),
        *(f"price_{g}" for g in giants),
        *(f"{lab}_valuation" for lab in labs),
        *(f"{lab}_revenue" for lab in labs),
    }
    assert expected <= set(weekly.columns)


QUIET = {
    "market.noise_market": 0.0,
    "market.noise_stock": 0.0,
    "market.noise_earnings": 0.0,
    "market.rest_volatility": 0.0,
    "rounds.outside_noise": 0.0,
    "market.review_weeks": 520,  # the longest declared: no review within the weeks tested
    **{f"giants.{g}.core_volatility": 0.0 for g in ("Microsoft", "Alphabet", "Amazon", "Oracle")},
    **{f"labs.{lab}.revenue_volatility": 0.0 for lab in ("OpenAI", "Anthropic")},
}


@pytest.mark.parametrize("scenario", ["baseline", "no_loop"])
def test_the_opening_is_an_equilibrium_nothing_jumps_at_step_zero(scenario):
    """With every shock switched off (and no fund reviewing its strategy), the first week's
    clearing leaves prices near where they opened, in the calibrated scenario and in a
    counterfactual that opens at its own equilibrium. What moves them is a week of growth and
    flows (under 1%) and, in the baseline, the calibrated Q1 round closing a little above what
    analysts expected (Amazon +2.5%); before the opening was an equilibrium, week 0 moved the AI
    basket by a quarter."""
    model = CircularFinance(scenario, years=0.1, rng=1, overrides=QUIET)
    opening = model.market.prices.copy()
    model.step()
    assert np.max(np.abs(model.market.prices / opening - 1.0)) < 0.03


def test_the_calibrated_scenario_opens_at_observed_prices_and_the_rest_of_the_market_at_its_fundamental():
    model = CircularFinance(years=0.1)
    config = model.config
    observed = [g.price for g in config.giants]
    assert np.allclose(model.market.prices[:4], observed, rtol=1e-12)
    assert model.market.prices[4] / model.beliefs.fundamental[4] == pytest.approx(1.0, rel=1e-9)
    # The implied equity risk premium is near a published one (Damodaran: about 4 to 4.5% in 2025).
    assert 0.03 < model.beliefs.equity_premium < 0.05


def test_a_counterfactual_keeps_the_reference_tastes_and_opens_where_its_beliefs_clear():
    base, strict = CircularFinance(years=0.1, rng=2), CircularFinance("strict", years=0.1, rng=2)
    assert np.array_equal(base.beliefs.latent, strict.beliefs.latent)
    # Without marks, earnings-based funds value Alphabet and Amazon (fair-value holders) lower.
    assert strict.market.prices[1] < base.market.prices[1] and strict.market.prices[2] < base.market.prices[2]
    # Every holder is at its target at the opening: the first clearing, shocks off, hardly moves prices.
    quiet = CircularFinance("strict", years=0.1, rng=2, overrides=QUIET)
    opening = quiet.market.prices.copy()
    quiet.step()
    assert np.max(np.abs(quiet.market.prices / opening - 1.0)) < 0.03


def test_every_stock_clears_jointly_and_payouts_change_the_share_count():
    model = CircularFinance(years=1, rng=3, check_ledger=True)  # checks the register every step
    shares = model.market.shares.copy()
    model.run()
    assert np.allclose(model.market.holdings.sum(axis=0), model.market.shares, rtol=1e-12)
    # Alphabet buys back shares out of its free cash flow (Microsoft's goes negative in the
    # build-out, and its payouts with it); the rest of the market buys back on net (Z.1).
    assert model.market.shares[1] < shares[1]
    assert model.market.shares[4] < shares[4]
    assert model.market.shares[2] == shares[2]  # Amazon pays out nothing


def test_savers_hold_their_glide_path_and_lean_with_expected_returns():
    model = CircularFinance(years=2, rng=4)
    model.run()
    pool = model.savers
    ages = pool.ages()
    young, old = pool.target[ages < 35], pool.target[ages > 75]
    assert young.mean() > old.mean() + 0.4
    # Rates up: bonds pay more, so the same savers want less in stocks (the lean is negative).
    high = CircularFinance(years=0.1, rng=4, interest_rate=0.08)
    low = CircularFinance(years=0.1, rng=4, interest_rate=0.01)
    assert high.beliefs.saver_lean() < low.beliefs.saver_lean()


def test_reported_profit_and_free_cash_flow_diverge_while_the_boom_lasts():
    """Amazon-like: record reported profit while free cash flow falls (design 10.7), over the
    build-out of the first two years, in most seeds."""
    diverged = 0
    for seed in range(4):
        quarters = CircularFinance(years=2, rng=seed).run().tables()["giant_quarters"]
        amazon = quarters[quarters["giant"] == "Amazon"]
        assert quarters.groupby("giant")["capex"].sum().idxmax() == "Amazon"
        gap = amazon["net_income"] - amazon["free_cash_flow"]
        diverged += bool((gap > 0).mean() >= 0.75 and gap.sum() > 50.0)
    assert diverged >= 3


@pytest.mark.parametrize(
    "overrides",
    [
        {"market.passive_share": 0.0},
        {"market.passive_share": 1.0},
        {"market.trend_share": 0.2},
        {
            "labs.OpenAI.revenue_growth": 0.0,
            "labs.OpenAI.revenue_growth_long_run": 0.0,
            "labs.Anthropic.revenue_growth": 0.0,
            "labs.Anthropic.revenue_growth_long_run": 0.0,
            "giants.Microsoft.core_growth": 0.0,
            "market.rest_growth": 0.0,
        },
        {"labs.OpenAI.outside_appetite": 0.0, "labs.Anthropic.outside_appetite": 0.0},
    ],
)
def test_extreme_valid_parameters_give_finite_numbers_and_sound_books(overrides):
    model = CircularFinance(rng=3, years=5, check_ledger=True, overrides=overrides)
    model.run()
    tables = model.tables()
    for name in ("weekly", "giant_quarters", "lab_quarters"):
        numbers = tables[name].select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numbers).all(), name


def test_single_run_command_writes_the_same_files_for_the_same_seed(tmp_path):
    outputs = []
    for folder in ("a", "b"):
        out = tmp_path / folder
        result = subprocess.run(
            [sys.executable, "-m", "runs", "single", "--seed", "5", "--years", "2", "--out", str(out)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(out)
    for name in ("steps.parquet", "quarters.parquet", "episodes.parquet", "run.png"):
        assert (outputs[0] / name).read_bytes() == (outputs[1] / name).read_bytes(), name
    steps = pd.read_parquet(outputs[0] / "steps.parquet")
    assert "date" in steps.columns and len(steps) == 104
    episodes = pd.read_parquet(outputs[0] / "episodes.parquet")
    assert {"start", "peak", "burst", "lifetime_weeks", "censored", "cause"} <= set(episodes.columns)
    quarters = pd.read_parquet(outputs[0] / "quarters.parquet")
    assert set(quarters["kind"]) == {"giant", "lab"}
    assert not list(outputs[0].glob(".*"))  # no temporary files left


def test_single_run_command_rejects_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "runs", "single", "--scenario", "nope", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
