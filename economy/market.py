"""The stock market (design 6): listed stocks, who holds them, and weekly price formation.

Listed are the giants and a rest-of-market stock. The share register is an array (holders x
stocks), so the sum of holdings of each stock always equals its shares outstanding (checked
each step). Issuers buy back and issue shares in the market; shares outstanding change only
through those trades.

Every week all stocks clear together (design 6.2): the price vector P solves total demand =
shares outstanding for every stock at once, with demands in the forms the design names:

- an index fund holds what it has and adds its net flow f at last week's cap weight w:
  h + f·w/P (price elasticity zero for the market as a whole);
- an active fund with wealth W(P) = cash + h·P holds the weight e·u_j/Σu, u_j = S_j·P_j·
  (V_j/P_j)^κ·exp(δ_j+u_j): each stock's cap weight tilted toward its valuation V (Koijen and
  Yogo 2019);
- foreign and direct holders (the Outside World) keep γ·P^(−η) shares, γ moving with the
  fundamental value and with latent demand;
- the issuer buys back B/P shares (B < 0: issues new ones).

The joint solve is Newton's method on log prices with the exact Jacobian, damped so that the
largest relative excess demand falls at every step; should it stall, Gauss-Seidel sweeps of a
bracketing root-finder per stock (Brent) finish the job. Both are bounded in steps. Clearing
the stocks jointly matters: one sweep stock by stock leaves the market out of equilibrium
and lets the rest of the adjustment leak into next week's returns (spurious momentum). Trades
settle through the ledger at the clearing prices: holdings are carried at cost, so a sale books
a realised gain or loss; an issuer's trades go straight to its equity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from economy.errors import DomainError
from economy.ledger import ASSET, INCOME, LedgerError

REST = "Rest"
PRICE_DOMAIN = (1e-6, 1e6)  # a price beyond these multiples of its opening value ends the run
SHARES_DOMAIN = 1e-6  # a stock whose shares outstanding fall below this share of the opening count ends the run
BRACKET_STEPS = 12  # outward doublings from a 5% step: up to a factor e^100 either way


def tilt(values, prices, noise, kappa, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """An active fund's log tilt toward value, L·tanh((κ log(V/P) + n)/L), and its derivative
    with respect to log P (how much of the price elasticity κ is left, 0 when saturated).

    Without a bound, a fund whose elasticity κ is small would let a noise shock n move the
    price by a factor e^(n/κ); a mandate keeps a stock's weight within e^(±L) of its
    benchmark weight, so neither valuations nor noise can take a fund all in or all out.
    """
    z = kappa * np.log(np.maximum(values, 1e-300) / prices) + noise
    with np.errstate(over="ignore"):  # a bound near 0: z / L overflows to ±inf, and tanh gives its limit ±1
        saturation = np.tanh(z / bound)
    return bound * saturation, kappa * (1.0 - saturation**2)


@dataclass
class Orders:
    """One week's demand, as `Market.clear` reads it (rows index the register)."""

    index_rows: list[int]
    index_flows: np.ndarray  # $ per index fund, invested at cap weights
    active_rows: list[int]
    active_values: np.ndarray  # funds x stocks: each fund's valuation per share
    active_noise: np.ndarray  # funds x stocks: each fund's demand noise (log weight)
    latent: np.ndarray  # latent demand per stock (log weight)
    active_cash: np.ndarray  # $ per active fund
    equity_share: float  # share of an active fund's wealth in stocks
    kappa: np.ndarray  # active funds' tilt elasticity, per stock (or per fund and stock)
    tilt_bound: float  # most a tilt can move a log weight, either way
    other_row: int
    other_target: np.ndarray  # shares other holders want at the opening prices
    other_elasticity: float
    issuer_dollars: np.ndarray  # $ per stock the issuer buys back (negative: issues)


