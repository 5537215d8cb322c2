"""The economy: books that hold at every step, the round trip, the regimes, distress, dates,
reproducibility and Mesa's batch runner."""

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import mesa
import numpy as np
import pandas as pd
import pytest

from agents import AILab, TechGiant
from economy.accounting import revenue_by_origin
from economy.ledger import LedgerError
from model import CircularFinance
from model import scenario as scenarios

ROOT = Path(__file__).resolve().parent.parent
REGIMES = ["gaap_2026", "net_roundtrip", "no_marks", "strict"]


def cash_path(model: CircularFinance) -> np.ndarray:
    """Every week's cash of the giants and the labs (the economy of design 5)."""
    owners = {g.name for g in model.giants} | {lab.name for lab in model.labs}
    accounts = [i for i in model.ledger.cash_accounts if model.ledger.accounts[i].owner in owners]
    rows = []
    while model.running:
        model.step()
        rows.append([model.ledger.balances[i] for i in accounts])
    return np.array(rows)


def test_books_hold_at_every_step_of_the_baseline():
    model = CircularFinance(check_ledger=True)  # check_books runs after every step
    opening = model.money()
    model.run()
    assert model.week == 520
    assert abs(model.money() - opening) <= 1e-12 * sum(
        abs(model.ledger.balances[i]) for i in model.ledger.cash_accounts
    )
    for owner in model.ledger.owners():
        totals = model.ledger.owner_totals(owner)
        assert totals["asset"] == pytest.approx(totals["liability"] + totals["equity"], rel=1e-12, abs=1e-9)


def test_check_books_catches_a_one_sided_claim():
    model = CircularFinance(years=0.25)
    model.run()
    giant = model.giants_by_name["Oracle"]
    model.ledger.post("debt with no lender", [(giant.cash, 1.0), (giant.debt, -1.0)])
    with pytest.raises(LedgerError):
        model.check_books()


def test_agents_are_mesa_agents_of_the_two_families():
    model = CircularFinance(years=0.1)
    assert len(model.agents_by_type[TechGiant]) == 4
    assert len(model.agents_by_type[AILab]) == 2
    assert all(isinstance(agent.unique_id, int) for agent in model.agents)


def test_every_series_carries_its_calendar_date():
    model = CircularFinance(years=1)
    model.run()
    tables = model.tables()
    weekly = tables["weekly"]
    assert len(weekly) == 52
    assert weekly["date"].iloc[0] == dt.date(2026, 1, 1)
    assert (weekly["date"].map(dt.date.toordinal).diff().dropna() == 7).all()
    quarters = tables["giant_quarters"]
    assert list(quarters["quarter"].unique()) == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert quarters["date"].iloc[0] == dt.date(2026, 3, 26)
    assert model.datacollector.get_model_vars_dataframe()["date"].iloc[-1] == dt.date(2026, 12, 24)


def test_same_seed_same_results_and_another_seed_differs():
    def run(seed):
        model = CircularFinance(years=2, rng=seed)
        model.run()
        return model.tables()["giant_quarters"]

    pd.testing.assert_frame_equal(run(3), run(3))
    assert not run(3)["net_income"].equals(run(4)["net_income"])


def test_regime_changes_what_is_reported_never_the_cash():
    # With the labs reading a fixed sentiment, nothing in the economy reacts to prices, so the
    # regime can only change reported numbers. (With the market on, reported EPS moves prices,
    # prices move sentiment and rounds: that is the experiment, not the accounting.)
    paths, income = {}, {}
    for regime in REGIMES:
        model = CircularFinance(regime=regime, rng=11, years=3, overrides={"economy.sentiment_source": "fixed"})
        paths[regime] = cash_path(model)
        income[regime] = model.tables()["giant_quarters"].groupby("giant")["net_income"].sum()
    for regime in REGIMES[1:]:
        # Equal up to the order of floating-point sums (running totals add marks' entries in
        # between): a relative difference of 1e-16, far below a cent.
        np.testing.assert_allclose(paths[regime], paths["gaap_2026"], rtol=1e-12, atol=1e-9)
    # ...while reported profit differs: marks and round-trip revenue are gone under strict.
    assert income["strict"]["Alphabet"] < income["gaap_2026"]["Alphabet"] - 10.0
    assert income["net_roundtrip"]["Microsoft"] < income["gaap_2026"]["Microsoft"]


