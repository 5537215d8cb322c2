"""`CircularFinance`: the Mesa model that wires the economy together and runs it week by week.

It owns the ledger, the Outside World, the accounting regime, the agents and the data
collector, opens the books from the scenario, and runs one step as design section 4 lists
it. Parameters are plain keywords (each maps onto one scenario field, see `PARAMETERS`)
plus `scenario=` (a name or a TOML path) and `rng=`; when `rng` is not given the scenario's
own seed is used, so a run is reproducible by default. Mesa's own `self.scenario`
attribute is left as Mesa sets it; the project's validated scenario is `self.config`.
"""

from __future__ import annotations

import datetime as dt

import mesa

from agents.funds import EARNINGS, TREND
from agents.giant import TechGiant
from agents.lab import RUNWAY_CAP_WEEKS, AILab
from model import rounds as funding
from model import scenario as scenarios
from economy.accounting import Accounting, Holding
from model.bubbles import find_episodes
from economy.contracts import ComputeContract
from economy.ledger import REL_TOL, Ledger, LedgerError
from economy.market import REST
from agents.savers import OWNER as SAVERS
from model.investors import Investors
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


def _same(what: str, a: float, b: float) -> None:
    if abs(a - b) > REL_TOL * max(1.0, abs(a), abs(b)):
        raise LedgerError(f"claim not two-sided: {what}: {a!r} vs {b!r}")


