"""Funds and other holders: the institutions through which savers own the market, and the
foreign and direct holders who stand beside them (design 3, 6.2 and 6.4).

`IndexFund` holds every listed stock by market-cap weight and trades only when money flows in
or out. `ActiveFund` values each stock with its current strategy (design 6.4): earnings-based
(present value of reported EPS, extrapolating reported EPS growth), cash-based (the
fundamental: real, surviving cash flows) or trend-following (the price its recent trend would
reach). Its target weight in a stock is the stock's cap weight tilted toward value,

    w_j ∝ b_j exp(L tanh((κ log(V_j / P_j) + u_j) / L) + δ_j),   Σ_j w_j = e,

a log-linear form of the mean-variance tilt (Koijen and Yogo 2019): κ = 1 / (γ σ² T) is the
expected yearly return of closing a gap over T years, divided by risk aversion γ times
residual variance σ², so mispricing can persist and grow (limits to arbitrage) but is pulled
back once what feeds it stops. u is the strategy's demand noise, L the most a mandate lets a
fund tilt a stock's log weight either way (tracking-error limits), δ latent demand (the part
of the opening holdings that the strategies' valuations do not explain). A fund trades to its target
every week; persistence lives in the beliefs, not in the orders. Funds review their strategy
in turn, each about once a quarter, with a discrete-choice (logit) rule on each strategy's
recent return (Brock and Hommes 1998). `OtherHolders` (foreign and direct holders, the
Outside World's money) keep shares in proportion to fundamental value over price.
"""

from __future__ import annotations

import mesa
import numpy as np

from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME
from economy.market import tilt

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
        self.interest = ledger.open(name, "interest", INCOME)
        self.distributions = ledger.open(name, "distributions", EXPENSE)
        self.units = 0.0
        self.undistributed = 0.0  # dividends and interest received, passed on to unit holders weekly
        self.peak_units = 0.0  # the most units ever out: the scale rounding is judged against
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
        return dict(zip(market.names, market.holdings[self.row].tolist(), strict=True))


class IndexFund(Fund):
    """Holds the whole market by cap weight; buys net inflows at any price."""

    def order(self) -> float:
        """This week's net flow, invested at cap weights: all the cash savers brought (or, when
        negative, the cash they took out, raised by selling pro rata)."""
        return self.cash_balance()


class ActiveFund(Fund):
    def __init__(self, model, name: str, strategy: int):
        super().__init__(model, name)
        self.strategy = strategy

    @property
    def strategy_name(self) -> str:
        return STRATEGIES[self.strategy]

    def review_strategy(self, fitness: np.ndarray, available: np.ndarray, draw: float) -> None:
        """About once every `review_weeks` (when this week's uniform `draw` says so), pick a
        strategy by the logit rule on the strategies' track records."""
        spec = self.model.config.market
        if draw < 1.0 / spec.review_weeks:
            self.strategy = int(choose_strategies(self.model.rng, fitness, spec.switching_intensity, 1, available)[0])


class OtherHolders:
    """Foreign and direct holders: the Outside World's own slice of every stock (not a fund)."""

    def __init__(self, world):
        self.name = "OutsideWorld"
        self.cash = world.cash


def strategy_weights(
    values: np.ndarray,
    prices: np.ndarray,
    shares: np.ndarray,
    noise: np.ndarray,
    latent: np.ndarray,
    equity_share: float,
    kappa,
    bound: float,
) -> np.ndarray:
    """Target weights per strategy (rows) and stock (columns): w above, summing to `equity_share`.

    `values` are per share; `noise` each strategy's demand noise per stock; `latent` the latent
    demand per stock; the tilt is bounded by ±`bound` in log weight (`economy.market.tilt`).
    """
    log_tilt, _ = tilt(values, prices, noise, kappa, bound)
    raw = shares * prices * np.exp(log_tilt + latent)
    return equity_share * raw / raw.sum(axis=-1, keepdims=True)


def tilt_elasticity(risk_aversion: float, residual_volatility: float, gap_closing_years: float) -> float:
    """κ = 1 / (γ σ² T): a log gap of 1 closed over T years earns 1/T a year; the mean-variance
    weight on it is that over γ σ²."""
    return 1.0 / (risk_aversion * residual_volatility**2 * gap_closing_years)


def choose_strategies(
    rng: np.random.Generator, fitness: np.ndarray, intensity: float, n: int, available: np.ndarray
) -> np.ndarray:
    """Each reviewing fund draws a strategy with logit probabilities exp(β·U_s) / Σ exp(β·U)
    (Brock and Hommes 1998) among the `available` ones; fitness is each strategy's recent
    return, annualised."""
    scores = np.where(available, intensity * fitness, -np.inf)
    scores = scores - scores[available].max()
    cumulative = np.cumsum(np.exp(scores))
    return np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right").clip(0, len(fitness) - 1)
