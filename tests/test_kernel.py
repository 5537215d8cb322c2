"""The kernel's pure pieces, on hand-made inputs with known answers: present-value multiples
and the implied discount rate, bounded round pricing, the joint clearing of the market, the
stylized-facts statistics, and the layering rule (imports run runs -> model -> agents ->
economy, never back)."""

import ast
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from economy import rounds
from economy.ledger import ASSET, Ledger
from economy.market import Market, Orders
from economy.valuation import growth_multiple, implied_discount_rate, maintained_margin, trend_value
from model.stylized import autocorrelation, excess_kurtosis, stylized_facts, tail_index

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- valuation
def test_growth_multiple_at_steady_growth_is_gordon():
    # Growth already at its long-run rate: the value of $1 a year paid from next year is
    # (1 + g) / (k - g) (Gordon 1962), whatever the half-life.
    for k, g in ((0.08, 0.03), (0.12, 0.0), (0.06, 0.05)):
        assert float(growth_multiple(g, g, 3.0, k)) == pytest.approx((1 + g) / (k - g), rel=1e-12)


def test_growth_multiple_rises_with_growth_and_falls_with_the_rate_and_vectorises():
    values = growth_multiple(np.array([0.0, 0.1, 0.5]), 0.03, 3.0, 0.08)
    assert values[0] < values[1] < values[2]
    assert float(growth_multiple(0.3, 0.03, 3.0, 0.10)) < float(growth_multiple(0.3, 0.03, 3.0, 0.08))
    # Slower fading of excess growth is worth more.
    assert float(growth_multiple(0.3, 0.03, 6.0, 0.08)) > float(growth_multiple(0.3, 0.03, 1.0, 0.08))
    with pytest.raises(ValueError):
        growth_multiple(0.1, 0.03, 3.0, 0.02)


def test_implied_discount_rate_recovers_the_rate_that_priced_the_market():
    k = 0.0812
    pe = float(growth_multiple(0.05, 0.03, 3.0, k))
    assert implied_discount_rate(pe, 0.05, 0.03, 3.0) == pytest.approx(k, abs=1e-10)


def test_maintained_margin_and_trend_value():
    assert maintained_margin(0.35, 4.0, 0.1, 0.1) == pytest.approx(1 - 0.35 - 0.44)
    now, then = np.array([110.0, 90.0]), np.array([100.0, 100.0])
    value = trend_value(now, then, 52, 0.5)
    assert value[0] > now[0] and value[1] < now[1]


# ------------------------------------------------------------------------------ rounds
def test_round_multiple_is_bounded_for_any_sentiment_and_rate():
    kwargs = dict(sentiment_elasticity=2.5, sentiment_scale=0.5, rate_elasticity=8.0, floor=4.0, ceiling=80.0)
    for sentiment in (-100.0, -1.0, 0.0, 1.0, 1e6):
        for rate_gap in (-5.0, 0.0, 5.0):
            assert 4.0 <= rounds.round_multiple(22.0, sentiment, rate_gap, **kwargs) <= 80.0
    # Saturating: a sentiment of 1e6 adds no more than exp(2.5 x 0.5).
    assert rounds.round_multiple(22.0, 1e6, 0.0, **kwargs) == pytest.approx(22.0 * math.exp(1.25))


def test_down_round_search_is_bounded_and_exact_for_any_step():
    def appetite(m):
        return 100.0 * (20.0 / m) ** 2

    for step in (1e-12, 1e-6, 0.15, 0.999999):
        multiple = rounds.down_round_multiple(40.0, 0.0, 150.0, appetite, step=step, floor=4.0)
        assert 4.0 <= multiple <= 40.0
        if appetite(multiple) >= 150.0:
            # The highest price on the grid that fills: one step higher would not.
            assert multiple == 40.0 or appetite(multiple / (1.0 - step)) < 150.0
        else:
            # Unfilled only when no lower step is left above the floor (a step of 0.999999 has none).
            assert multiple * (1.0 - step) < 4.0
    # A round nobody fills ends at the floor's step; one filled at the asking price stays there.
    assert rounds.down_round_multiple(40.0, 0.0, 1e9, appetite, step=0.15, floor=4.0) >= 4.0
    assert rounds.down_round_multiple(40.0, 200.0, 150.0, appetite, step=0.15, floor=4.0) == 40.0
    # A step below float resolution (1 - step == 1) still finds the fill point, on a grid kept in logs.
    fine = rounds.down_round_multiple(40.0, 0.0, 150.0, appetite, step=1e-170, floor=4.0)
    assert 4.0 <= fine < 40.0 and appetite(fine) >= 150.0 and appetite(fine * (1.0 + 1e-9)) < 150.0
    # A step outside (0, 1) goes straight to the floor instead of looping.
    assert rounds.down_round_multiple(40.0, 0.0, 1e9, appetite, step=0.0, floor=4.0) == 4.0


