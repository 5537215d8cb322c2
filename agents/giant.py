"""`TechGiant`: a listed tech giant with a core business, a cloud, stakes in AI labs and books.

Its cloud sells compute up to its capacity; capacity comes from capex that takes a lead
time to come online and wears out (design 3). Capex closes the gap between the capacity
its backlog will need and what it has and is building; it borrows when cash runs short.
Every dollar of cloud revenue is tagged by who really paid it (design 5.2): round-trip
(the lab paid with this giant's own credits or spend-back money), cross-funded (untied
investor money) or real (the lab's own customers, or other customers). The reporting
regime decides whether round-trip revenue counts as revenue or is netted out (to an equity
reserve, so the books still balance); it never changes a cash flow. Quarter-end
re-measurement of stakes and the statements live in `model.accounting`.
"""

from __future__ import annotations

import math
from collections import deque

import mesa

from economy.accounting import paper_wealth
from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME, LIABILITY
from economy.rounds import saturating

ORIGINS = ("roundtrip", "cross", "real")
DEBT_MATURITY_YEARS = 5.0  # average remaining maturity of investment-grade tech bonds


class TechGiant(mesa.Agent):
    """A tech giant; money in $B, capacity in $B of cloud revenue per year, steps are weeks."""

    def __init__(self, model, spec):
        super().__init__(model)
        self.name = spec.name
        self.spec = spec
        ledger = model.ledger
        n = self.name
        self.cash = ledger.open(n, "cash", ASSET, is_cash=True)
        self.ppe = ledger.open(n, "data_centres", ASSET)
        self.cip = ledger.open(n, "construction_in_progress", ASSET)
        self.debt = ledger.open(n, "debt", LIABILITY)
        self.deferred_tax = ledger.open(n, "deferred_tax", LIABILITY)
        self.paid_in = ledger.open(n, "paid_in", EQUITY)
        self.retained = ledger.open(n, "retained", EQUITY)
        self.netted = ledger.open(n, "netted_roundtrip_reserve", EQUITY)
        self.treasury = ledger.open(n, "treasury_stock", EQUITY)  # buybacks, retired at once
        self.core_revenue_account = ledger.open(n, "core_revenue", INCOME)
        self.cloud_revenue = {o: ledger.open(n, f"cloud_revenue:{o}", INCOME) for o in ORIGINS}
        self.mark_gains = ledger.open(n, "gains_on_stakes", INCOME)
        self.equity_income = ledger.open(n, "equity_method_income", INCOME)
        self.dilution_gains = ledger.open(n, "dilution_gains", INCOME)
        self.forfeit_income = ledger.open(n, "credits_forfeited", INCOME)
        self.core_costs = ledger.open(n, "core_costs", EXPENSE)
        self.cloud_costs = ledger.open(n, "cloud_costs", EXPENSE)
        self.depreciation = ledger.open(n, "depreciation", EXPENSE)
        self.interest = ledger.open(n, "interest", EXPENSE)
        self.impairments = ledger.open(n, "impairments", EXPENSE)
        self.tax_expense = ledger.open(n, "tax", EXPENSE)
        self.stake_accounts: dict[str, int] = {}
        self.credit_accounts: dict[str, int] = {}

        self.core_revenue_annual = spec.core_revenue
        self.other_cloud_annual = spec.cloud_other_revenue
        self.other_backlog = 0.0
        self.other_backlog_years = 0.0  # backlog per $ of yearly revenue, set from the scenario
        self.capacity = spec.capacity
        # Projects under construction: (step it comes online, capacity it adds, its cost).
        self.pipeline: deque[tuple[int, float, float]] = deque()
        self._building = 0.0  # capacity in the pipeline, kept as a running total
        self.holdings: dict[str, object] = {}  # lab name -> accounting.Holding
        self.capacity_used = 0.0
        self.ration = 1.0
        # Yearly cash earnings before interest and tax, the base lenders look at.
        self.ebitda_annual = spec.core_revenue * spec.core_margin + spec.cloud_other_revenue * (
            1.0 - spec.cloud_cash_cost
        )
        self.fcf_history: list[float] = []
        self._demand_cache: dict = {}
        # Reported net income of the eight quarters before the start, from trailing EPS and its
        # growth last year (what earnings-based investors extrapolate from on day one).
        year = spec.eps_ttm * spec.shares_outstanding
        before = year / (1.0 + spec.eps_growth_last_year)
        self.reported_income = [before / 4.0] * 4 + [year / 4.0] * 4
        self.operating_income_last = year / 4.0  # last quarter's net income without marks on stakes
        self.buyback_weekly = 0.0  # the last payout's buybacks, spread over a quarter
        self.quarter = self._new_quarter()

    # ------------------------------------------------------------------ state
    @staticmethod
    def _new_quarter() -> dict:
        q = {
            key: 0.0
            for key in (
                "core_revenue",
                "core_costs",
                "cloud_costs",
                "operating_cash_in",
                "operating_cash_out",
                "capex",
                "invested_cash",
                "invested_credits",
                "borrowed",
                "repaid",
                "payouts",
                "buybacks",
                "backlog_impairment",
                "interest_paid",
                "depreciation",
            )
        }
        q["revenue"] = {o: 0.0 for o in ORIGINS}
        q["revenue_by_lab"] = {}
        q["impairment_by_lab"] = {}
        return q

    def stake_account(self, lab: str) -> int:
        if lab not in self.stake_accounts:
            self.stake_accounts[lab] = self.model.ledger.open(self.name, f"stake:{lab}", ASSET)
        return self.stake_accounts[lab]

    def credit_account(self, lab: str) -> int:
        if lab not in self.credit_accounts:
            self.credit_accounts[lab] = self.model.ledger.open(self.name, f"credits_outstanding:{lab}", LIABILITY)
        return self.credit_accounts[lab]

    def cash_balance(self) -> float:
        return self.model.ledger.balances[self.cash]

    def lab_backlog(self) -> dict[str, float]:
        backlog = {}
        for lab in self.model.labs:
            value = lab.backlog_with(self.name)
            if value > 0.0:
                backlog[lab.name] = value
        return backlog

    def backlog(self) -> float:
        return sum(self.lab_backlog().values()) + self.other_backlog

    def net_cash(self) -> float:
        """Cash less debt and less the compute still owed for credits already given."""
        balances = self.model.ledger.balances
        owed = sum(-balances[a] for a in self.credit_accounts.values())
        return balances[self.cash] + balances[self.debt] - owed

    def untied_lab_spend(self) -> dict[str, float]:
        """Each lab's yearly spending here paid with money that is not this giant's own (recent rate)."""
        return {lab.name: lab.untied_spend[self.name] for lab in self.model.labs}

    def expected_quarter_income(self) -> float:
        """Analysts' estimate of this quarter's net income: last quarter's without marks, plus the
        after-tax gains that rounds held this quarter, or about to open, imply for fair-value
        stakes (a round in the making is news before it closes)."""
        return self.operating_income_last + self.expected_marks()

    def expected_marks(self) -> float:
        """After-tax gains on stakes this quarter's rounds (held or about to open) imply."""
        balances = self.model.ledger.balances
        pending = 0.0
        for lab_name, holding in self.holdings.items():
            lab = self.model.labs_by_name[lab_name]
            if holding.method == "fair_value":
                pending += holding.shares * lab.expected_price() - balances[self.stake_account(lab_name)]
            elif holding.method == "equity":
                pending += holding.pending_dilution
        return pending * (1.0 - self.spec.tax_rate)

    def buyback_order(self) -> float:
        """Dollars of its own shares to buy back this week: the planned pace, as cash allows."""
        spare = self.cash_balance() - self.spec.min_cash
        amount = max(0.0, min(self.buyback_weekly, spare))
        self.quarter["buybacks"] += amount
        return amount

    def pipeline_capacity(self) -> float:
        return self._building

    def start_building(self, online_week: int, capacity: float, cost: float) -> None:
        """A project under construction: it comes online at `online_week`."""
        self.pipeline.append((online_week, capacity, cost))
        self._building += capacity

    def capacity_for(self, wanted: float) -> float:
        """How much of `wanted` compute this week's capacity can deliver.

        When demand exceeds capacity every customer gets the same fraction (`self.ration`).
        """
        free = max(0.0, self.capacity / 52.0 - self.capacity_used)
        return min(wanted * self.ration, free)

    def lab_demand(self, week: int) -> float:
        """Compute the labs' contracts ask of this giant in a given week (cached until a contract
        changes: capex planning and rationing ask for the same weeks every step)."""
        labs = self.model.labs
        key = (self.model.week, week, tuple(lab.contract_version for lab in labs))
        cached = self._demand_cache.get(key)
        if cached is None:
            if len(self._demand_cache) > 16:
                self._demand_cache.clear()
            cached = self._demand_cache[key] = sum(
                c.due_at(week, self.model.week) for lab in labs for c in lab.contracts if c.giant == self.name
            )
        return cached

    def other_growth(self) -> float:
        """Other customers' cloud growth per year, decaying to the long-run rate."""
        economy = self.model.config.economy
        decay = 0.5 ** (self.model.week / 52.0 / economy.cloud_growth_halflife_years)
        return economy.cloud_growth_long_run + (self.spec.cloud_other_growth - economy.cloud_growth_long_run) * decay

    # ------------------------------------------------------- cloud sales (step 2)
    def _book_delivery(self, lab, amount: float, origin: str) -> None:
        self.capacity_used += amount
        q = self.quarter
        q["revenue"][origin] += amount
        q["revenue_by_lab"][lab.name] = q["revenue_by_lab"].get(lab.name, 0.0) + amount

    def _revenue_account(self, origin: str) -> int:
        """Round-trip revenue goes to an equity reserve when the regime nets it out (ASC 606)."""
        if origin == "roundtrip" and self.model.accounting.nets_roundtrip:
            return self.netted
        return self.cloud_revenue[origin]

    def sell_compute_for_credits(self, lab, amount: float) -> None:
        """The lab spends this giant's credits: revenue with no cash coming in."""
        ledger = self.model.ledger
        ledger.post(
            f"{lab.name} spends {self.name} credits",
            [
                (lab.compute_account, amount),
                (lab.credits[self.name], -amount),
                (self.credit_account(lab.name), amount),
                (self._revenue_account("roundtrip"), -amount),
            ],
        )
        self._book_delivery(lab, amount, "roundtrip")

    def sell_compute_for_cash(self, lab, pocket: int, amount: float, origin: str) -> None:
        if amount <= 0.0:
            return
        self.model.ledger.transfer(
            f"{lab.name} buys {self.name} compute ({origin})",
            lab.compute_account,
            pocket,
            self.cash,
            self._revenue_account(origin),
            amount,
        )
        self.quarter["operating_cash_in"] += amount
        self._book_delivery(lab, amount, origin)

    def pay_cloud_costs(self) -> None:
        """Power, staff and networks for the compute delivered this week."""
        cost = self.spec.cloud_cash_cost * self.capacity_used
        world = self.model.outside
        self.model.ledger.transfer(
            f"{self.name} cloud costs", self.cloud_costs, self.cash, world.cash, world.receipts, cost
        )
        self.quarter["cloud_costs"] += cost
        self.quarter["operating_cash_out"] += cost

    # ----------------------------------------------- outside customers (step 1)
    def earn_core_business(self) -> None:
        """Core revenue and its cash costs, paid by the Outside World."""
        spec = self.spec
        rng = self.model.rng
        noise = spec.core_volatility * math.sqrt(1.0 / 52.0) * rng.standard_normal()
        self.core_revenue_annual *= math.exp(math.log1p(spec.core_growth) / 52.0 + noise)
        revenue = self.core_revenue_annual / 52.0
        costs = revenue * (1.0 - spec.core_margin)
        ledger = self.model.ledger
        world = self.model.outside
        ledger.transfer(
            f"{self.name} core revenue", world.spending, world.cash, self.cash, self.core_revenue_account, revenue
        )
        ledger.transfer(f"{self.name} core costs", self.core_costs, self.cash, world.cash, world.receipts, costs)
        q = self.quarter
        q["core_revenue"] += revenue
        q["core_costs"] += costs
        q["operating_cash_in"] += revenue
        q["operating_cash_out"] += costs

    def serve_other_customers(self) -> None:
        """Cloud customers other than the labs: real revenue; their backlog grows with them."""
        self.capacity_used = 0.0
        self.other_cloud_annual *= (1.0 + self.other_growth()) ** (1.0 / 52.0)
        demand = self.other_cloud_annual / 52.0 + self.lab_demand(self.model.week)
        self.ration = min(1.0, self.capacity / 52.0 / demand) if demand > 0.0 else 1.0
        revenue = self.capacity_for(self.other_cloud_annual / 52.0)
        world = self.model.outside
        self.model.ledger.transfer(
            f"{self.name} cloud revenue (other customers)",
            world.spending,
            world.cash,
            self.cash,
            self.cloud_revenue["real"],
            revenue,
        )
        self.quarter["operating_cash_in"] += revenue
        self.capacity_used += revenue
        self.quarter["revenue"]["real"] += revenue
        # Other customers sign new business as fast as they consume it, growing with them.
        self.other_backlog = self.other_cloud_annual * self.other_backlog_years

    # ------------------------------------------------------------ step 3
    def step(self) -> None:
        """Design step 3 (round participation is asked for by the round itself)."""
        self.pay_cloud_costs()
        self.run_data_centres()
        self.invest_in_capacity()
        self.service_debt()

    def run_data_centres(self) -> None:
        """Depreciation, capacity wear, and projects coming online after their lead time."""
        ledger = self.model.ledger
        week = self.model.week
        book = ledger.balances[self.ppe]
        charge = book / (self.spec.depreciation_years * 52.0)
        ledger.post(f"{self.name} depreciation", [(self.depreciation, charge), (self.ppe, -charge)])
        self.quarter["depreciation"] += charge
        self.capacity *= 1.0 - self.model.config.economy.capacity_decay / 52.0
        while self.pipeline and self.pipeline[0][0] <= week:
            _, capacity, cost = self.pipeline.popleft()
            self._building -= capacity
            self.capacity += capacity
            ledger.post(f"{self.name} data centre online", [(self.ppe, cost), (self.cip, -cost)])

    def target_capacity(self) -> float:
        """Capacity needed when what is ordered today comes online (design 3: capex driven
        by backlog): the labs' contracted volume then, plus other customers grown till then."""
        economy = self.model.config.economy
        lead = self.spec.build_weeks
        other = self.other_cloud_annual * (1.0 + self.other_growth()) ** (lead / 52.0)
        labs = 52.0 * self.lab_demand(self.model.week + lead)
        return (1.0 + economy.capacity_headroom) * (other + labs)

    def planned_capex(self) -> tuple[float, float]:
        """(capacity, cost) of this week's capex: replace wear and close the gap to the target
        over the adjustment time, as far as spare cash and lenders allow (a debt/EBITDA cap)."""
        spec = self.spec
        economy = self.model.config.economy
        replacement = economy.capacity_decay / 52.0 * self.capacity
        gap = self.target_capacity() - self.capacity - self.pipeline_capacity()
        capacity = replacement + max(0.0, gap) / spec.capacity_adjust_weeks
        cost = capacity * spec.capex_cost
        if cost <= 0.0:
            return 0.0, 0.0
        debt = -self.model.ledger.balances[self.debt]
        room = self.cash_balance() - spec.min_cash + max(0.0, economy.max_debt_to_ebitda * self.ebitda_annual - debt)
        if cost > room:
            capacity *= max(0.0, room) / cost
            cost = max(0.0, room)
        return capacity, cost

    def invest_in_capacity(self) -> None:
        capacity, cost = self.planned_capex()
        if cost <= 0.0:
            return
        world = self.model.outside
        self.model.ledger.transfer(f"{self.name} capex", self.cip, self.cash, world.cash, world.receipts, cost)
        self.start_building(self.model.week + self.spec.build_weeks, capacity, cost)
        self.quarter["capex"] += cost

    def service_debt(self) -> None:
        """Weekly interest; borrow below the cash floor, repay well above it."""
        ledger = self.model.ledger
        world = self.model.outside
        debt = -ledger.balances[self.debt]
        rate = self.model.config.economy.interest_rate + self.spec.borrowing_spread
        interest = debt * rate / 52.0
        if interest > 0.0:
            ledger.transfer(f"{self.name} interest", self.interest, self.cash, world.cash, world.receipts, interest)
            self.quarter["interest_paid"] += interest
            self.quarter["operating_cash_out"] += interest
        cash = self.cash_balance()
        floor = self.spec.min_cash
        if cash < floor:
            # Below the floor a giant borrows even past its covenant: the cap binds on capex.
            self.borrow(floor - cash)
        elif cash > 2.0 * floor and debt > 0.0:
            # Bonds are repaid as they mature (about a fifth a year), not all at once.
            self.repay(min(debt / (DEBT_MATURITY_YEARS * 52.0), cash - 2.0 * floor))

    def borrow(self, amount: float) -> None:
        world = self.model.outside
        self.model.ledger.transfer(
            f"{self.name} borrows", world.bonds[self.name], world.cash, self.cash, self.debt, amount
        )
        self.quarter["borrowed"] += amount

    def repay(self, amount: float) -> None:
        world = self.model.outside
        self.model.ledger.transfer(
            f"{self.name} repays", self.debt, self.cash, world.cash, world.bonds[self.name], amount
        )
        self.quarter["repaid"] += amount

    # ------------------------------------------------------- funding rounds
    def commitment(self, lab, round_size: float) -> float:
        """Dollars this giant puts into the lab's round: its agreed share, leaning with sentiment."""
        partnership = self.model.partnerships.get((self.name, lab.name))
        economy = self.model.config.economy
        if partnership is None or partnership.round_share <= 0.0 or not economy.partner_money:
            return 0.0
        rounds = self.model.config.rounds
        lean = math.exp(
            rounds.partner_sentiment_elasticity
            * saturating(self.model.sentiment - economy.sentiment_reference, rounds.sentiment_scale)
        )
        wanted = partnership.round_share * round_size * lean
        credits_share, clause_share = self.model.investment_form(partnership)
        # Credits cost no cash today; the cash part is limited by what the giant can spare.
        spare = max(0.0, self.cash_balance() - self.spec.min_cash)
        cash_part = wanted * (1.0 - credits_share)
        if cash_part > spare:
            wanted = wanted * credits_share + spare
        return wanted

    def book_backlog_impairment(self, lab, value: float) -> None:
        self.quarter["backlog_impairment"] += value

    def forfeit_credits(self, lab, amount: float) -> None:
        """A failed lab's unspent credits lapse: the giant owes no more compute for them."""
        self.model.ledger.post(
            f"{lab.name} credits forfeited",
            [
                (self.credit_account(lab.name), amount),
                (self.forfeit_income, -amount),
                (lab.writeoff_account, amount),
                (lab.credits[self.name], -amount),
            ],
        )

    # ------------------------------------------------------------ quarter end
    def close_quarter(self) -> dict:
        """Re-measure stakes, pay cash taxes and payouts, close the books (design 4 step 7, 5.5)."""
        model = self.model
        ledger = model.ledger
        world = model.outside
        spec = self.spec
        q = self.quarter
        other = {"mark": 0.0, "equity_income": 0.0, "dilution": 0.0, "impairment": 0.0}
        gains_by_lab = {}
        for lab_name, holding in self.holdings.items():
            out = model.accounting.remeasure(ledger, self, holding, model.labs_by_name[lab_name])
            for key, value in out.items():
                other[key] += value
            gains_by_lab[lab_name] = out["mark"] + out["dilution"] + out["equity_income"] - out["impairment"]
        revenue = q["revenue"]
        # Cash taxes follow a regime-free taxable income, so the regime never moves cash.
        taxable = (
            q["core_revenue"]
            - q["core_costs"]
            + sum(revenue.values())
            - q["cloud_costs"]
            - q["depreciation"]
            - q["interest_paid"]
        )
        cash_tax = spec.tax_rate * max(0.0, taxable)
        pretax = ledger.result(self.name)
        tax = spec.tax_rate * pretax
        ledger.post(
            f"{self.name} income tax",
            [
                (self.tax_expense, tax),
                (self.cash, -cash_tax),
                (self.deferred_tax, cash_tax - tax),
                (world.cash, cash_tax),
                (world.receipts, -cash_tax),
            ],
        )
        operating_cash_flow = q["operating_cash_in"] - q["operating_cash_out"] - cash_tax
        fcf = operating_cash_flow - q["capex"]
        # Payouts as the filings split them: dividends now, buybacks spread over the next quarter.
        payout = spec.payout_share * max(0.0, fcf)
        dividend = payout * spec.dividend_share
        self.buyback_weekly = (payout - dividend) / 13.0
        market = model.market
        model.note_income(market.pay_dividend(market.index[self.name], self.retained, self.cash, dividend))
        net_income = ledger.close_into(self.name, self.retained)
        shares = float(market.shares[market.index[self.name]])
        self.fcf_history.append(fcf)
        self.ebitda_annual = 4.0 * (q["core_revenue"] - q["core_costs"] + sum(revenue.values()) - q["cloud_costs"])
        reported_cloud = (
            revenue["real"] + revenue["cross"] + (0.0 if model.accounting.nets_roundtrip else revenue["roundtrip"])
        )
        operating_income = q["core_revenue"] - q["core_costs"] + reported_cloud - q["cloud_costs"] - q["depreciation"]
        marks = other["mark"] + other["equity_income"] + other["dilution"] - other["impairment"]
        reported_roundtrip = 0.0 if model.accounting.nets_roundtrip else revenue["roundtrip"]
        # Real cash earnings: no round-trip revenue, no marks (what the fundamental value uses).
        real_earnings = (
            q["core_revenue"]
            - q["core_costs"]
            + revenue["real"]
            + revenue["cross"]
            - q["cloud_costs"]
            - q["depreciation"]
        ) * (1.0 - spec.tax_rate)
        lab_backlog = self.lab_backlog()
        backlog = sum(lab_backlog.values()) + self.other_backlog
        statement = {
            "giant": self.name,
            "core_revenue": q["core_revenue"],
            "cloud_revenue_real": revenue["real"],
            "cloud_revenue_cross": revenue["cross"],
            "cloud_revenue_roundtrip": revenue["roundtrip"],
            "cloud_revenue_reported": reported_cloud,
            "revenue_reported": q["core_revenue"] + reported_cloud,
            "operating_income": operating_income,
            "gains_on_stakes": other["mark"],
            "equity_method_income": other["equity_income"],
            "dilution_gains": other["dilution"],
            "impairments": other["impairment"],
            "interest": q["interest_paid"],
            "pretax_income": pretax,
            "tax": tax,
            "cash_tax": cash_tax,
            "net_income": net_income,
            "eps": net_income / shares,
            "shares_outstanding": shares,
            "profit_marks": marks * (1.0 - spec.tax_rate),
            "profit_roundtrip": reported_roundtrip * (1.0 - spec.tax_rate),
            "profit_real": net_income - (marks + reported_roundtrip) * (1.0 - spec.tax_rate),
            "real_earnings": real_earnings,
            "depreciation": q["depreciation"],
            "operating_cash_flow": operating_cash_flow,
            "capex": q["capex"],
            "free_cash_flow": fcf,
            "free_cash_flow_ttm": sum(self.fcf_history[-4:]),
            "invested_cash": q["invested_cash"],
            "invested_credits": q["invested_credits"],
            "payouts": payout,
            "dividends": dividend,
            "buybacks": q["buybacks"],
            "borrowed": q["borrowed"],
            "repaid": q["repaid"],
            "cash": self.cash_balance(),
            "debt": -ledger.balances[self.debt],
            "capacity": self.capacity,
            "backlog": backlog,
            "backlog_other": self.other_backlog,
            "backlog_impairment": q["backlog_impairment"],
            "paper_wealth": paper_wealth(ledger, self),
            "stakes_carrying": sum(ledger.balances[a] for a in self.stake_accounts.values()),
        }
        for lab in model.labs:
            statement[f"backlog_share_{lab.name}"] = lab_backlog.get(lab.name, 0.0) / backlog if backlog else 0.0
            statement[f"revenue_from_{lab.name}"] = q["revenue_by_lab"].get(lab.name, 0.0)
            statement[f"gain_on_{lab.name}"] = gains_by_lab.get(lab.name, 0.0)
            holding = self.holdings.get(lab.name)
            statement[f"credits_issued_to_{lab.name}"] = holding.credits_issued if holding else 0.0
        self.reported_income.append(net_income)
        del self.reported_income[:-8]
        self.operating_income_last = net_income - statement["profit_marks"]
        self.quarter = self._new_quarter()
        return statement
