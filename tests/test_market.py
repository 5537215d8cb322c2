"""The market side: price formation from flows, the flow multiplier, the emergent bubble and
its bursts over an ensemble, the counterfactuals, profit against cash, extreme parameters,
and the single-run command."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agents.funds import ActiveFund, IndexFund
from agents.savers import RetirementAccount
from model import CircularFinance
from model.impulse import flow_multiplier
from runs.simulate import ensemble

ROOT = Path(__file__).resolve().parent.parent
SEEDS = 32


@pytest.fixture(scope="module")
def ensembles():
    """32 seeds x 10 years of the baseline and of the counterfactuals (paired seeds)."""
    runs = {
        "baseline": {},
        "strict_plain": {"regime": "strict", "spend_back": False},
        "passive_0.3": {"overrides": {"market.passive_share": 0.3}},
        "passive_0.7": {"overrides": {"market.passive_share": 0.7}},
    }
    return {name: ensemble(parameters, SEEDS, workers=2) for name, parameters in runs.items()}


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


def test_every_share_is_held_and_prices_move_with_flows():
    model = CircularFinance(years=1, check_ledger=True)   # checks shares conserved every step
    opening = model.market.prices.copy()
    model.run()
    assert np.allclose(model.market.holdings.sum(axis=0), model.market.shares, rtol=1e-12)
    assert not np.allclose(model.market.prices, opening)
    weekly = model.tables()["weekly"]
    assert {"basket_price", "basket_fundamental", "basket_pf", "price_Rest"} <= set(weekly.columns)


def test_flow_multiplier_is_in_the_gabaix_koijen_range_and_rises_with_passive_share():
    horizon = 4
    base = flow_multiplier(rng=1, horizons=(horizon,))[horizon]
    low = flow_multiplier(rng=1, horizons=(horizon,), overrides={"market.passive_share": 0.3})[horizon]
    high = flow_multiplier(rng=1, horizons=(horizon,), overrides={"market.passive_share": 0.7})[horizon]
    assert 3.0 <= base <= 8.0, base
    assert high > base > low, (low, base, high)


def test_bubbles_form_and_burst_by_themselves(ensembles):
    runs = ensembles["baseline"]
    formed = [r for r in runs if r["episodes"] > 0]
    burst = [r for r in formed if r["burst"] > 0]
    assert len(formed) >= 0.6 * SEEDS
    assert len(burst) >= 0.5 * len(formed)
    lifetimes = [life for r in runs for life in r["lifetimes"]]
    assert len(set(np.round(lifetimes, 6))) > 5                      # lifetimes differ across seeds
    # Nothing is scheduled: every logged event comes from the agents' own rules.
    kinds = ("down round", "round failed", "failed", "panic selling", "net flows turn negative",
             "switch to cash-flow valuation", "marks on lab stakes turn negative")
    assert all(any(k in event for k in kinds) for r in runs for event in r["events"])
    # Each burst names a cause.
    assert all(cause for r in runs for cause, life in zip(r["causes"], r["lifetimes"]) if cause != "")
    assert all(r["finite"] for r in runs)


def test_counterfactuals_move_the_peak_the_right_way(ensembles):
    def median_peak(name):
        return float(np.median([r["peak_pf"] for r in ensembles[name]]))
    assert median_peak("strict_plain") < median_peak("baseline")
    assert median_peak("passive_0.7") > median_peak("passive_0.3")


def test_reported_profit_and_free_cash_flow_diverge_while_the_boom_lasts():
    model = CircularFinance(years=3, rng=4)
    model.run()
    tables = model.tables()
    quarters = tables["giant_quarters"]
    heaviest = quarters.groupby("giant")["capex"].sum().idxmax()
    assert heaviest == "Amazon"
    episode = tables["episodes"].iloc[0]
    assert episode["start_week"] <= 0                                  # the boom under way at the start
    end = pd.Timestamp(episode["burst"]) if not episode["censored"] else pd.Timestamp.max
    boom = quarters[(quarters["giant"] == heaviest) & (pd.to_datetime(quarters["date"]) < end)]
    assert len(boom) >= 4
    gap = boom["net_income"] - boom["free_cash_flow"]
    assert (gap > 0).mean() >= 0.75
    assert boom["net_income"].sum() > boom["free_cash_flow"].sum() + 50.0


@pytest.mark.parametrize("overrides", [
    {"market.passive_share": 0.0},
    {"market.passive_share": 1.0},
    {"labs.OpenAI.revenue_growth": 0.0, "labs.OpenAI.revenue_growth_long_run": 0.0,
     "labs.Anthropic.revenue_growth": 0.0, "labs.Anthropic.revenue_growth_long_run": 0.0,
     "giants.Microsoft.core_growth": 0.0, "market.rest_growth": 0.0},
    {"labs.OpenAI.outside_appetite": 0.0, "labs.Anthropic.outside_appetite": 0.0},
])
def test_extreme_valid_parameters_give_finite_numbers_and_sound_books(overrides):
    model = CircularFinance(rng=3, check_ledger=True, overrides=overrides)
    model.run()
    tables = model.tables()
    for name in ("weekly", "giant_quarters", "lab_quarters"):
        numbers = tables[name].select_dtypes("number").to_numpy(dtype=float)
        assert np.isfinite(numbers).all(), name


def test_single_run_command_writes_the_same_files_for_the_same_seed(tmp_path):
    outputs = []
    for folder in ("a", "b"):
        out = tmp_path / folder
        result = subprocess.run([sys.executable, "-m", "runs", "single", "--seed", "5", "--years", "2",
                                 "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
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
    assert not list(outputs[0].glob(".*"))                            # no temporary files left


def test_single_run_command_rejects_bad_input(tmp_path):
    result = subprocess.run([sys.executable, "-m", "runs", "single", "--scenario", "nope", "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert not any(tmp_path.iterdir())
