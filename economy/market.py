"""The stock market (design 6): listed stocks, who holds them, and weekly price formation.

Listed are the four giants and a rest-of-market stock whose earnings follow an exogenous
path. Holders are the index funds, the active funds and, standing for foreign and direct
holders, the Outside World. The share register is an array (holders × stocks) so that the
sum of holdings of each stock always equals its shares outstanding (checked each step).

Every stock clears every step (design 6.1): its price P solves total demand = shares
outstanding, with demands in the forms the design names:
- an index fund holds what it has and adds its net flow f at the cap weight w of last
  week: h + f·w/P (price elasticity zero for the market as a whole);
- an active fund moves a share λ of the way to its target: wealth W(P) times the weight
  ē·x̄·((V/V₀)/(P/P₀))^κ over the price, its valuation V relative to the start anchoring
  the weight so that the opening holdings are an equilibrium (Koijen and Yogo 2019 style);
- other holders keep o·(P_ref/P)^η shares, P_ref moving with the fundamental value.
Written in x = log P the demand is a sum of exponentials in x, so the root is found with a
bracketing solver (Brent) per stock, other prices held at their latest values. Trades then
settle through the ledger at the clearing price: holdings are carried at cost, so a sale
books a realised gain or loss.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from economy.errors import DomainError
from economy.ledger import ASSET, INCOME, LedgerError

REST = "Rest"
PRICE_DOMAIN = (1e-6, 1e6)  # a price beyond these multiples of its opening value ends the run


class Market:
    """Prices, shares outstanding and the share register of the listed stocks."""

    def __init__(self, model, names: list[str], shares: np.ndarray, prices: np.ndarray):
        self.model = model
        self.names = names
        self.index = {name: j for j, name in enumerate(names)}
        self.shares = np.asarray(shares, dtype=float)
        self.prices = np.asarray(prices, dtype=float)
        self.opening_prices = self.prices.copy()
        self.holders: list = []            # objects with .name, .cash (ledger account)
        self.holdings = np.zeros((0, len(names)))
        self.cost_accounts: list[list[int]] = []
        self.gain_accounts: list[int] = []
        self.dividend_accounts: list[int] = []
        self.cap_history: list[np.ndarray] = []

    # ---------------------------------------------------------------- holders
    def add_holder(self, holder, holdings: np.ndarray) -> int:
        """Register a holder with opening holdings (bought at today's prices, at cost)."""
        ledger = self.model.ledger
        row = len(self.holders)
        self.holders.append(holder)
        self.holdings = np.vstack([self.holdings, np.asarray(holdings, dtype=float)[None, :]])
        self.cost_accounts.append([ledger.open(holder.name, f"shares:{n}", ASSET) for n in self.names])
        self.gain_accounts.append(ledger.open(holder.name, "realised_gains", INCOME))
        self.dividend_accounts.append(ledger.open(holder.name, "dividends", INCOME))
        return row

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
    def clear(self, index_rows: list[int], index_flows: np.ndarray, active_rows: list[int],
              active_weights: np.ndarray, active_cash: np.ndarray, speed: float, kappa: float,
              other_row: int, other_target: np.ndarray, other_elasticity: float) -> np.ndarray:
        """Clear every stock; return the new holdings matrix (prices are updated in place).

        active_weights[k, j] is fund k's target weight in stock j at today's prices; its
        target at price P is active_weights · (P_now / P)^κ.
        """
        holdings = self.holdings.copy()
        prices = self.prices
        weights = self.caps() / self.caps().sum()
        for j in range(len(self.names)):
            p_now = prices[j]
            h_active = holdings[active_rows, j]
            # Wealth of each active fund apart from stock j, at the latest prices.
            others = np.maximum(active_cash + holdings[active_rows] @ prices - h_active * p_now, 0.0)
            c = active_weights[:, j] * p_now ** kappa          # weight = c · P^-κ
            alpha = speed * float(others @ c)
            beta = speed * float(h_active @ c)
            sticky = (1.0 - speed) * float(h_active.sum())
            h_index = holdings[index_rows, j].tolist()
            gamma = other_target[j] * p_now ** other_elasticity  # other holders: γ · P^-η
            supply = self.shares[j]
            # Index funds' orders; if no price can absorb a sale, they sell half and keep trying
            # (the rest waits in the fund as cash owed: "cash in transit", design 3).
            executed = 1.0
            for _ in range(40):
                orders = [float(f) * weights[j] * executed for f in index_flows]

                def excess(x: float) -> float:
                    inverse_price = _exp(-x)
                    # An index fund cannot sell shares it does not have.
                    index = sum(max(0.0, h + order * inverse_price) for h, order in zip(h_index, orders))
                    return (alpha * _exp(-(kappa + 1.0) * x) + beta * _exp(-kappa * x) + index
                            + gamma * _exp(-other_elasticity * x) + sticky - supply)

                x = _solve(excess, math.log(p_now))
                if x is not None:
                    break
                executed *= 0.5
            else:
                raise LedgerError(f"market cannot clear {self.names[j]}: no price balances demand and supply")
            price = math.exp(x)
            drift = price / self.opening_prices[j]
            if not PRICE_DOMAIN[0] < drift < PRICE_DOMAIN[1]:
                raise DomainError(f"{self.names[j]}'s price is {drift:.1e} times its opening price at week "
                                  f"{self.model.week}: nobody is left to trade with at a sane price (the "
                                  f"scenario's flows exceed what a fixed supply of shares can absorb)")
            prices[j] = price
            target = active_weights[:, j] * (p_now / price) ** kappa
            wealth = others + h_active * price
            holdings[active_rows, j] = (1.0 - speed) * h_active + speed * wealth * target / price
            for row, h, order in zip(index_rows, h_index, orders):
                # What a fund cannot sell waits in it as cash owed ("cash in transit", design 3).
                holdings[row, j] = max(0.0, h + order / price)
            holdings[other_row, j] = other_target[j] * (p_now / price) ** other_elasticity
            # Rounding left by the solver goes to the largest holder, so shares are conserved.
            residual = supply - holdings[:, j].sum()
            holdings[int(np.argmax(holdings[:, j])), j] += residual
        return holdings

    # ------------------------------------------------------------- settlement
    def settle(self, new_holdings: np.ndarray) -> None:
        """Trades at the clearing prices through the ledger: cash against shares at cost.

        Shares bought equal shares sold, so the payments cancel; the rounding left over (a few
        ulps) is booked on the largest buyer, so not a cent is created or lost.
        """
        ledger = self.model.ledger
        balances = ledger.balances
        delta = new_holdings - self.holdings
        for j, name in enumerate(self.names):
            price = self.prices[j]
            rows = np.flatnonzero(delta[:, j] != 0.0)
            if rows.size == 0:
                continue
            values = delta[rows, j] * price
            buyers = values > 0.0
            if buyers.any() and (~buyers).any():
                largest = int(np.argmax(values))
                values[largest] -= math.fsum(values)
            legs = []
            for row, value in zip(rows.tolist(), values.tolist()):
                holder = self.holders[row]
                cost_account = self.cost_accounts[row][j]
                if value > 0.0:
                    legs += [(cost_account, value), (holder.cash, -value)]
                else:
                    held = self.holdings[row, j]
                    cost = balances[cost_account] * min(1.0, -delta[row, j] / held) if held > 0.0 else 0.0
                    legs += [(holder.cash, -value), (cost_account, -cost), (self.gain_accounts[row], value + cost)]
            ledger.post(f"trades in {name}", legs)
        self.holdings = new_holdings

    def pay_dividend(self, j: int, payer_debit: int, payer_cash: int, amount: float) -> None:
        """A dividend paid to every holder of stock j in proportion to its shares."""
        if amount <= 0.0:
            return
        legs = [(payer_debit, amount), (payer_cash, -amount)]
        rows = np.flatnonzero(self.holdings[:, j] > 0.0)
        parts = self.holdings[rows, j] * (amount / self.holdings[rows, j].sum())
        parts[int(np.argmax(parts))] += amount - math.fsum(parts)   # rounding to the largest holder
        for row, part in zip(rows.tolist(), parts.tolist()):
            legs += [(self.holders[row].cash, part), (self.dividend_accounts[row], -part)]
        self.model.ledger.post(f"dividend on {self.names[j]}", legs)


def _exp(x: float) -> float:
    return math.exp(min(x, 700.0))


def _solve(excess, x0: float) -> float | None:
    """Root of a demand-minus-supply function of log price, bracketed outward from x0;
    None when no price within a factor of e^40 either way clears."""
    f0 = excess(x0)
    if f0 == 0.0:
        return x0
    step = 0.05
    while step <= 40.0:
        lo, hi = (x0, x0 + step) if f0 > 0.0 else (x0 - step, x0)
        if (excess(hi) <= 0.0) if f0 > 0.0 else (excess(lo) >= 0.0):
            return brentq(excess, lo, hi, xtol=1e-13, rtol=1e-13)
        step *= 2.0
    return None