# ------------------------------------------------------------------------------ market
def _toy_market():
    ledger = Ledger()
    market = Market(ledger, ["A", "B", "C"], np.array([1.0, 2.0, 4.0]), np.array([10.0, 5.0, 20.0]))

    def holder(name, holding):
        return market.add_holder(
            SimpleNamespace(name=name, cash=ledger.open(name, "cash", ASSET, is_cash=True)), holding
        )

    active = [holder("fund1", np.array([0.3, 0.5, 1.0])), holder("fund2", np.array([0.2, 0.5, 1.0]))]
    index = holder("index", np.array([0.3, 0.6, 1.2]))
    other = holder("other", np.array([0.2, 0.4, 0.8]))
    market.set_issuers(
        [(ledger.open(n, "cash", ASSET, is_cash=True), ledger.open(n, "treasury", "equity")) for n in "ABC"]
    )
    return market, active, index, other


def _orders(market, active, index, other, values, noise=0.0):
    return Orders(
        index_rows=[index],
        index_flows=np.array([3.0]),
        active_rows=active,
        active_values=values,
        active_noise=np.full(values.shape, noise),
        latent=np.array([0.1, 0.0, -0.1]),
        active_cash=np.array([1.0, 2.0]),
        equity_share=0.95,
        kappa=np.full(3, 1.0),
        tilt_bound=1.1,
        other_row=other,
        other_target=np.array([0.2, 0.4, 0.8]),
        other_elasticity=1.0,
        issuer_dollars=np.array([0.5, 0.0, -1.0]),
    )


def test_the_clearing_jacobian_is_exact():
    from economy.market import _Demand

    market, active, index, other = _toy_market()
    values = np.array([[14.0, 5.0, 18.0], [9.0, 6.0, 22.0]])
    demand = _Demand(market, _orders(market, active, index, other, values, noise=0.3))
    x = np.log(market.prices) + np.array([0.1, -0.2, 0.05])
    numeric = np.empty((3, 3))
    for j in range(3):
        step = np.zeros(3)
        step[j] = 1e-6
        numeric[:, j] = (demand.excess(x + step) - demand.excess(x - step)) / 2e-6
    assert np.allclose(demand.jacobian(x), numeric, rtol=1e-5, atol=1e-8)


def test_a_bounded_tilt_keeps_noise_from_taking_a_price_anywhere():
    market, active, index, other = _toy_market()
    values = np.array([[14.0, 5.0, 18.0], [9.0, 6.0, 22.0]])
    market.clear(_orders(market, active, index, other, values, noise=50.0))  # absurd noise: saturated tilt
    assert np.all(np.abs(np.log(market.prices / np.array([10.0, 5.0, 20.0]))) < 3.0)


def test_clearing_solves_every_stock_jointly_and_conserves_shares():
    market, active, index, other = _toy_market()
    values = np.array([[14.0, 5.0, 18.0], [9.0, 6.0, 22.0]])  # the funds' valuations
    orders = _orders(market, active, index, other, values)
    holdings, bought = market.clear(orders)
    prices = market.prices
    assert np.allclose(holdings.sum(axis=0) + bought, market.shares, rtol=1e-12)
    # Each active fund holds e x its wealth (before trading, at the new prices) in stocks, as
    # weights on cap weights tilted by value over price: it spends what it has.
    for k, row in enumerate(active):
        wealth = [1.0, 2.0][k] + market.holdings[row] @ prices
        assert holdings[row] @ prices == pytest.approx(0.95 * wealth, rel=1e-9)
    # The issuer of C sold new shares for its dollar, A's bought back half a dollar's worth.
    assert bought[0] * prices[0] == pytest.approx(0.5) and bought[2] * prices[2] == pytest.approx(-1.0)
    market.settle(holdings, bought)
    market.check_register()
    market.ledger.check()


# --------------------------------------------------------------------------- stylized
def test_stylized_statistics_on_series_with_known_answers():
    rng = np.random.default_rng(0)
    n = 200_000
    e = rng.standard_normal(n)
    ar = np.empty(n)
    ar[0] = 0.0
    for t in range(1, n):
        ar[t] = 0.5 * ar[t - 1] + e[t]
    assert autocorrelation(ar, 1) == pytest.approx(0.5, abs=0.01)
    assert autocorrelation(e, 1) == pytest.approx(0.0, abs=0.01)
    assert excess_kurtosis(e) == pytest.approx(0.0, abs=0.05)
    assert excess_kurtosis(rng.laplace(size=n)) == pytest.approx(3.0, abs=0.2)
    assert tail_index(rng.standard_t(3, size=n)) == pytest.approx(3.0, abs=0.4)
    facts = stylized_facts(e / 52**0.5 * 0.2)
    assert facts["volatility"] == pytest.approx(0.2, rel=0.01)


# ---------------------------------------------------------------------------- layering
LAYERS = {"economy": 0, "agents": 1, "model": 2, "runs": 3}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_imports_run_one_way_runs_model_agents_economy(package):
    for path in (ROOT / package).rglob("*.py"):
        above = {name for name in _imports(path) if name in LAYERS and LAYERS[name] > LAYERS[package]}
        assert not above, f"{path.relative_to(ROOT)} imports {sorted(above)} from above its layer"