class Market:
    """Prices, shares outstanding and the share register of the listed stocks."""

    def __init__(self, ledger, names: list[str], shares: np.ndarray, prices: np.ndarray):
        self.ledger = ledger
        self.names = names
        self.index = {name: j for j, name in enumerate(names)}
        self.shares = np.asarray(shares, dtype=float).copy()
        self.prices = np.asarray(prices, dtype=float).copy()
        self.opening_prices = self.prices.copy()
        self.opening_shares = self.shares.copy()
        self.holders: list = []  # objects with .name and .cash (a ledger account)
        self.holdings = np.zeros((0, len(names)))
        self.cost_accounts: list[list[int]] = []
        self.gain_accounts: list[int] = []
        self.dividend_accounts: list[int] = []
        self.issuers: list[tuple[int, int]] = []  # per stock: (cash account, equity account)
        self.week = 0

    # ---------------------------------------------------------------- holders
    def add_holder(self, holder, holdings: np.ndarray) -> int:
        """Register a holder with opening holdings (booked at today's prices, at cost)."""
        ledger = self.ledger
        row = len(self.holders)
        self.holders.append(holder)
        self.holdings = np.vstack([self.holdings, np.asarray(holdings, dtype=float)[None, :]])
        self.cost_accounts.append([ledger.open(holder.name, f"shares:{n}", ASSET) for n in self.names])
        self.gain_accounts.append(ledger.open(holder.name, "realised_gains", INCOME))
        self.dividend_accounts.append(ledger.open(holder.name, "dividends", INCOME))
        self._cost = np.array(self.cost_accounts, dtype=np.intp)
        self._cash = np.array([h.cash for h in self.holders], dtype=np.intp)
        self._gain = np.array(self.gain_accounts, dtype=np.intp)
        return row

    def opening_legs(self, row: int) -> list[tuple[int, float]]:
        """Ledger legs that book a holder's opening holdings at cost (today's prices)."""
        return [
            (account, float(h) * p)
            for account, h, p in zip(self.cost_accounts[row], self.holdings[row], self.prices, strict=True)
        ]

    def set_issuers(self, issuers: list[tuple[int, int]]) -> None:
        """Per stock, the issuer's cash account and the equity account its buybacks debit."""
        self.issuers = list(issuers)

    def caps(self) -> np.ndarray:
        return self.prices * self.shares

    def value_of(self, row: int) -> float:
        return float(self.holdings[row] @ self.prices)

    def check_register(self) -> None:
        totals = self.holdings.sum(axis=0)
        if not np.allclose(totals, self.shares, rtol=1e-12, atol=0.0):
            raise LedgerError(f"shares not conserved: held {totals} vs outstanding {self.shares}")
        if (self.holdings < -1e-12 * self.shares).any():
            raise LedgerError("a negative holding in the share register")

    # --------------------------------------------------------------- clearing
    def clear(self, orders: Orders) -> tuple[np.ndarray, np.ndarray]:
        """Clear every stock; return (new holdings, issuer shares bought). Prices are set in place."""
        demand = _Demand(self, orders)
        # Trial prices far out in a bracket search may overflow a demand to inf or 0/0: such trials
        # are rejected (a NaN never compares as an improvement) and the answer is checked finite.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            x = demand.solve(np.log(self.prices))
        if x is None or not np.all(np.isfinite(x)):
            raise DomainError(
                f"the market cannot clear at week {self.week}: no prices balance demand and supply "
                f"(the scenario's flows exceed what its holders can absorb)"
            )
        prices = np.exp(x)
        drift = prices / self.opening_prices
        if not (np.all(drift > PRICE_DOMAIN[0]) and np.all(drift < PRICE_DOMAIN[1])):
            j = int(np.argmax(np.abs(np.log(drift))))
            raise DomainError(
                f"{self.names[j]}'s price is {drift[j]:.1e} times its opening price at week "
                f"{self.week}: nobody is left to trade with at a sane price"
            )
        holdings = self.holdings.copy()
        active, index, other, issuer = demand.parts(prices)
        left = (self.shares - issuer) / self.opening_shares
        if np.any(left < SHARES_DOMAIN):
            j = int(np.argmin(left))
            raise DomainError(
                f"{self.names[j]}'s buybacks would leave {max(left[j], 0.0):.1e} of its opening shares at week "
                f"{self.week}: a company with next to no shares left is beyond what the model can represent"
            )
        holdings[orders.active_rows] = active
        holdings[orders.index_rows] = index
        holdings[orders.other_row] = other
        # What the solver leaves over (a few ulps) goes to the largest holder: shares are conserved.
        residual = self.shares - issuer - holdings.sum(axis=0)
        largest = np.argmax(holdings, axis=0)
        holdings[largest, np.arange(len(self.names))] += residual
        self.prices[:] = prices
        return holdings, issuer

    # ------------------------------------------------------------- settlement
    def settle(self, new_holdings: np.ndarray, issuer_shares: np.ndarray) -> None:
        """Trades at the clearing prices through the ledger, then shares retired or issued: one
        balanced entry for the week.

        Holders pay cash for shares at cost and book realised gains on sales (the cost of the
        shares sold is their share of the holding's cost); an issuer's buyback (or issue) moves
        its cash against its equity. What rounding leaves over (a few ulps) is booked on the
        largest trader of each stock, so not a cent is created or lost.
        """
        balances = self.ledger.balances
        delta = new_holdings - self.holdings
        values = delta * self.prices
        issuer_values = issuer_shares * self.prices
        largest = np.argmax(np.abs(values), axis=0)
        columns = np.arange(len(self.names))
        values[largest, columns] -= values.sum(axis=0) + issuer_values
        accounts, amounts = [], []
        buy = values > 0.0
        rows, cols = np.nonzero(buy)
        accounts += [self._cost[rows, cols], self._cash[rows]]
        amounts += [values[rows, cols], -values[rows, cols]]
        rows, cols = np.nonzero(values < 0.0)
        if rows.size:
            cost_accounts = self._cost[rows, cols]
            held = self.holdings[rows, cols]
            carried = np.array([balances[i] for i in cost_accounts.tolist()])
            sold = np.divide(-delta[rows, cols], held, out=np.zeros(rows.size), where=held > 0.0)
            cost = np.where(held > 0.0, carried * np.minimum(1.0, sold), 0.0)
            proceeds = -values[rows, cols]
            accounts += [self._cash[rows], cost_accounts, self._gain[rows]]
            amounts += [proceeds, -cost, cost - proceeds]
        issuing = np.flatnonzero(issuer_values)
        if issuing.size:
            cash = np.array([self.issuers[j][0] for j in issuing], dtype=np.intp)
            equity = np.array([self.issuers[j][1] for j in issuing], dtype=np.intp)
            accounts += [equity, cash]
            amounts += [issuer_values[issuing], -issuer_values[issuing]]
        self.ledger.post_arrays("trades", np.concatenate(accounts), np.concatenate(amounts))
        self.holdings = new_holdings
        self.shares = self.shares - issuer_shares

    def pay_dividend(self, j: int, payer_debit: int, payer_cash: int, amount: float) -> np.ndarray:
        """A dividend paid to every holder of stock j in proportion to its shares; returns what
        each row of the register received."""
        received = np.zeros(len(self.holders))
        if amount <= 0.0:
            return received
        legs = [(payer_debit, amount), (payer_cash, -amount)]
        rows = np.flatnonzero(self.holdings[:, j] > 0.0)
        parts = self.holdings[rows, j] * (amount / self.holdings[rows, j].sum())
        parts[int(np.argmax(parts))] += amount - math.fsum(parts)  # rounding to the largest holder
        for row, part in zip(rows.tolist(), parts.tolist(), strict=True):
            legs += [(self.holders[row].cash, part), (self.dividend_accounts[row], -part)]
        self.ledger.post(f"dividend on {self.names[j]}", legs)
        received[rows] = parts
        return received