class CircularFinance(mesa.Model):
    """Circular AI financing between tech giants and AI labs, one step per week."""

    def __init__(self, scenario: str = "baseline", *, regime: str | None = None,
                 interest_rate: float | None = None, spend_back: bool | None = None,
                 sentiment: float | None = None, contract_ratio: float | None = None,
                 outside_depth: float | None = None, years: float | None = None,
                 overrides: dict | None = None, check_ledger: bool = False,
                 keep_journal: bool = False, rng=None):
        given = {"regime": regime, "interest_rate": interest_rate, "spend_back": spend_back,
                 "sentiment": sentiment, "contract_ratio": contract_ratio,
                 "outside_depth": outside_depth, "years": years}
        merged = dict(overrides or {})
        merged.update({PARAMETERS[k]: v for k, v in given.items() if v is not None})
        config = scenario if isinstance(scenario, scenarios.ScenarioConfig) else scenarios.load(scenario, merged)
        if isinstance(scenario, scenarios.ScenarioConfig) and merged:
            raise ValueError("pass overrides with a scenario name or path, not with a loaded ScenarioConfig")
        super().__init__(rng=config.seed if rng is None else rng)
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
        self._open_books()
        self.investors = Investors(self)
        self.market = self.investors.market
        self.savers = self.investors.savers
        self.ledger.mark_opening()
        if self.check_ledger:
            self.check_books()
        self.datacollector = mesa.DataCollector(
            model_reporters={"date": "date", "week": "week", "sentiment": "sentiment"},
            tables={"weekly": self._weekly_columns(),
                    "giant_quarters": ["date", "quarter", *self._giant_statement_columns()],
                    "lab_quarters": ["date", "quarter", *self._lab_statement_columns()]})
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
        return self.investors.sentiment

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
        """Something a reader may name as the cause of a bust (design 10.5)."""
        self.events.append((self.week, text))

    def open_round(self, lab: AILab, size: float) -> None:
        self.pending_rounds.append(funding.Round(lab, size))

    # ------------------------------------------------------------ opening books
    def _open_books(self) -> None:
        """Opening balance sheets from the scenario; each owner's equity is the plug."""
        ledger = self.ledger
        world = self.outside
        config = self.config
        for giant, spec in zip(self.giants, config.giants):
            legs = [(giant.cash, spec.cash), (giant.debt, -spec.debt), (world.bonds[giant.name], spec.debt)]
            build_cost = spec.capacity_under_construction * spec.capex_cost
            if build_cost > 0.0:
                for week in range(spec.build_weeks):
                    giant.pipeline.append((week + 1, spec.capacity_under_construction / spec.build_weeks,
                                           build_cost / spec.build_weeks))
            legs += [(giant.ppe, spec.ppe), (giant.cip, build_cost)]
            other = next((o.backlog for o in config.other_backlog if o.giant == giant.name), 0.0)
            giant.other_backlog = other
            giant.other_backlog_years = other / spec.cloud_other_revenue if spec.cloud_other_revenue else 0.0
            giant.fcf_history = list(spec.fcf_prior_quarters)
            ledger.post(f"opening {giant.name}", legs + [
                (giant.paid_in, -(spec.cash + spec.ppe + build_cost - spec.debt)),
                (world.net_position, -spec.debt)])
        for lab, spec in zip(self.labs, config.labs):
            ledger.post(f"opening {lab.name}", [(lab.cash["investor"], spec.cash), (lab.paid_in, -spec.cash)])
            outside = 1.0 - sum(p.stake for p in config.partnerships if p.lab == lab.name)
            value = outside * spec.last_post_money
            ledger.post(f"opening outside holders of {lab.name}",
                        [(world.lab_equity[lab.name], value), (world.net_position, -value)])
        for p in config.partnerships:
            giant = self.giants_by_name[p.giant]
            lab = self.labs_by_name[p.lab]
            holding = self.holding(p.giant, p.lab)
            holding.shares = p.stake * lab.shares
            holding.cost_basis = p.cost_basis
            holding.credits_issued = p.credits_issued_to_date
            carrying = p.stake * lab.spec.last_post_money if holding.method == "fair_value" else p.cost_basis
            unspent = p.credits_unspent
            # With investment as plain cash (no spend-back), unspent credits were cash instead.
            owed, pocket = ((giant.credit_account(p.lab), lab.credits[p.giant]) if config.economy.spend_back
                            else (giant.cash, lab.cash["investor"]))
            ledger.post(f"opening {p.giant} stake in {p.lab}", [
                (giant.stake_account(p.lab), carrying), (owed, -unspent), (giant.paid_in, unspent - carrying),
                (pocket, unspent), (lab.paid_in, -unspent)])
        for c in config.contracts:
            lab = self.labs_by_name[c.lab]
            lab.contracts.append(ComputeContract.new(c.giant, c.lab, c.value, c.start_week, c.years))

    # ------------------------------------------------------------------- step
    def step(self) -> None:
        """One week, in the order of design section 4."""
        self.ledger.step = self.week
        self.outside.step(self)                            # 1. outside world
        self.investors.rest_of_market_step()
        self.agents_by_type[AILab].shuffle_do("step")      # 2. labs (may open rounds)
        for rnd in self.pending_rounds:                    # 3. giants take part in rounds,
            for giant in self.giants:
                rnd.commitments[giant.name] = giant.commitment(rnd.lab, rnd.size)
            self.round_log.append(funding.settle(self, rnd))
        self.pending_rounds.clear()
        self.agents_by_type[TechGiant].do("step")          #    then build and borrow
        self.investors.savers_step()                       # 4. savers
        if self.impulse:                                   #    (an experiment's extra inflow)
            self.savers.extra_inflow(self.impulse)
            self.impulse = 0.0
        self.investors.funds_and_market_step()             # 5-6. funds' orders, market clears
        self.datacollector.collect(self)
        self.datacollector.add_table_row("weekly", self._weekly_row())
        if (self.week + 1) % WEEKS_PER_QUARTER == 0:       # 7. quarter end
            self.close_quarter()
        if self.check_ledger:
            self.check_books()
        self.week += 1
        if self.week >= self.config.steps:
            self.running = False

    def close_quarter(self) -> None:
        label = self.quarter_label()
        stamp = {"date": self.date, "quarter": label}
        for lab in self.labs:
            self.datacollector.add_table_row("lab_quarters", {**stamp, **lab.close_quarter()}, ignore_missing=True)
        statements = [giant.close_quarter() for giant in self.giants]
        for statement in statements:
            self.datacollector.add_table_row("giant_quarters", {**stamp, **statement}, ignore_missing=True)
        self.investors.quarter_end(statements)
        for owner, retained in self._closing_accounts():
            self.ledger.close_into(owner, retained)

    def _closing_accounts(self):
        yield OWNER, self.outside.net_position
        yield SAVERS, self.savers.net_worth
        for fund in [*self.investors.index_funds, *self.investors.active_funds]:
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
        conserved, every claim has two equal sides and every lab share has a holder."""
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
        for fund in [*self.investors.index_funds, *self.investors.active_funds]:
            _same(f"savers' units of {fund.name} at cost", balances[savers.unit_accounts[fund.name]],
                  -balances[fund.unit_capital])
        self.investors.check()

    # -------------------------------------------------------------- reporting
    def money(self) -> float:
        return self.ledger.money()

    def _weekly_columns(self) -> list[str]:
        columns = ["date", "week", "sentiment", "basket_price", "basket_fundamental", "basket_pf", "market_cap",
                   "market_return_1y", "passive_held", "earnings_funds_share", "trend_funds_share", "saver_contributions",
                   "saver_withdrawals", "flow_to_index", "flow_to_active", "retiree_share"]
        for name in [g.name for g in self.config.giants] + [REST]:
            columns += [f"price_{name}", f"fundamental_{name}", f"pf_{name}"]
        for g in self.config.giants:
            columns += [f"{g.name}_{k}" for k in ("cash", "debt", "capacity", "backlog")]
        for lab in self.config.labs:
            columns += [f"{lab.name}_{k}" for k in ("revenue", "valuation", "liquid", "runway_weeks",
                                                    "contracted_weekly", "distressed", "failed")]
        return columns

    def _weekly_row(self) -> dict:
        balances = self.ledger.balances
        investors = self.investors
        market = investors.market
        caps = market.caps()
        fundamental_caps = investors.fundamental * market.shares
        n = len(self.giants)
        basket, basket_fundamental = float(caps[:n].sum()), float(fundamental_caps[:n].sum())
        flows = investors.flows
        row = {"date": self.date, "week": self.week, "sentiment": self.sentiment,
               "basket_price": basket, "basket_fundamental": basket_fundamental,
               "basket_pf": basket / basket_fundamental,
               "market_cap": float(caps.sum()),
               "market_return_1y": investors.market_history[-1] / investors.market_history[-53] - 1.0,
               "passive_held": investors.passive_held(),
               "earnings_funds_share": investors.strategy_share(EARNINGS),
               "trend_funds_share": investors.strategy_share(TREND),
               "saver_contributions": flows["contributions"], "saver_withdrawals": flows["withdrawals"],
               "flow_to_index": flows["to_index"], "flow_to_active": flows["to_active"],
               "retiree_share": investors.savers.retiree_share()}
        for j, name in enumerate(market.names):
            price, value = float(market.prices[j]), float(investors.fundamental[j])
            row[f"price_{name}"] = price
            row[f"fundamental_{name}"] = value
            row[f"pf_{name}"] = price / value
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
        base = ["giant", "core_revenue", "cloud_revenue_real", "cloud_revenue_cross", "cloud_revenue_roundtrip",
                "cloud_revenue_reported", "revenue_reported", "operating_income", "gains_on_stakes",
                "equity_method_income", "dilution_gains", "impairments", "interest", "pretax_income", "tax",
                "cash_tax", "net_income", "eps", "profit_marks", "profit_roundtrip", "profit_real", "real_earnings",
                "depreciation", "operating_cash_flow", "capex", "free_cash_flow",
                "free_cash_flow_ttm", "invested_cash", "invested_credits", "payouts", "borrowed", "repaid",
                "cash", "debt", "capacity", "backlog", "backlog_other", "backlog_impairment", "paper_wealth",
                "stakes_carrying"]
        for lab in self.config.labs:
            base += [f"backlog_share_{lab.name}", f"revenue_from_{lab.name}", f"gain_on_{lab.name}",
                     f"credits_issued_to_{lab.name}"]
        return base

    def _lab_statement_columns(self) -> list[str]:
        base = ["lab", "revenue", "compute_spend", "compute_shortfall", "opex", "net_income", "burn", "cash",
                "tied_cash", "credits", "runway_weeks", "valuation", "price_per_share", "shares", "raised",
                "rounds", "down_rounds", "contracts_cancelled", "backlog", "distressed", "failed"]
        return base + [f"spend_{g.name}" for g in self.config.giants]

    def tables(self) -> dict:
        """The run's tidy tables: weekly series, quarterly statements and funding rounds."""
        import pandas as pd
        collector = self.datacollector
        weekly = collector.get_table_dataframe("weekly")
        bubble = self.config.bubble
        episodes = find_episodes(weekly["basket_price"].to_numpy(), weekly["basket_pf"].to_numpy(),
                                 start_date=self.config.run.start, boom_started=self.config.run.boom_started,
                                 theta=bubble.theta, confirm_weeks=bubble.confirm_weeks,
                                 drawdown=bubble.drawdown, events=self.events)
        return {"weekly": weekly,
                "giant_quarters": collector.get_table_dataframe("giant_quarters"),
                "lab_quarters": collector.get_table_dataframe("lab_quarters"),
                "rounds": pd.DataFrame(self.round_log),
                "episodes": episodes,
                "events": pd.DataFrame(self.events, columns=["week", "event"])}
