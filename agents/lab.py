"""`AILab`: an AI lab that sells to real customers, burns cash on compute, and raises money.

Each week a lab earns real revenue, buys the compute its contracts ask for (credits first,
then cash its investors tied to that giant, then its free cash), pays its other operating
costs, and checks its runway. When the runway is short it opens a funding round (design
5.3; the round itself is settled in `model.rounds`). Its money is kept in separate cash
accounts by origin (own customers, untied investor money, each giant's spend-back money)
and its credits by issuing giant, so every dollar a giant earns from it can be tagged
round-trip, cross-funded or real (design 5.2). A lab in distress has cut its compute to what
it can pay and cancelled contract volume; a failed lab has no equity value left.
"""

from __future__ import annotations

import math

import mesa

from economy import rounds as pricing
from economy.contracts import ComputeContract
from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME

REAL, INVESTOR = "real", "investor"
RUNWAY_CAP_WEEKS = 10_000.0  # reported runway of a lab that burns nothing ("forever")
UNTIED_MEMORY_WEEKS = 13.0  # smoothing of the untied-spending rate the fundamental reads


class AILab(mesa.Agent):
    """An AI lab; its numbers are in $B and $B per year, its steps are weeks."""

    def __init__(self, model, spec):
        super().__init__(model)
        self.name = spec.name
        self.spec = spec
        ledger = model.ledger
        owner = self.name
        self.cash = {
            REAL: ledger.open(owner, "cash:real", ASSET, is_cash=True),
            INVESTOR: ledger.open(owner, "cash:investor", ASSET, is_cash=True),
        }
        self.clause_cash: dict[str, int] = {}
        self.credits: dict[str, int] = {}
        for giant in model.config.giants:
            self.clause_cash[giant.name] = ledger.open(owner, f"cash:clause:{giant.name}", ASSET, is_cash=True)
            self.credits[giant.name] = ledger.open(owner, f"credits:{giant.name}", ASSET)
        self.paid_in = ledger.open(owner, "paid_in", EQUITY)
        self.retained = ledger.open(owner, "retained", EQUITY)
        self.revenue_account = ledger.open(owner, "revenue", INCOME)
        self.compute_account = ledger.open(owner, "compute", EXPENSE)
        self.opex_account = ledger.open(owner, "opex", EXPENSE)
        self.writeoff_account = ledger.open(owner, "credits_written_off", EXPENSE)

        self.revenue_weekly = spec.revenue / 52.0
        self.shares = spec.shares
        self.price = spec.last_post_money / spec.shares  # last round price per share
        self.contracts: list[ComputeContract] = []
        self.distressed = False
        self.failed = False
        self.next_round_step = 0
        self.rounds: list[dict] = []
        # Yearly rate of what it pays each cloud with money that is not that cloud's own
        # (its customers' and untied investors'), smoothed over about a quarter.
        self.untied_spend = {giant.name: 0.0 for giant in model.config.giants}
        self.contract_version = 0
        self._contracted = (None, 0.0)
        self.quarter = self._new_quarter()

    # ------------------------------------------------------------------ state
    @staticmethod
    def _new_quarter() -> dict:
        return {
            "revenue": 0.0,
            "compute": 0.0,
            "compute_shortfall": 0.0,
            "opex": 0.0,
            "raised": 0.0,
            "rounds": 0,
            "down_rounds": 0,
            "cancelled": 0.0,
            "spend_by_giant": {},
        }

    @property
    def growth(self) -> float:
        """Expected real revenue growth per year: decays from today's rate to the long-run rate."""
        spec = self.spec
        years = self.model.week / 52.0
        decay = 0.5 ** (years / spec.growth_halflife_years)
        return spec.revenue_growth_long_run + (spec.revenue_growth - spec.revenue_growth_long_run) * decay

    def pool(self) -> float:
        """Untied cash: money from customers and from investors without a spend-back clause."""
        ledger = self.model.ledger
        return ledger.balances[self.cash[REAL]] + ledger.balances[self.cash[INVESTOR]]

    def liquid(self) -> float:
        """Everything the lab can spend: untied cash, tied cash and unspent credits."""
        balances = self.model.ledger.balances
        return (
            self.pool()
            + sum(balances[i] for i in self.clause_cash.values())
            + sum(balances[i] for i in self.credits.values())
        )

    def credits_held(self) -> float:
        balances = self.model.ledger.balances
        return sum(balances[i] for i in self.credits.values())

    def opex_weekly(self) -> float:
        return self.spec.opex / 52.0 + self.spec.opex_share * self.revenue_weekly

    def contracts_changed(self) -> None:
        """Called whenever a contract is signed, consumed or cancelled: invalidates the sums below."""
        self.contract_version += 1

    def contracted_weekly(self) -> float:
        key = (self.model.week, self.contract_version)
        if self._contracted[0] != key:  # summed once per week and change: runway checks ask often
            week = self.model.week
            self._contracted = (key, sum(c.due(week) for c in self.contracts))
        return self._contracted[1]

    def burn_weekly(self) -> float:
        return self.contracted_weekly() + self.opex_weekly() - self.revenue_weekly

    def open_untied_spend(self) -> None:
        """Opening estimate of the untied spending rate: this week's contracted compute at each
        cloud, less what credits and tied cash will cover over the next quarter."""
        balances = self.model.ledger.balances
        for giant in self.untied_spend:
            due = sum(c.due(0) for c in self.contracts if c.giant == giant)
            tied = balances[self.credits[giant]] + balances[self.clause_cash[giant]]
            self.untied_spend[giant] = 52.0 * max(0.0, due - tied / 13.0)

    def surviving_share(self) -> float:
        """Share of its untied compute spending its own revenue could pay for (revenue less
        other costs, over what it spends untied): the part a cloud keeps without new rounds."""
        untied = sum(self.untied_spend.values())
        budget = 52.0 * max(0.0, self.revenue_weekly - self.opex_weekly())
        return min(1.0, budget / untied) if untied > 0.0 else 1.0

    def runway_weeks(self) -> float:
        burn = self.burn_weekly()
        return math.inf if burn <= 0.0 else self.liquid() / burn

    def funding_need(self, weeks: float) -> float:
        """Money needed to last `weeks` more at contracted compute and today's revenue and opex."""
        week = self.model.week
        compute = sum(c.due_over(week, int(weeks)) for c in self.contracts)
        return max(0.0, compute + (self.opex_weekly() - self.revenue_weekly) * weeks - self.liquid())

    def valuation(self) -> float:
        return self.price * self.shares

    # ------------------------------------------------------------ round pricing
    def reference_multiple(self) -> float:
        """Revenue multiple at reference sentiment and rates: depends on the lab's growth only."""
        rounds = self.model.config.rounds
        exponent = rounds.growth_elasticity * (self.growth - rounds.growth_reference)
        return min(
            rounds.ceiling_multiple,
            max(rounds.floor_multiple, rounds.multiple * math.exp(max(-50.0, min(50.0, exponent)))),
        )

    def asking_multiple(self) -> float:
        """The multiple a round opens at today (design 5.3): bounded, saturating in sentiment."""
        config = self.model.config
        rounds, economy = config.rounds, config.economy
        return pricing.round_multiple(
            self.reference_multiple(),
            self.model.sentiment - economy.sentiment_reference,
            economy.interest_rate - economy.rate_reference,
            sentiment_elasticity=rounds.sentiment_elasticity,
            sentiment_scale=rounds.sentiment_scale,
            rate_elasticity=rounds.rate_elasticity,
            floor=rounds.floor_multiple,
            ceiling=rounds.ceiling_multiple,
        )

    def raising_soon(self) -> bool:
        """Short of runway and free to raise: a round is coming, and the market knows it."""
        return (
            not self.failed
            and self.model.week >= self.next_round_step
            and self.runway_weeks() < self.spec.runway_trigger_weeks
        )

    def expected_price(self) -> float:
        """The price per share investors expect the lab's shares to carry at the next quarter end:
        the asking price of a round about to open, else the last round's."""
        if self.raising_soon():
            return self.asking_multiple() * self.revenue_weekly * 52.0 / self.shares
        return self.price

    def book_equity(self) -> float:
        return self.model.ledger.owner_totals(self.name)["equity"]

    def backlog_with(self, giant: str) -> float:
        return sum(c.remaining for c in self.contracts if c.giant == giant)

    # ------------------------------------------------------------------ step
    def step(self) -> None:
        """Design step 2: earn, buy compute, pay opex, check the runway."""
        if self.failed:
            return
        self.earn_revenue()
        if self.model.week % 13 == 0:
            self.renew_contracts()
        self.buy_compute()
        self.pay_opex()
        if self.model.week >= self.next_round_step and self.runway_weeks() < self.spec.runway_trigger_weeks:
            size = self.funding_need(self.spec.runway_target_weeks)
            if size > 0.0:
                self.model.open_round(self, size)
                self.next_round_step = self.model.week + self.model.config.rounds.retry_weeks

    def earn_revenue(self) -> None:
        spec = self.spec
        noise = spec.revenue_volatility * math.sqrt(1.0 / 52.0) * self.model.rng.standard_normal()
        self.revenue_weekly *= math.exp(math.log1p(self.growth) / 52.0 + noise)
        world = self.model.outside
        self.model.ledger.transfer(
            f"{self.name} revenue",
            world.spending,
            world.cash,
            self.cash[REAL],
            self.revenue_account,
            self.revenue_weekly,
        )
        self.quarter["revenue"] += self.revenue_weekly

    def renew_contracts(self) -> None:
        """Keep compute contracted a year ahead at least at a share of expected revenue.

        Serving paying customers needs compute whether or not the lab raises money; these
        contracts are paid for by revenue.
        """
        if self.distressed:
            return
        week = self.model.week
        needed = self.spec.compute_share_of_revenue * self.revenue_weekly * 52.0 * (1.0 + self.growth)
        contracted = 52.0 * sum(c.due_at(week + 52, week) for c in self.contracts)
        if needed > contracted:
            self.sign_contracts((needed - contracted) * self.model.config.rounds.contract_years)

    def sign_contracts(self, value: float) -> None:
        """New multi-year compute commitments, split across the lab's clouds."""
        rounds = self.model.config.rounds
        start = self.model.week + rounds.contract_start_weeks
        for giant, share in self.spec.compute_split.items():
            if share > 0.0 and value > 0.0:
                self.contracts.append(
                    ComputeContract.new(giant, self.name, value * share, start, rounds.contract_years)
                )
        self.contracts_changed()

    def buy_compute(self) -> None:
        """Pay each cloud for what the contracts with it ask this week, as far as it can deliver."""
        week = self.model.week
        due_by_giant: dict[str, list[tuple[ComputeContract, float]]] = {}
        for contract in self.contracts:
            due = contract.due(week)
            if due > 0.0:
                due_by_giant.setdefault(contract.giant, []).append((contract, due))
        spend = self.quarter["spend_by_giant"]
        untied_now = dict.fromkeys(self.untied_spend, 0.0)
        for giant_name, dues in due_by_giant.items():
            giant = self.model.giants_by_name[giant_name]
            total = sum(due for _, due in dues)
            paid, untied_now[giant_name] = self._pay_giant(giant, giant.capacity_for(total))
            for contract, due in dues:
                contract.consume(due * paid / total)
            self.quarter["compute"] += paid
            self.quarter["compute_shortfall"] += total - paid
            spend[giant_name] = spend.get(giant_name, 0.0) + paid
        self.contracts_changed()
        memory = 1.0 / UNTIED_MEMORY_WEEKS
        for giant_name, amount in untied_now.items():
            self.untied_spend[giant_name] += memory * (52.0 * amount - self.untied_spend[giant_name])

    def _pay_giant(self, giant, amount: float) -> tuple[float, float]:
        """Pay `amount` of compute from the right pockets; return what could be paid, and how
        much of it was untied money (the lab's customers' or untied investors')."""
        ledger = self.model.ledger
        balances = ledger.balances
        remaining = amount
        credits = min(balances[self.credits[giant.name]], remaining)
        if credits > 0.0:
            giant.sell_compute_for_credits(self, credits)
            remaining -= credits
        tied = min(balances[self.clause_cash[giant.name]], remaining)
        if tied > 0.0:
            giant.sell_compute_for_cash(self, self.clause_cash[giant.name], tied, "roundtrip")
            remaining -= tied
        pool = self.pool()
        untied = 0.0
        if remaining > 0.0 and pool > 0.0:
            untied = min(pool, remaining)
            # Money is fungible inside the pool: attribute each payment pro rata to its origins.
            real_share = balances[self.cash[REAL]] / pool
            from_real = untied * real_share
            giant.sell_compute_for_cash(self, self.cash[REAL], from_real, "real")
            giant.sell_compute_for_cash(self, self.cash[INVESTOR], untied - from_real, "cross")
            remaining -= untied
        return amount - remaining, untied

    def pay_opex(self) -> None:
        amount = min(self.opex_weekly(), max(0.0, self.pool()))
        if amount <= 0.0:
            return
        ledger = self.model.ledger
        world = self.model.outside
        pool = self.pool()
        from_real = amount * ledger.balances[self.cash[REAL]] / pool
        for origin, part in ((REAL, from_real), (INVESTOR, amount - from_real)):
            ledger.transfer(f"{self.name} opex", self.opex_account, self.cash[origin], world.cash, world.receipts, part)
        self.quarter["opex"] += amount

    # ----------------------------------------------------------- funding results
    def cancel_contracts(self, fraction: float) -> dict[str, float]:
        """Cancel a fraction of every contract's remaining value; return cancelled value by giant."""
        cancelled: dict[str, float] = {}
        if fraction <= 0.0:
            return cancelled
        for contract in self.contracts:
            value = contract.cancel(fraction)
            if value > 0.0:
                cancelled[contract.giant] = cancelled.get(contract.giant, 0.0) + value
        self.contracts_changed()
        self.quarter["cancelled"] += sum(cancelled.values())
        for giant, value in cancelled.items():
            self.model.giants_by_name[giant].book_backlog_impairment(self, value)
        return cancelled

    def enter_distress(self) -> None:
        """Cut compute to what the lab can pay over a target runway and cancel the rest."""
        self.distressed = True
        horizon = self.spec.runway_target_weeks
        affordable = max(0.0, self.revenue_weekly - self.opex_weekly() + self.liquid() / horizon)
        contracted = sum(c.weekly for c in self.contracts if c.remaining > 0.0)
        if contracted > affordable:
            self.cancel_contracts(1.0 - affordable / contracted)

    def fail(self) -> None:
        """Equity worth nothing: contracts cancelled, unspent credits written off."""
        self.failed = True
        self.distressed = True
        self.price = 0.0
        self.cancel_contracts(1.0)
        ledger = self.model.ledger
        for giant_name, account in self.credits.items():
            unspent = ledger.balances[account]
            if unspent > 0.0:
                self.model.giants_by_name[giant_name].forfeit_credits(self, unspent)

    # ------------------------------------------------------------ quarter end
    def close_quarter(self) -> dict:
        """Close the books; return the quarter's statement (design 5.5)."""
        q = self.quarter
        net_income = self.model.ledger.close_into(self.name, self.retained)
        statement = {
            "lab": self.name,
            "revenue": q["revenue"],
            "compute_spend": q["compute"],
            "compute_shortfall": q["compute_shortfall"],
            "opex": q["opex"],
            "net_income": net_income,
            "burn": q["compute"] + q["opex"] - q["revenue"],
            "cash": self.pool(),
            "tied_cash": sum(self.model.ledger.balances[i] for i in self.clause_cash.values()),
            "credits": self.credits_held(),
            "runway_weeks": min(self.runway_weeks(), RUNWAY_CAP_WEEKS),
            "valuation": self.valuation(),
            "price_per_share": self.price,
            "shares": self.shares,
            "raised": q["raised"],
            "rounds": q["rounds"],
            "down_rounds": q["down_rounds"],
            "contracts_cancelled": q["cancelled"],
            "backlog": sum(c.remaining for c in self.contracts),
            "distressed": self.distressed,
            "failed": self.failed,
        }
        for giant in self.credits:
            statement[f"spend_{giant}"] = q["spend_by_giant"].get(giant, 0.0)
        self.last_net_income = net_income
        self.quarter = self._new_quarter()
        # Contracts fully delivered or cancelled are history; the backlog is what remains.
        self.contracts = [c for c in self.contracts if c.remaining > 0.0]
        self.contracts_changed()
        return statement
