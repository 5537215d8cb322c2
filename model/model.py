"""`CircularFinance`: the Mesa model that wires the economy together and runs it week by week.

It owns the ledger, the Outside World, the accounting regime, the agents, the market and what
the market believes (`model.beliefs`), and the data collector; `model.opening` opens the books
from the scenario; `step` runs one week as design section 4 lists it. Parameters are plain
keywords (each maps onto one scenario field, see `PARAMETERS`) plus `scenario=` (a name or a
TOML path) and `rng=`; when `rng` is not given the scenario's own seed is used, so a run is
reproducible by default. Mesa's own `self.scenario` attribute is left as Mesa sets it; the
project's validated scenario is `self.config`.
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from agents.funds import CASH, EARNINGS, TREND
from agents.giant import TechGiant
from agents.lab import RUNWAY_CAP_WEEKS, AILab
from agents.savers import OWNER as SAVERS
from economy.accounting import Accounting, Holding
from economy.ledger import REL_TOL, Ledger, LedgerError
from economy.market import Orders
from model import rounds as funding
from model import scenario as scenarios
from model.bubbles import find_episodes
from model.opening import open_economy, open_market, reference_tastes
from model.outside import OWNER, OutsideWorld

# Constructor keyword -> scenario field it overrides (None leaves the scenario's value).
PARAMETERS = {
    "regime": "economy.regime",
    "interest_rate": "economy.interest_rate",
    "spend_back": "economy.spend_back",
    "sentiment": "economy.sentiment",
    "contract_ratio": "rounds.contract_ratio",
    "outside_depth": "rounds.outside_depth",
    "years": "run.years",
}

WEEKS_PER_QUARTER = 13
SWITCH_EVENT = 0.2  # a rise this large in cash-based funds' share within a quarter is logged


def _same(what: str, a: float, b: float) -> None:
    if abs(a - b) > REL_TOL * max(1.0, abs(a), abs(b)):
        raise LedgerError(f"claim not two-sided: {what}: {a!r} vs {b!r}")


class CircularFinance(mesa.Model):
    """Circular AI financing between tech giants and AI labs, one step per week."""

    def __init__(
        self,
        scenario: str = "baseline",
        *,
        regime: str | None = None,
        interest_rate: float | None = None,
        spend_back: bool | None = None,
        sentiment: float | None = None,
        contract_ratio: float | None = None,
        outside_depth: float | None = None,
        years: float | None = None,
        overrides: dict | None = None,
        check_ledger: bool = False,
        keep_journal: bool = False,
        rng=None,
    ):
        given = {
            "regime": regime,
            "interest_rate": interest_rate,
            "spend_back": spend_back,
            "sentiment": sentiment,
            "contract_ratio": contract_ratio,
            "outside_depth": outside_depth,
            "years": years,
        }
        merged = dict(overrides or {})
        merged.update({PARAMETERS[k]: v for k, v in given.items() if v is not None})
        config = scenario if isinstance(scenario, scenarios.ScenarioConfig) else scenarios.load(scenario, merged)
        if isinstance(scenario, scenarios.ScenarioConfig) and merged:
            raise ValueError("pass overrides with a scenario name or path, not with a loaded ScenarioConfig")
        seed = config.seed if rng is None else rng
        tastes = reference_tastes(config, seed)  # before Mesa seeds this model from `seed`
        super().__init__(rng=seed)
        self.config = config
        self.scenario_name = config.name
        self.check_ledger = check_ledger
        self.week = 0
        self.ledger = Ledger(keep_journal=keep_journal)
        self.accounting = Accounting(config.economy.regime)
        self.outside = OutsideWorld(self.ledger, [g.name for g in config.giants], [lab.name for lab in config.labs])
        self.giants = [TechGiant(self, spec) for spec in config.giants]
        self.labs = [AILab(self, spec) for spec in config.labs]
        self.giants_by_name = {g.name: g for g in self.giants}
        self.labs_by_name = {lab.name: lab for lab in self.labs}
        self.partnerships = {(p.giant, p.lab): p for p in config.partnerships}
        self.pending_rounds: list[funding.Round] = []
        self.impulse = 0.0
        self.events: list[tuple[int, str]] = []
        self.round_log: list[dict] = []
        open_economy(self)
        open_market(self, tastes)  # sets market, beliefs, funds, savers and their accounts
        self.ledger.mark_opening()
        if self.check_ledger:
            self.check_books()
        self.net_flows: list[float] = []
        self.recent_flow = 0.0
        self.last_marks = 0.0
        self.cash_share_history = [self.strategy_share(CASH)]
        self.last_switch_event = -WEEKS_PER_QUARTER
        self.flows = dict.fromkeys(("contributions", "withdrawals", "to_index", "to_active"), 0.0)
        self.week_returns = np.zeros(len(self.market.names))
        self.datacollector = mesa.DataCollector(
            model_reporters={"date": "date", "week": "week", "sentiment": "sentiment"},
            tables={
                "weekly": list(self.weekly_row()),
                "giant_quarters": ["date", "quarter", *self._giant_statement_columns()],
                "lab_quarters": ["date", "quarter", *self._lab_statement_columns()],
            },
        )
        self.running = True

    # ------------------------------------------------------------------ time
    @property
    def date(self) -> dt.date:
        """Calendar date of the current step (the first step is the scenario's start date)."""
        return self.config.run.start + dt.timedelta(weeks=self.week)

    @property
    def sentiment(self) -> float:
        """The listed AI giants' recent return (annualised), as labs and their investors read it;
        with `sentiment_source = "fixed"` the scenario's value instead."""
        if self.config.economy.sentiment_source == "fixed":
            return self.config.economy.sentiment
        return self.beliefs.sentiment

    def quarter_label(self) -> str:
        quarter_index = self.week // WEEKS_PER_QUARTER
        start = self.config.run.start
        months = start.month - 1 + 3 * quarter_index
        return f"{start.year + months // 12}Q{(months % 12) // 3 + 1}"

    # ------------------------------------------------------------- partnerships
    def investment_form(self, partnership) -> tuple[float, float]:
        """(credits share, spend-back cash share) of a partner's investment; the rest is plain cash."""
        if not self.config.economy.spend_back:
            return 0.0, 0.0
        return partnership.credits_share, partnership.clause_share

    def holding(self, giant: str, lab: str) -> Holding:
        holdings = self.giants_by_name[giant].holdings
        if lab not in holdings:
            partnership = self.partnerships.get((giant, lab))
            declared = partnership.method if partnership else "fair_value"
            holdings[lab] = Holding(giant, lab, 0.0, self.accounting.method(declared), 0.0)
        return holdings[lab]

    def holdings_in(self, lab: str):
        for giant in self.giants:
            if lab in giant.holdings:
                yield giant.name, giant.holdings[lab]

    def log_event(self, text: str) -> None:
        """Something a reader may name as the cause of a bust (design 10.4)."""
        self.events.append((self.week, text))

    def open_round(self, lab: AILab, size: float) -> None:
        self.pending_rounds.append(funding.Round(lab, size))

    def note_income(self, received: np.ndarray) -> None:
        """Dividends the register's rows received: funds pass theirs on to their unit holders."""
        for row in np.flatnonzero(received).tolist():
            fund = self.fund_of_row.get(row)
            if fund is not None:
                fund.undistributed += float(received[row])

    # ------------------------------------------------------------------- step
    def step(self) -> None:
        """One week, in the order of design section 4."""
        self.ledger.step = self.market.week = self.week
        self.outside.step(self)  # 1. outside world: customers, the
        self.rest_of_market_step()  #    rest of the market's earnings and payouts
        self.agents_by_type[AILab].shuffle_do("step")  # 2. labs (may open rounds)
        for rnd in self.pending_rounds:  # 3. giants take part in rounds,
            for giant in self.giants:
                rnd.commitments[giant.name] = giant.commitment(rnd.lab, rnd.size)
            self.round_log.append(funding.settle(self, rnd))
        self.pending_rounds.clear()
        self.agents_by_type[TechGiant].do("step")  #    then build and borrow
        self.beliefs.revalue()  #    the week's news reaches valuations
        self.beliefs.step_noise()
        self.pay_interest_to_funds()  # 4. savers
        self.savers.step(self.beliefs.saver_lean(), self.config.economy.interest_rate, self.beliefs.drawdown())
        self.flows = self.savers.flows
        self._watch_flows()
        if self.impulse:  #    (an experiment's extra inflow)
            self.savers.extra_inflow(self.impulse)
            self.impulse = 0.0
        self.trade()  # 5-6. funds' orders, every stock clears
        self.datacollector.collect(self)
        self.datacollector.add_table_row("weekly", self.weekly_row())
        if (self.week + 1) % WEEKS_PER_QUARTER == 0:  # 7. quarter end
            self.close_quarter()
        if self.check_ledger:
            self.check_books()
        self.week += 1
        if self.week >= self.config.steps:
            self.running = False

    def rest_of_market_step(self) -> None:
        """The rest of the market earns on its exogenous path and pays dividends from outside."""
        beliefs = self.beliefs
        beliefs.step_rest_earnings()
        world = self.outside
        dividend = self.config.market.rest_dividend_payout * beliefs.rest_earnings / 52.0
        self.note_income(self.market.pay_dividend(beliefs.rest, world.spending, world.cash, dividend))

    def pay_interest_to_funds(self) -> None:
        """Cash in funds earns the rate, passed on to unit holders with the dividends."""
        rate = max(0.0, self.config.economy.interest_rate) / 52.0
        world = self.outside
        for fund in [*self.index_funds, *self.active_funds]:
            interest = max(0.0, fund.cash_balance()) * rate
            if interest > 0.0:
                self.ledger.transfer(
                    f"interest to {fund.name}", world.spending, world.cash, fund.cash, fund.interest, interest
                )
                fund.undistributed += interest

    def trade(self) -> None:
        """Design steps 5 and 6: funds review their strategies and place orders; every stock clears."""
        spec = self.config.market
        market = self.market
        beliefs = self.beliefs
        ledger = self.ledger
        if self.week > 0 and self.active_funds:
            for fund, draw in zip(self.active_funds, self.rng.random(len(self.active_funds)).tolist(), strict=True):
                fund.review_strategy(beliefs.fitness, beliefs.available, draw)
        weights = beliefs.strategy_weights()
        strategies = np.array([f.strategy for f in self.active_funds], dtype=int)
        rest_buyback = -spec.rest_net_issuance * float(market.caps()[beliefs.rest]) / 52.0
        orders = Orders(
            index_rows=[f.row for f in self.index_funds],
            index_flows=np.array([f.order() for f in self.index_funds]),
            active_rows=[f.row for f in self.active_funds],
            active_values=beliefs.values[strategies],
            active_noise=beliefs.strategy_noise[strategies],
            latent=beliefs.latent,
            tilt_bound=spec.tilt_bound,
            active_cash=np.array([ledger.balances[f.cash] for f in self.active_funds]),
            equity_share=spec.equity_share,
            kappa=beliefs.kappa,
            other_row=self.other_row,
            other_target=beliefs.other_target(),
            other_elasticity=beliefs.other_elasticity,
            issuer_dollars=np.array([g.buyback_order() for g in self.giants] + [rest_buyback]),
        )
        before = market.prices.copy()
        holdings, bought = market.clear(orders)
        market.settle(holdings, bought)
        self.week_returns = market.prices / before - 1.0
        beliefs.after_clearing(before, weights)
        self._watch_switching()

    def _watch_flows(self) -> None:
        net = self.flows["to_index"] + self.flows["to_active"]
        self.net_flows.append(net)
        recent = sum(self.net_flows[-13:]) / 13.0
        if recent < 0.0 <= self.recent_flow:
            self.log_event("savers' net flows turn negative")
        self.recent_flow = recent
        del self.net_flows[:-13]

    def _watch_switching(self) -> None:
        share = self.strategy_share(CASH)
        self.cash_share_history.append(share)
        del self.cash_share_history[: -WEEKS_PER_QUARTER - 1]
        before = self.cash_share_history[0]
        if share - before > SWITCH_EVENT and self.week - self.last_switch_event >= WEEKS_PER_QUARTER:
            self.log_event(f"active funds switch to cash-flow valuation ({before:.0%} to {share:.0%})")
            self.last_switch_event = self.week

    def close_quarter(self) -> None:
        label = self.quarter_label()
        stamp = {"date": self.date, "quarter": label}
        for lab in self.labs:
            self.datacollector.add_table_row("lab_quarters", {**stamp, **lab.close_quarter()}, ignore_missing=True)
        statements = [giant.close_quarter() for giant in self.giants]
        for statement in statements:
            self.datacollector.add_table_row("giant_quarters", {**stamp, **statement}, ignore_missing=True)
        marks = sum(statement["profit_marks"] for statement in statements)
        if marks < 0.0 <= self.last_marks:
            worst = min(statements, key=lambda st: st["profit_marks"])
            self.log_event(f"marks on lab stakes turn negative ({worst['giant']} {worst['profit_marks']:+.1f}B)")
        self.last_marks = marks
        for owner, retained in self._closing_accounts():
            self.ledger.close_into(owner, retained)

    def _closing_accounts(self):
        yield OWNER, self.outside.net_position
        yield SAVERS, self.savers.net_worth
        for fund in [*self.index_funds, *self.active_funds]:
            yield fund.name, fund.retained

    def run(self, steps: int | None = None) -> CircularFinance:
        for _ in range(self.config.steps if steps is None else steps):
            if not self.running:
                break
            self.step()
        return self

    # ------------------------------------------------------------- invariants
    def check_books(self) -> None:
        """Raise LedgerError unless the books hold (design 5.1): every owner balances, money is
        conserved, every claim has two equal sides, every share and lab share has a holder."""
        ledger = self.ledger
        ledger.check()
        balances = ledger.balances
        world = self.outside
        for giant in self.giants:
            _same(f"{giant.name} debt vs bonds held", -balances[giant.debt], balances[world.bonds[giant.name]])
            for lab in self.labs:
                owed = -balances[giant.credit_account(lab.name)] if lab.name in giant.credit_accounts else 0.0
                _same(f"{giant.name} credits owed to {lab.name}", owed, balances[lab.credits[giant.name]])
        for lab in self.labs:
            held = sum(h.shares for _, h in self.holdings_in(lab.name))
            if held > lab.shares * (1.0 + REL_TOL) or lab.shares <= 0.0:
                raise LedgerError(f"{lab.name}: giants hold {held} of {lab.shares} shares")
        savers = self.savers
        for fund in [*self.index_funds, *self.active_funds]:
            _same(
                f"savers' units of {fund.name} at cost",
                balances[savers.unit_accounts[fund.name]],
                -balances[fund.unit_capital],
            )
        self.market.check_register()
        savers.reconcile()

    # -------------------------------------------------------------- reporting
    def money(self) -> float:
        return self.ledger.money()

    def fund_assets(self, funds) -> np.ndarray:
        """Cash plus stocks at today's prices, per fund."""
        balances = self.ledger.balances
        market = self.market
        rows = [f.row for f in funds]
        return np.array([balances[f.cash] for f in funds]) + market.holdings[rows] @ market.prices

    def strategy_share(self, strategy: int, assets: np.ndarray | None = None) -> float:
        """Share of active funds' assets run on a strategy."""
        if not self.active_funds:
            return 0.0
        assets = self.fund_assets(self.active_funds) if assets is None else assets
        chosen = np.array([f.strategy == strategy for f in self.active_funds])
        total = assets.sum()
        return float(assets[chosen].sum() / total) if total > 0.0 else 0.0

    def passive_held(self) -> float:
        """Share of the market held by index funds."""
        market = self.market
        rows = [f.row for f in self.index_funds]
        return float((market.holdings[rows] @ market.prices).sum() / market.caps().sum())

    def weekly_row(self) -> dict:
        """The weekly series, one row; its keys are the columns (defined here and only here)."""
        balances = self.ledger.balances
        beliefs = self.beliefs
        market = self.market
        caps = market.caps()
        fundamental_caps = beliefs.fundamental * market.shares
        n = len(self.giants)
        basket, basket_fundamental = float(caps[:n].sum()), float(fundamental_caps[:n].sum())
        rest = beliefs.rest
        rest_pf = float(caps[rest] / fundamental_caps[rest])
        basket_pf = basket / basket_fundamental
        flows = self.flows
        weights_before = caps / (1.0 + self.week_returns)
        active_assets = self.fund_assets(self.active_funds) if self.active_funds else None
        row = {
            "date": self.date,
            "week": self.week,
            "sentiment": self.sentiment,
            "basket_price": basket,
            "basket_index": beliefs.basket_index[-1],
            "basket_fundamental": basket_fundamental,
            "basket_pf": basket_pf,
            "ai_premium": basket_pf / rest_pf,
            "basket_return": float(weights_before[:n] @ self.week_returns[:n] / weights_before[:n].sum()),
            "market_return": float(weights_before @ self.week_returns / weights_before.sum()),
            "market_cap": float(caps.sum()),
            "market_return_1y": beliefs.market_return(),
            "discount_rate": beliefs.discount_rate,
            "passive_held": self.passive_held(),
            "earnings_funds_share": self.strategy_share(EARNINGS, active_assets),
            "trend_funds_share": self.strategy_share(TREND, active_assets),
            "savers_equity_share": self.savers.equity_share(),
            "saver_lean": beliefs.saver_lean(),
            "saver_contributions": flows["contributions"],
            "saver_withdrawals": flows["withdrawals"],
            "flow_to_index": flows["to_index"],
            "flow_to_active": flows["to_active"],
            "retiree_share": self.savers.retiree_share(),
        }
        for j, name in enumerate(market.names):
            price, value = float(market.prices[j]), float(beliefs.fundamental[j])
            row[f"price_{name}"] = price
            row[f"fundamental_{name}"] = value
            row[f"pf_{name}"] = price / value
            row[f"shares_{name}"] = float(market.shares[j])
        for g in self.giants:
            row[f"{g.name}_cash"] = balances[g.cash]
            row[f"{g.name}_debt"] = -balances[g.debt]
            row[f"{g.name}_capacity"] = g.capacity
            row[f"{g.name}_backlog"] = g.backlog()
        for lab in self.labs:
            row[f"{lab.name}_revenue"] = lab.revenue_weekly * 52.0
            row[f"{lab.name}_valuation"] = lab.valuation()
            row[f"{lab.name}_liquid"] = lab.liquid()
            row[f"{lab.name}_runway_weeks"] = min(lab.runway_weeks(), RUNWAY_CAP_WEEKS)
            row[f"{lab.name}_contracted_weekly"] = lab.contracted_weekly()
            row[f"{lab.name}_distressed"] = lab.distressed
            row[f"{lab.name}_failed"] = lab.failed
        return row

    def _giant_statement_columns(self) -> list[str]:
        base = [
            "giant",
            "core_revenue",
            "cloud_revenue_real",
            "cloud_revenue_cross",
            "cloud_revenue_roundtrip",
            "cloud_revenue_reported",
            "revenue_reported",
            "operating_income",
            "gains_on_stakes",
            "equity_method_income",
            "dilution_gains",
            "impairments",
            "interest",
            "pretax_income",
            "tax",
            "cash_tax",
            "net_income",
            "eps",
            "shares_outstanding",
            "profit_marks",
            "profit_roundtrip",
            "profit_real",
            "real_earnings",
            "depreciation",
            "operating_cash_flow",
            "capex",
            "free_cash_flow",
            "free_cash_flow_ttm",
            "invested_cash",
            "invested_credits",
            "payouts",
            "dividends",
            "buybacks",
            "borrowed",
            "repaid",
            "cash",
            "debt",
            "capacity",
            "backlog",
            "backlog_other",
            "backlog_impairment",
            "paper_wealth",
            "stakes_carrying",
        ]
        for lab in self.config.labs:
            base += [
                f"backlog_share_{lab.name}",
                f"revenue_from_{lab.name}",
                f"gain_on_{lab.name}",
                f"credits_issued_to_{lab.name}",
            ]
        return base

    def _lab_statement_columns(self) -> list[str]:
        base = [
            "lab",
            "revenue",
            "compute_spend",
            "compute_shortfall",
            "opex",
            "net_income",
            "burn",
            "cash",
            "tied_cash",
            "credits",
            "runway_weeks",
            "valuation",
            "price_per_share",
            "shares",
            "raised",
            "rounds",
            "down_rounds",
            "contracts_cancelled",
            "backlog",
            "distressed",
            "failed",
        ]
        return base + [f"spend_{g.name}" for g in self.config.giants]

    def tables(self) -> dict:
        """The run's tidy tables: weekly series, quarterly statements and funding rounds."""
        import pandas as pd

        collector = self.datacollector
        weekly = collector.get_table_dataframe("weekly")
        bubble = self.config.bubble
        episodes = find_episodes(
            weekly["basket_index"].to_numpy(),
            weekly["basket_pf"].to_numpy(),
            start_date=self.config.run.start,
            boom_started=self.config.run.boom_started,
            theta=bubble.theta,
            confirm_weeks=bubble.confirm_weeks,
            drawdown=bubble.drawdown,
            events=self.events,
        )
        return {
            "weekly": weekly,
            "giant_quarters": collector.get_table_dataframe("giant_quarters"),
            "lab_quarters": collector.get_table_dataframe("lab_quarters"),
            "rounds": pd.DataFrame(self.round_log),
            "episodes": episodes,
            "events": pd.DataFrame(self.events, columns=["week", "event"]),
        }
