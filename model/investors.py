"""The investing side of the economy: savers, funds, the market and what they believe.

`Investors` opens the market (the giants and a rest-of-market stock at their opening prices,
held by index funds, active funds and other holders), the funds and the savers, and runs
design steps 4 to 6 each week: savers contribute, withdraw and re-allocate; index funds turn
net flows into orders by cap weight and active funds set target weights from their
strategies' valuations; every stock clears. At each quarter end it reads the giants'
statements: reported EPS (what earnings-based funds value), real earnings and net
investment (what cash-based funds and the fundamental value use). It also keeps the
market-wide numbers others read: the sentiment the labs' rounds use (the AI basket's
recent return), the last year's market return savers extrapolate, and the drawdown that
makes some of them panic.
"""

from __future__ import annotations

import math

import numpy as np

from agents.funds import CASH, EARNINGS, TREND, ActiveFund, IndexFund, choose_strategies, target_weights
from agents.savers import RetirementAccount, SaverPool
from economy.market import REST, Market
from economy.valuation import (annualised_return, cash_value, earnings_multiple, earnings_value, eps_growth,
                             trend_value)

REST_PRICE = 100.0  # the rest-of-market stock's opening price; its share count follows from its cap
MIN_VALUE = 0.01    # $ per share: the least any valuation is worth


class OtherHolders:
    """Foreign and direct holders, as the Outside World: an elastic holder of every stock."""

    def __init__(self, world):
        self.name = "OutsideWorld"
        self.cash = world.cash


