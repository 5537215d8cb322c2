"""The model keeps the ranges' promise at their edges (design 10.10 and 11; tests/edge_scan.py).

Plausible edge values run five years with the books checked after every week and reach the
horizon; every declared field at each end of its range, one at a time from the baseline, runs
half a year with the books checked every week and either reaches it or stops with one line
(DomainError). No other exception, no overflow or 0/0 warning, no NaN in the outputs.
"""

import datetime as dt

import pytest

import edge_scan

# Edges a user may well ask for (issue 9's list and others of that kind): each runs five years.
PLAUSIBLE = [
    ("savers.retirement_age", 50.0),
    ("savers.retirement_age", 40.0),
    ("market.sentiment_weeks", 52),
    ("market.trend_weeks", 52),
    ("economy.interest_rate", 0.25),
    ("economy.interest_rate", -0.05),
    ("market.passive_share", 0.0),
    ("market.passive_share", 1.0),
    ("rounds.outside_depth", 0.0),  # no outside investors in rounds
    ("labs[].outside_appetite", 0.0),
    ("labs[].revenue_growth", 0.0),
    ("labs[].revenue_growth", 5.0),
    ("run.years", 50.0),
    ("market.active_funds", 0),
    ("savers.accounts", 1),
    ("savers.mortality_at_65", 0.0),
    ("economy.sentiment", -0.9),
    ("giants[].borrowing_spread", 0.5),
]


@pytest.mark.parametrize(("field", "value"), PLAUSIBLE, ids=[f"{f}={v}" for f, v in PLAUSIBLE])
def test_plausible_edges_run_five_years_with_the_books_checked_every_week(field, value):
    outcome = edge_scan.run_case(field, value, years=5.0)
    assert outcome == "ok (260 weeks)", outcome


def test_market_driven_sentiment_with_the_longest_look_back_runs():
    """The 52-week look-back matters only when sentiment comes from the market's returns."""
    raw = edge_scan.scenario_with("market.sentiment_weeks", 52)
    raw["economy"]["sentiment_source"] = "market"
    assert edge_scan.run_raw(raw, years=5.0) == "ok (260 weeks)"


EDGES = edge_scan.cases()


def _id(case) -> str:
    field, value = case
    return f"{field}={value.isoformat() if isinstance(value, dt.date) else value}"


@pytest.mark.parametrize("case", EDGES, ids=[_id(c) for c in EDGES])
def test_every_field_at_each_end_of_its_range_runs_or_stops_with_one_line(case):
    outcome = edge_scan.run_case(*case, years=0.5)
    assert outcome.startswith(("ok", "DomainError", "refused")), outcome
    assert "\n" not in outcome
    # Refused only by a relation with another field (the loader's check), never by its own range.
    assert not (outcome.startswith("refused") and f"'{case[0]}' must be in" in outcome), outcome
