"""Funds: `IndexFund` and `ActiveFund`, the institutions through which savers own the market.

Both issue units to savers at net asset value and hold shares in the market's register.
An index fund holds every listed stock by market-cap weight and trades only when money
flows in or out (design 3, 6.1). An active fund values each stock with its current strategy
(design 6.3): earnings-based (a multiple on reported trailing EPS that extrapolates EPS
growth) or cash-based (discounted real free cash flow, no round-trip revenue, no marks);
or trend-following (the price a year on if the last quarter's trend goes on); its target
weight rises with its value over the price. Funds switch strategy by recent
performance with a discrete-choice (logit) rule (Brock and Hommes 1998), so the mix of
strategies moves with the boom and the bust.
"""

from __future__ import annotations


import mesa
import numpy as np

from economy.ledger import ASSET, EQUITY

EARNINGS, CASH, TREND = 0, 1, 2
STRATEGIES = ("earnings", "cash", "trend")


class Fund(mesa.Agent):
    """What index and active funds share: a cash account, units, a row in the register."""

    def __init__(self, model, name: str):
        super().__init__(model)
        self.name = name
        ledger = model.ledger
        self.cash = ledger.open(name, "cash", ASSET, is_cash=True)
        self.unit_capital = ledger.open(name, "unit_capital", EQUITY)
        self.retained = ledger.open(name, "retained", EQUITY)
        self.units = 0.0
        self.peak_units = 0.0   # the most units ever out: the scale rounding is judged against
        self.row = -1

    def cash_balance(self) -> float:
        return self.model.ledger.balances[self.cash]

    def assets(self) -> float:
        return self.cash_balance() + self.model.market.value_of(self.row)

    def nav(self) -> float:
        """Net asset value per unit."""
        return self.assets() / self.units if self.units > 0.0 else 1.0

    def holdings(self) -> dict[str, float]:
        market = self.model.market
        return dict(zip(market.names, market.holdings[self.row].tolist()))


class IndexFund(Fund):
    """Holds the whole market by cap weight; buys net inflows at any price."""


class ActiveFund(Fund):
    def __init__(self, model, name: str, strategy: int):
        super().__init__(model, name)
        self.strategy = strategy

    @property
    def strategy_name(self) -> str:
        return STRATEGIES[self.strategy]


def target_weights(values: np.ndarray, anchors: np.ndarray, prices: np.ndarray, opening_prices: np.ndarray,
                   base_weights: np.ndarray, equity_share: float, kappa: float) -> np.ndarray:
    """Target weight per stock: ē · x̄ · ((V/V₀)/(P/P₀))^κ, scaled so weights never exceed 1.

    Rows are strategies (or funds), columns stocks. At the opening values and prices the
    weights are the cap weights times the equity share, so opening holdings are a target.
    """
    ratio = (values / anchors) / (prices / opening_prices)
    weights = equity_share * base_weights * ratio ** kappa
    total = weights.sum(axis=-1, keepdims=True)
    return weights / np.maximum(total, 1.0)


def choose_strategies(rng: np.random.Generator, fitness: np.ndarray, intensity: float, n: int) -> np.ndarray:
    """Each fund draws a strategy with logit probabilities exp(β·U_s) / Σ exp(β·U) (Brock and
    Hommes 1998); fitness is each strategy's recent return, annualised."""
    scores = intensity * fitness
    scores = scores - scores.max()
    probabilities = np.exp(scores) / np.exp(scores).sum()
    return rng.choice(len(fitness), size=n, p=probabilities)