class _Demand:
    """Every holder's demand for every stock as a function of the price vector, and the solve."""

    NEWTON_STEPS = 60
    SWEEPS = 200
    TOLERANCE = 1e-12  # largest excess demand, as a share of shares outstanding

    def __init__(self, market: Market, orders: Orders):
        self.market = market
        self.orders = orders
        held = market.holdings
        caps = market.caps()
        self.h_active = held[orders.active_rows]  # funds x stocks, before trading
        self.h_index = held[orders.index_rows]
        self.index_orders = orders.index_flows[:, None] * (caps / caps.sum())[None, :]  # $ per fund and stock
        self.kappa = np.asarray(orders.kappa, dtype=float)
        self.gamma = orders.other_target * market.prices**orders.other_elasticity
        self.supply = market.shares

    def _active(self, prices: np.ndarray):
        """Active funds' shares demanded, weights and the derivative of their log numerators."""
        o = self.orders
        log_tilt, slope = tilt(o.active_values, prices, o.active_noise, self.kappa, o.tilt_bound)
        u = self.supply * prices * np.exp(log_tilt + o.latent)
        share = u / u.sum(axis=1, keepdims=True)
        wealth = np.maximum(o.active_cash + self.h_active @ prices, 0.0)
        return o.equity_share * wealth[:, None] * share / prices, share, wealth, slope

    def parts(self, prices: np.ndarray):
        """(active, index, other, issuer) shares demanded at `prices`."""
        o = self.orders
        active = self._active(prices)[0]
        index = np.maximum(self.h_index + self.index_orders / prices, 0.0)
        other = self.gamma * prices**-o.other_elasticity
        issuer = o.issuer_dollars / prices
        return active, index, other, issuer

    def excess(self, x: np.ndarray) -> np.ndarray:
        return self._evaluate(x)[0]

    def _evaluate(self, x: np.ndarray):
        """Excess demand at log prices x (as a share of supply), and what its Jacobian needs."""
        o = self.orders
        prices = np.exp(x)
        active, share, wealth, slope = self._active(prices)
        index_orders = self.index_orders / prices
        index = np.maximum(self.h_index + index_orders, 0.0)
        other = self.gamma * prices**-o.other_elasticity
        issuer = o.issuer_dollars / prices
        f = (active.sum(axis=0) + index.sum(axis=0) + other + issuer - self.supply) / self.supply
        return f, (prices, active, share, wealth, slope, index_orders, other, issuer)

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        return self._jacobian(self._evaluate(x)[1])

    def _jacobian(self, state) -> np.ndarray:
        """d excess_j / d x_l, excess as a share of supply."""
        prices, active, share, wealth, slope, index_orders, other, issuer = state
        # d log u_kl / d x_l = 1 − slope_kl; d log D_kj / d x_l = h_kl P_l / W_k − share_kl (1 − slope_kl)
        # + δ_jl (1 − slope_kj − 1).
        a = self.h_active * prices / np.maximum(wealth, 1e-300)[:, None] - share * (1.0 - slope)
        jac = active.T @ a - np.diag((active * slope).sum(axis=0))
        buying = (self.h_index + index_orders) > 0.0
        diagonal = -(index_orders * buying).sum(axis=0) - self.orders.other_elasticity * other - issuer
        jac += np.diag(diagonal)
        return jac / self.supply[:, None]

    def solve(self, x0: np.ndarray) -> np.ndarray | None:
        x = x0.copy()
        f, state = self._evaluate(x)
        size = np.max(np.abs(f))
        for _ in range(self.NEWTON_STEPS):
            if size < self.TOLERANCE:
                return x
            try:
                step = np.linalg.solve(self._jacobian(state), -f)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)):
                break
            step *= min(1.0, 0.5 / max(np.max(np.abs(step)), 1e-300))  # at most a 65% move per iteration
            for _ in range(30):  # backtrack until it improves
                trial = x + step
                g, trial_state = self._evaluate(trial)
                if np.max(np.abs(g)) < size:
                    x, f, state, size = trial, g, trial_state, np.max(np.abs(g))
                    break
                step *= 0.5
            else:
                break
        return self._sweeps(x)

    def _sweeps(self, x: np.ndarray) -> np.ndarray | None:
        """Gauss-Seidel: clear one stock at a time, the others at their latest prices, until all clear."""
        x = x.copy()
        for _ in range(self.SWEEPS):
            for j in range(len(x)):

                def excess_j(value: float, j=j) -> float:
                    x[j] = value
                    return float(self.excess(x)[j])

                root = _solve(excess_j, float(x[j]))
                if root is None or not math.isfinite(root):
                    return None
                x[j] = root
            if np.max(np.abs(self.excess(x))) < self.TOLERANCE * 10.0:
                return x
        return x if np.max(np.abs(self.excess(x))) < 1e-9 else None


def _solve(excess, x0: float) -> float | None:
    """Root of a demand-minus-supply function of log price, bracketed outward from x0; None when
    no price within a factor of e^100 either way clears. A bounded number of steps always."""
    f0 = excess(x0)
    if f0 == 0.0:
        return x0
    step = 0.05
    for _ in range(BRACKET_STEPS):
        lo, hi = (x0, x0 + step) if f0 > 0.0 else (x0 - step, x0)
        if (excess(hi) <= 0.0) if f0 > 0.0 else (excess(lo) >= 0.0):
            try:
                return brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=200)
            except (ValueError, RuntimeError):  # a demand that overflowed inside the bracket
                return None
        step *= 2.0
    return None