class Investors:
    def __init__(self, model):
        self.model = model
        config = model.config
        market_spec = config.market
        giants = model.giants
        names = [g.name for g in giants] + [REST]
        shares = np.array([g.spec.shares_outstanding for g in giants] + [market_spec.rest_market_cap / REST_PRICE])
        prices = np.array([g.spec.price for g in giants] + [REST_PRICE])
        self.market = Market(model, names, shares, prices)
        self.n_giants = len(giants)

        # What each stock earns, quarter by quarter; the opening year is flat at its run-rate.
        self.eps = [[g.spec.eps_ttm / 4.0] * 8 for g in giants] + [[market_spec.rest_earnings / shares[-1] / 4.0] * 8]
        self.real_earnings = [[self._opening_real_earnings(g) / 4.0] * 4 for g in giants] + [
            [market_spec.rest_earnings / 4.0] * 4]
        self.net_investment = [[self._opening_net_investment(g) / 4.0] * 4 for g in giants] + [[0.0] * 4]
        self.rest_earnings_annual = market_spec.rest_earnings
        self.multiples = np.array([
            earnings_multiple(g.spec.core_growth, market_spec.long_run_growth, market_spec.discount_rate,
                              market_spec.fade_years) for g in giants] + [
            earnings_multiple(market_spec.rest_growth, market_spec.long_run_growth, market_spec.discount_rate,
                              market_spec.fade_years)])
        self.base_pe = prices / (np.array([sum(e[-4:]) for e in self.eps]))
        # Price paths before the start, at last year's pace: the basket at the sentiment, the rest
        # of the market at its return, so trends and the signals below start where 2025 left them.
        paces = np.array([config.economy.sentiment] * len(giants) + [market_spec.market_return_last_year])
        self.price_history = [prices / (1.0 + paces) ** ((52 - w) / 52.0) for w in range(52)]
        self.values = self._values()                 # strategies x stocks, per share
        # Opening holdings are the fundamental and earnings investors' targets; trend followers
        # are anchored at no trend, so last year's run-up still pulls them in (momentum).
        self.anchors = self.values.copy()
        self.anchors[TREND] = prices
        self.fundamental = self._fundamental()        # per share
        self.opening_fundamental = self.fundamental.copy()
        self.fitness = np.zeros(3)

        # Holders: other holders keep their share; funds hold the rest, sized by the savers.
        caps = prices * shares
        self.cap_weights = caps / caps.sum()
        passive = market_spec.passive_share if market_spec.active_funds > 0 else 1.0
        other = market_spec.other_holders_share
        equity = market_spec.equity_share
        n_index, n_active = market_spec.index_funds, market_spec.active_funds
        self.index_funds = [IndexFund(model, f"IndexFund{i + 1}") for i in range(n_index)]
        draws = model.rng.random(n_active)
        strategies = np.where(draws < market_spec.earnings_share, EARNINGS,
                              np.where(draws < market_spec.earnings_share + market_spec.trend_share, TREND, CASH))
        self.active_funds = [ActiveFund(model, f"ActiveFund{k + 1}", int(s)) for k, s in enumerate(strategies)]
        # Savers' fund assets F: index assets pF and active funds' stocks ē(1-p)F own the funds' part.
        fund_assets = (1.0 - other) * float(caps.sum()) / (passive + equity * (1.0 - passive))
        sizes = model.rng.lognormal(0.0, 0.5, n_active)  # houses of different sizes, none dominant
        self.savers = SaverPool(model, config.savers, self.index_funds, self.active_funds, fund_assets,
                                sizes / sizes.sum())
        self.accounts = [RetirementAccount(model, row) for row in range(config.savers.accounts)]
        total = float(caps.sum())
        ledger = model.ledger
        for fund in [*self.index_funds, *self.active_funds]:
            invested = fund.units * (equity if isinstance(fund, ActiveFund) else 1.0)
            fund.row = self.market.add_holder(fund, shares * invested / total)
            legs = [(a, float(h) * p) for a, h, p in zip(self.market.cost_accounts[fund.row],
                                                          self.market.holdings[fund.row], prices)]
            ledger.post(f"opening {fund.name}", legs + [(fund.cash, fund.units - invested),
                                                         (fund.unit_capital, -fund.units)])
        self.other = OtherHolders(model.outside)
        self.other_row = self.market.add_holder(self.other, shares - self.market.holdings.sum(axis=0))
        world = model.outside
        legs = [(a, float(h) * p) for a, h, p in zip(self.market.cost_accounts[self.other_row],
                                                      self.market.holdings[self.other_row], prices)]
        ledger.post("opening other holders", legs + [(world.net_position, -sum(v for _, v in legs))])
        savers = self.savers
        legs = [(savers.cash_account, float(savers.cash.sum()))]
        legs += [(savers.unit_accounts[f.name], f.units) for f in [*self.index_funds, *self.active_funds]]
        legs.append((savers.net_worth, -sum(v for _, v in legs)))
        ledger.post("opening savers", legs)

        # Histories the market-wide signals are read from, seeded with the year before the start.
        basket0 = float(caps[:self.n_giants].sum())
        total0 = float(caps.sum())
        lookback = 52
        self.basket_history = [basket0 / (1.0 + config.economy.sentiment) ** ((lookback - w) / 52.0)
                               for w in range(lookback)]
        self.market_history = [total0 / (1.0 + market_spec.market_return_last_year) ** ((lookback - w) / 52.0)
                               for w in range(lookback)]
        self.sentiment = config.economy.sentiment
        self.flows = {"contributions": 0.0, "withdrawals": 0.0, "to_index": 0.0, "to_active": 0.0}
        self.net_flows: list[float] = []
        self.recent_flow = 0.0
        self.last_marks = 0.0

    # --------------------------------------------------------------- opening
    @staticmethod
    def _opening_real_earnings(giant) -> float:
        """A giant's yearly real cash earnings at the start, from its opening books: core profit
        plus cloud profit on real and lab revenue (before any round trip), after tax."""
        spec = giant.spec
        labs = 52.0 * giant.lab_demand(0)
        cloud = (spec.cloud_other_revenue + labs) * (1.0 - spec.cloud_cash_cost) - spec.ppe / spec.depreciation_years
        return (spec.core_revenue * spec.core_margin + cloud) * (1.0 - spec.tax_rate)

    @staticmethod
    def _opening_net_investment(giant) -> float:
        return 52.0 * giant.planned_capex()[1] - giant.spec.ppe / giant.spec.depreciation_years

    # ------------------------------------------------------------- valuations
    def _values(self) -> np.ndarray:
        spec = self.model.config.market
        eps_ttm = np.array([sum(e[-4:]) for e in self.eps])
        growth = np.array([eps_growth(e) for e in self.eps])
        real = np.array([sum(e[-4:]) for e in self.real_earnings])
        invest = np.array([sum(e[-4:]) for e in self.net_investment])
        values = np.empty((3, len(eps_ttm)))
        values[EARNINGS] = earnings_value(eps_ttm, growth, self.base_pe, spec.pe_growth_elasticity)
        values[CASH] = cash_value(real, invest, self.multiples, self.market.shares, spec.cash_value_floor)
        values[TREND] = self._trend_value()
        return values

    def _trend_value(self) -> np.ndarray:
        spec = self.model.config.market
        then = self.price_history[-1 - spec.trend_weeks]
        now = self.market.prices
        return trend_value(now, then, spec.trend_weeks, spec.trend_horizon)

    def _fundamental(self) -> np.ndarray:
        """Per share; limited liability keeps it above zero (a cent stands for next to nothing)."""
        real = np.array([sum(e[-4:]) for e in self.real_earnings])
        return np.maximum(self.multiples * real / self.market.shares, MIN_VALUE)

    def strategy_weights(self) -> np.ndarray:
        spec = self.model.config.market
        market = self.market
        return target_weights(self.values, self.anchors, market.prices, market.opening_prices,
                              self.cap_weights, spec.equity_share, spec.valuation_elasticity)

    # ------------------------------------------------------------------ step
    def savers_step(self) -> None:
        """Design step 4."""
        market_now = float(self.market.caps().sum())
        year_ago = self.market_history[-52]
        peak = max(self.market_history[-52:] + [market_now])
        self.savers.step(annualised_return(market_now, year_ago, 52), 1.0 - market_now / peak)
        self.flows = self.savers.flows
        net = self.flows["to_index"] + self.flows["to_active"]
        self.net_flows.append(net)
        recent = sum(self.net_flows[-13:]) / 13.0
        if recent < 0.0 <= self.recent_flow:
            self.model.log_event("savers' net flows turn negative")
        self.recent_flow = recent

    def rest_of_market_step(self) -> None:
        """The rest of the market earns on its exogenous path and pays dividends from outside."""
        spec = self.model.config.market
        noise = spec.rest_volatility * math.sqrt(1.0 / 52.0) * self.model.rng.standard_normal()
        self.rest_earnings_annual *= math.exp(math.log1p(spec.rest_growth) / 52.0 + noise)
        world = self.model.outside
        self.market.pay_dividend(len(self.market.names) - 1, world.spending, world.cash,
                                 spec.rest_payout * self.rest_earnings_annual / 52.0)

    def funds_and_market_step(self) -> None:
        """Design steps 5 and 6: orders from flows and target weights, then every stock clears."""
        model = self.model
        spec = model.config.market
        market = self.market
        self.values[TREND] = self._trend_value()
        weights = self.strategy_weights()
        before = market.prices.copy()
        if self.active_funds and model.week > 0 and model.week % spec.switch_every_weeks == 0:
            cash_before = self.strategy_share(CASH)
            for fund, strategy in zip(self.active_funds, choose_strategies(
                    model.rng, self.fitness, spec.switching_intensity, len(self.active_funds))):
                fund.strategy = int(strategy)
            cash_after = self.strategy_share(CASH)
            if cash_after - cash_before > 0.2:
                model.log_event(f"active funds switch to cash-flow valuation ({cash_before:.0%} to {cash_after:.0%})")
        ledger = model.ledger
        index_rows = [f.row for f in self.index_funds]
        index_flows = np.array([ledger.balances[f.cash] for f in self.index_funds])
        active_rows = [f.row for f in self.active_funds]
        active_weights = np.array([weights[f.strategy] for f in self.active_funds]).reshape(
            len(active_rows), len(market.names))
        active_cash = np.array([ledger.balances[f.cash] for f in self.active_funds])
        # Other holders' sense of value follows the fundamental, within a band around where it started.
        reference = market.opening_prices * np.clip(self.fundamental / self.opening_fundamental, 0.1, 10.0)
        eta = spec.other_holders_elasticity
        other_target = spec.other_holders_share * market.shares * (reference / market.prices) ** eta
        new = market.clear(index_rows, index_flows, active_rows, active_weights, active_cash,
                           spec.adjustment_speed, spec.valuation_elasticity, self.other_row, other_target, eta)
        market.settle(new)
        # Each strategy's fitness: the return its target portfolio earned this week (annualised).
        returns = market.prices / before - 1.0
        cash_return = model.config.economy.interest_rate / 52.0
        weekly = weights @ returns + (1.0 - weights.sum(axis=1)) * cash_return
        memory = 1.0 / spec.fitness_memory_weeks
        self.fitness = (1.0 - memory) * self.fitness + memory * 52.0 * weekly
        caps = market.caps()
        self.price_history.append(market.prices.copy())
        del self.price_history[:-60]
        self.basket_history.append(float(caps[:self.n_giants].sum()))
        self.market_history.append(float(caps.sum()))
        if model.config.economy.sentiment_source == "market":
            weeks = spec.sentiment_weeks
            self.sentiment = annualised_return(self.basket_history[-1], self.basket_history[-1 - weeks], weeks)

    def quarter_end(self, statements: list[dict]) -> None:
        """Read the giants' statements and the rest of the market's earnings; revalue."""
        marks = sum(statement["profit_marks"] for statement in statements)
        if marks < 0.0 <= self.last_marks:
            worst = min(statements, key=lambda st: st["profit_marks"])
            self.model.log_event(f"marks on lab stakes turn negative ({worst['giant']} {worst['profit_marks']:+.1f}B)")
        self.last_marks = marks
        for j, statement in enumerate(statements):
            self.eps[j].append(statement["eps"])
            self.real_earnings[j].append(statement["real_earnings"])
            self.net_investment[j].append(statement["capex"] - statement["depreciation"])
        rest = len(self.market.names) - 1
        self.eps[rest].append(self.rest_earnings_annual / 4.0 / self.market.shares[rest])
        self.real_earnings[rest].append(self.rest_earnings_annual / 4.0)
        self.net_investment[rest].append(0.0)
        for history in (*self.eps, *self.real_earnings, *self.net_investment):
            del history[:-8]
        self.values = self._values()
        self.fundamental = self._fundamental()

    # --------------------------------------------------------------- reports
    def strategy_share(self, strategy: int) -> float:
        """Share of active funds' assets run on a strategy."""
        if not self.active_funds:
            return 0.0
        _, navs = self.savers.navs()
        assets = navs * np.array([f.units for f in self.active_funds])
        chosen = np.array([f.strategy == strategy for f in self.active_funds])
        total = assets.sum()
        return float(assets[chosen].sum() / total) if total > 0.0 else 0.0

    def passive_held(self) -> float:
        """Share of the market held by index funds."""
        market = self.market
        caps = market.caps()
        index = sum(market.holdings[f.row] @ market.prices for f in self.index_funds)
        return float(index / caps.sum())

    def check(self) -> None:
        self.market.check_register()
        self.savers.reconcile()