def test_round_trip_is_reported_and_vanishes_without_the_spend_back_clause():
    def first_year(**kw):
        model = CircularFinance(years=1, rng=5, **kw)
        model.run()
        return revenue_by_origin(model.tables()["giant_quarters"]).set_index("giant")

    base = first_year()
    shares = base[["roundtrip_share", "cross_share", "real_share"]]
    assert np.allclose(shares.sum(axis=1), 1.0)
    for giant in ("Microsoft", "Alphabet", "Amazon"):
        assert base.loc[giant, "roundtrip"] > 1.0, giant
    plain = first_year(spend_back=False)
    assert (plain["roundtrip"] == 0.0).all()
    # The money is the same, it just stops being tied: it shows up as cross-funded instead.
    assert plain.loc["Amazon", "cross"] > base.loc["Amazon", "cross"]


def test_lab_without_outside_investors_goes_through_down_rounds_into_distress():
    model = CircularFinance(
        rng=2,
        years=1.5,
        check_ledger=True,
        overrides={"labs.Anthropic.outside_appetite": 0.0, "labs.Anthropic.cash": 25.0},
    )
    lab = model.labs_by_name["Anthropic"]
    runway_at_start = lab.runway_weeks()
    while not lab.rounds:
        contracted_before = lab.contracted_weekly()
        backlog_before = sum(c.remaining for c in lab.contracts)
        model.step()
    assert runway_at_start > lab.spec.runway_trigger_weeks  # it had runway, then ran out
    first = lab.rounds[0]
    assert first["week"] > 0 and not first["filled"] and first["down_round"]
    assert first["multiple"] < model.config.rounds.floor_multiple / (1 - model.config.rounds.down_round_step)
    assert first["distressed"] and lab.distressed
    assert lab.contracted_weekly() < 0.8 * contracted_before  # compute cut...
    assert sum(c.remaining for c in lab.contracts) < 0.8 * backlog_before  # ...and backlog cancelled
    model.run()

    quarters = model.tables()["giant_quarters"]
    labs = model.tables()["lab_quarters"]
    round_date = first["date"]
    hit = quarters[pd.to_datetime(quarters["date"]) >= pd.Timestamp(round_date)].groupby("giant").head(1)
    hit = hit.set_index("giant")
    for giant in ("Amazon", "Alphabet"):
        assert hit.loc[giant, "gain_on_Anthropic"] < -1.0, giant  # marked down that quarter
        assert hit.loc[giant, "backlog_impairment"] > 1.0, giant  # backlog impaired that quarter
    lab_quarter = labs[(labs["lab"] == "Anthropic") & (pd.to_datetime(labs["date"]) >= pd.Timestamp(round_date))]
    assert lab_quarter["contracts_cancelled"].iloc[0] > 0.0
    assert lab_quarter["down_rounds"].iloc[0] >= 1


def test_batch_run_sweeps_a_scenario_parameter_with_explicit_seeds():
    results = mesa.batch_run(
        CircularFinance,
        parameters={"interest_rate": [0.03, 0.06], "years": 0.5},
        rng=[1, 2],
        max_steps=26,
        number_processes=1,
        display_progress=False,
    )
    frame = pd.DataFrame(results)
    assert sorted(frame["interest_rate"].unique()) == [0.03, 0.06]
    assert len(frame) == 4 and set(frame["rng"]) == {1, 2}
    assert frame["Step"].max() == 26


def test_calibration_command_passes_and_json_has_exactly_the_keys():
    result = subprocess.run(
        [sys.executable, "-m", "runs", "calibration", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(result.stdout)
    assert all(set(row) == {"figure", "seed", "model", "rel_error", "ok"} for row in rows)
    counted = [row for row in rows if row["ok"] is not None]
    assert len(counted) >= 16 and all(row["ok"] for row in counted)
    names = " ".join(row["figure"] for row in rows)
    for needle in (
        "Alphabet Q1 2026 net income",
        "Amazon Q1 2026 gain",
        "Oracle backlog",
        "OpenAI annual cloud bill",
        "Microsoft investment in OpenAI",
    ):
        assert needle in names


def test_a_counterfactual_with_trend_followers_opens_at_its_own_equilibrium_for_every_seed():
    # Trend followers used to clear the opening at last year's trend values and then be placed
    # at the re-read ones: other holders were left short of a stock for one seed in eight at
    # near-baseline values, and for all eight here (found by the sensitivity analysis).
    from agents.funds import TREND
    from runs.experiment import replicate_seeds

    config = scenarios.load(
        "baseline",
        {
            "market.earnings_share": 0.6,
            "market.trend_share": 0.3,
            "market.other_holders_elasticity": 3.0,
            "market.passive_share": 0.2,
            "run.years": 0.1,
        },
    )
    for seed in replicate_seeds(0, 8):
        model = CircularFinance(config, rng=seed)
        other = model.market.holdings[model.other_row]
        assert (other > 0).all(), seed
        assert any(f.strategy == TREND for f in model.active_funds)
        model.step()
        model.check_books()
