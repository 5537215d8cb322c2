"""Retirement savers (design 3 and 6.4), vectorised: `SaverPool` keeps every account's balances
in arrays, and each account is still a Mesa agent (`RetirementAccount`) a user can inspect.

Each account stands for a slice of savers: an age, a salary, cash (bonds and deposits),
units of one index fund and of one active fund. Every week workers contribute a share of
wages; retirees withdraw about 4% a year; accounts age, so the share of retirees follows
the demographic path the opening ages set, and flows can turn negative on their own. The
equity share of new money extrapolates the market's return over the last year (Greenwood
and Shleifer 2014 find expectations that do); holdings are otherwise left alone. After a
drawdown beyond a threshold a few accounts panic, sell their equity and come back after some
months. New equity money goes to index funds in the passive share, to active funds in the
rest. The arrays are a sub-ledger: their totals are reconciled with the ledger's control
accounts (the pool's cash and its units in each fund at cost) every step.
"""

from __future__ import annotations

import mesa
import numpy as np

from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME, LedgerError

OWNER = "Savers"
NAV_FLOOR = 1e-9  # $ per unit: below it a fund is treated as worthless and closed to trading
UNIT_DUST = 1e-9  # units (billions): fewer than this outstanding and a fund is empty


class RetirementAccount(mesa.Agent):
    """One account of the pool; its numbers live in the pool's arrays, row `row`."""

    def __init__(self, model, row: int):
        super().__init__(model)
        self.row = row

    @property
    def pool(self) -> SaverPool:
        return self.model.savers

    @property
    def age(self) -> float:
        return float(self.pool.age[self.row])

    @property
    def retired(self) -> bool:
        return bool(self.pool.age[self.row] >= self.pool.spec.retirement_age)

    @property
    def cash(self) -> float:
        return float(self.pool.cash[self.row])

    @property
    def equity(self) -> float:
        return float(self.pool.equity_values()[self.row])

    @property
    def wealth(self) -> float:
        return self.cash + self.equity

    @property
    def equity_share_target(self) -> float:
        return float(self.pool.target[self.row])

    @property
    def panicking(self) -> bool:
        return bool(self.pool.panic_until[self.row] > self.model.week)

    def __repr__(self) -> str:
        return (f"RetirementAccount(row={self.row}, age={self.age:.1f}, wealth={self.wealth:.3f}, "
                f"equity target={self.equity_share_target:.2f}, panicking={self.panicking})")


class SaverPool:
    def __init__(self, model, spec, index_funds, active_funds, equity_to_place: float, active_sizes: np.ndarray):
        """Open the accounts: `equity_to_place` dollars of fund units, index in the passive share;
        accounts choose active funds with probabilities `active_sizes`, so the funds' sizes
        follow from the accounts (each fund's units are set here, at a NAV of 1)."""
        self.model = model
        self.spec = spec
        rng = model.rng
        n = spec.accounts
        ledger = model.ledger
        self.cash_account = ledger.open(OWNER, "cash", ASSET, is_cash=True)
        self.net_worth = ledger.open(OWNER, "net_worth", EQUITY)
        self.wages = ledger.open(OWNER, "contributions", INCOME)
        self.interest = ledger.open(OWNER, "interest", INCOME)
        self.gains = ledger.open(OWNER, "realised_gains", INCOME)
        self.withdrawals = ledger.open(OWNER, "withdrawals", EXPENSE)
        self.index_funds = index_funds
        self.active_funds = active_funds
        self.unit_accounts = {f.name: ledger.open(OWNER, f"units:{f.name}", ASSET)
                              for f in [*index_funds, *active_funds]}

        # Ages: retirees, a post-war bulge about to retire, and workers spread over working life.
        draw = rng.random(n)
        self.age = np.select(
            [draw < spec.retiree_share, draw < spec.retiree_share + spec.boomer_share],
            [rng.uniform(spec.retirement_age, spec.death_age, n), rng.uniform(55.0, spec.retirement_age, n)],
            rng.uniform(25.0, 55.0, n))
        self.salary = rng.lognormal(0.0, 0.5, n)
        self.salary *= spec.wages / self.salary.sum()
        opening_share = np.clip(spec.equity_share + rng.normal(0.0, 0.05, n), 0.05, 0.95)
        # Savers hold their normal share; last year's strong return is about to pull them further in.
        self.base_target = opening_share
        self.target = opening_share.copy()
        self.panic_until = np.full(n, -1, dtype=np.int64)
        self.panicked = False      # has any account panicked recently (then track who)
        self.wage_level = 1.0      # wages grow for everyone alike: one factor, not n products
        self.index_of = np.arange(n) % len(index_funds)
        self.active_of = (rng.choice(len(active_funds), size=n, p=active_sizes) if active_funds
                          else np.zeros(n, dtype=np.int64))

        # Opening wealth: lognormal slices; the equity part is the funds' assets.
        wealth = rng.lognormal(0.0, 1.0, n)
        equity = wealth * opening_share
        self._place(equity, equity_to_place)
        self.cash = wealth * (1.0 - opening_share) * (equity_to_place / equity.sum())
        self.flows = {"contributions": 0.0, "withdrawals": 0.0, "to_index": 0.0, "to_active": 0.0}

    # ----------------------------------------------------------------- opening
    def _place(self, equity: np.ndarray, total: float) -> None:
        """Each account's opening units (NAV 1); the funds' units are their accounts' sum."""
        passive = self.model.config.market.passive_share if self.active_funds else 1.0
        equity = equity * (total / equity.sum())
        self.index_units = equity * passive
        self.active_units = equity * (1.0 - passive)
        for k, fund in enumerate(self.index_funds):
            fund.units = float(self.index_units[self.index_of == k].sum())
        for k, fund in enumerate(self.active_funds):
            fund.units = float(self.active_units[self.active_of == k].sum())

    # ------------------------------------------------------------------ values
    def navs(self) -> tuple[np.ndarray, np.ndarray]:
        """Net asset value per unit of every index fund and every active fund."""
        market = self.model.market
        balances = self.model.ledger.balances
        values = market.holdings @ market.prices

        def nav(funds):
            assets = np.array([balances[f.cash] + values[f.row] for f in funds])
            units = np.array([f.units for f in funds])
            # A fund down to dust (under a dollar's worth of units at NAV 1) counts as empty.
            return np.divide(assets, units, out=np.ones(len(funds)), where=units > UNIT_DUST)
        return nav(self.index_funds), nav(self.active_funds) if self.active_funds else np.ones(1)

    def equity_values(self) -> np.ndarray:
        index_nav, active_nav = self.navs()
        return self.index_units * index_nav[self.index_of] + self.active_units * active_nav[self.active_of]

    def total_wealth(self) -> float:
        return float(self.cash.sum() + self.equity_values().sum())

    def retiree_share(self) -> float:
        return float((self.age >= self.spec.retirement_age).mean())

    # -------------------------------------------------------------------- step
    def step(self, market_return_1y: float, drawdown: float) -> None:
        """Design step 4: age, contribute or withdraw, and move toward the target equity share."""
        model = self.model
        spec = self.spec
        rng = model.rng
        week = model.week
        ledger = model.ledger
        world = model.outside
        n = len(self.age)

        # Ageing: at the end of life an account passes to a young heir with its wealth.
        self.age += 1.0 / 52.0
        heirs = self.age >= spec.death_age
        if heirs.any():
            self.age[heirs] = 25.0
        retired = self.age >= spec.retirement_age
        self.wage_level *= (1.0 + spec.wage_growth) ** (1.0 / 52.0)
        weekly = 1.0 / 52.0

        contributions = self.salary * (~retired) * (self.wage_level * spec.contribution_rate * weekly)
        interest = self.cash * (max(0.0, model.config.economy.interest_rate) * weekly)
        index_nav, active_nav = self.navs()
        index_nav, active_nav = index_nav[self.index_of], active_nav[self.active_of]  # per account
        index_value = self.index_units * index_nav
        equity = index_value + self.active_units * active_nav
        # Retirees withdraw a share of wealth, from cash and equity in proportion to their holdings.
        draw_rate = retired * (spec.withdrawal_rate * weekly)
        withdrawals = (self.cash + equity) * draw_rate
        cash_after = self.cash + contributions + interest - withdrawals

        # Extrapolation: the equity share of new money leans on last year's market return.
        lean = spec.extrapolation * (market_return_1y - spec.return_reference)
        self.target = np.clip(self.base_target + lean, spec.equity_share_min, spec.equity_share_max)
        # New money goes to equity at the target share; holdings are otherwise left alone, as
        # most savers leave them (design 6.4).
        trade = self.target * (contributions + interest) - equity * draw_rate
        if drawdown > spec.panic_drawdown:
            calm = self.panic_until < week
            panics = calm & (rng.random(n) < spec.panic_probability)
            if panics.any():
                self.panic_until[panics] = week + rng.integers(spec.panic_weeks_min, spec.panic_weeks_max + 1,
                                                               panics.sum())
                if calm.all():
                    model.log_event("savers' panic selling")
                self.panicked = True
        if self.panicked:
            # Panicking accounts sell out; those back from a panic buy back toward their target.
            panicking = self.panic_until >= week
            wealth_after = cash_after + equity
            returning = ~panicking & (equity < (self.target - 0.2) * wealth_after)
            trade = np.where(returning, (self.target * wealth_after - equity) / spec.rebalance_weeks, trade)
            trade = np.where(panicking, -equity, trade)
            self.panicked = bool((self.panic_until >= week - spec.panic_weeks_max).any())
        # Never spend cash an account does not have; never sell more than it holds.
        trade = np.clip(trade, -equity, np.maximum(cash_after, 0.0))

        if self.active_funds:
            passive = model.config.market.passive_share
            selling = trade < 0.0
            index_part = np.full(n, passive)
            index_part[selling] = np.divide(index_value[selling], equity[selling],
                                            out=np.zeros(int(selling.sum())), where=equity[selling] > 0.0)
            to_index = trade * index_part
        else:
            to_index = trade
        to_active = trade - to_index

        # A fund with no positive net asset value can neither issue nor redeem units this week.
        to_index = np.where(index_nav > NAV_FLOOR, to_index, 0.0)
        to_active = np.where(active_nav > NAV_FLOOR, to_active, 0.0)
        trade = to_index + to_active
        self.cash = cash_after - trade
        index_moved = to_index / index_nav
        active_moved = to_active / active_nav if self.active_funds else np.zeros(n)
        self.index_units += index_moved
        self.active_units += active_moved

        # Post the week's totals; the arrays are the sub-ledger behind them.
        total_contrib, total_interest, total_withdraw = contributions.sum(), interest.sum(), withdrawals.sum()
        ledger.transfer("savers' contributions from wages", world.spending, world.cash,
                        self.cash_account, self.wages, float(total_contrib))
        ledger.transfer("interest on savers' cash", world.spending, world.cash,
                        self.cash_account, self.interest, float(total_interest))
        ledger.transfer("retirees' withdrawals", self.withdrawals, self.cash_account,
                        world.cash, world.receipts, float(total_withdraw))
        n_index, n_active = len(self.index_funds), len(self.active_funds)
        index_flows = np.bincount(self.index_of, weights=to_index, minlength=n_index)
        index_units = np.bincount(self.index_of, weights=index_moved, minlength=n_index)
        for fund, flow, units in zip(self.index_funds, index_flows, index_units):
            self._move(fund, float(flow), float(units))
        active_flows = np.bincount(self.active_of, weights=to_active, minlength=n_active)[:n_active]
        active_units = np.bincount(self.active_of, weights=active_moved, minlength=n_active)[:n_active]
        for fund, flow, units in zip(self.active_funds, active_flows, active_units):
            self._move(fund, float(flow), float(units))
        self.flows = {"contributions": float(total_contrib), "withdrawals": float(total_withdraw),
                      "to_index": float(index_flows.sum()), "to_active": float(active_flows.sum())}

    def extra_inflow(self, amount: float) -> None:
        """New money from outside put straight into index funds, pro rata to accounts' wealth
        (the impulse of the flow-multiplier experiment, design 6.2)."""
        world = self.model.outside
        self.model.ledger.transfer("new savings from outside", world.spending, world.cash,
                                   self.cash_account, self.wages, amount)
        share = self.cash + self.equity_values()
        share = share / share.sum() * amount
        index_nav, _ = self.navs()
        moved = share / index_nav[self.index_of]
        self.index_units += moved
        n_index = len(self.index_funds)
        per_fund = np.bincount(self.index_of, weights=share, minlength=n_index)
        units = np.bincount(self.index_of, weights=moved, minlength=n_index)
        for fund, flow, fund_units in zip(self.index_funds, per_fund, units):
            self._move(fund, float(flow), float(fund_units))

    def _move(self, fund, amount: float, units: float) -> None:
        """Buy (amount > 0) or redeem units of a fund through the ledger. `units` is the sum of
        what the fund's accounts bought or sold at the NAV they traded at, so the fund's units
        outstanding are the accounts' total by construction."""
        if amount == 0.0 or (amount < 0.0 and fund.units <= 0.0):
            return
        ledger = self.model.ledger
        if amount > 0.0:
            ledger.transfer(f"savers buy units of {fund.name}", self.unit_accounts[fund.name], self.cash_account,
                            fund.cash, fund.unit_capital, amount)
        else:
            paid = -amount
            cost = -ledger.balances[fund.unit_capital] * (-units / fund.units)
            ledger.post(f"savers redeem units of {fund.name}", [
                (self.cash_account, paid), (self.unit_accounts[fund.name], -cost), (self.gains, cost - paid),
                (fund.unit_capital, cost), (fund.retained, paid - cost), (fund.cash, -paid)])
        fund.units += units

    def reconcile(self) -> None:
        """The arrays must add up to the ledger's control accounts."""
        balances = self.model.ledger.balances
        ledger_cash = balances[self.cash_account]
        if abs(self.cash.sum() - ledger_cash) > 1e-11 * max(1.0, abs(ledger_cash)):
            raise LedgerError(f"savers' sub-ledger cash {self.cash.sum()!r} != control account {ledger_cash!r}")
        for funds, units, owner_of in ((self.index_funds, self.index_units, self.index_of),
                                       (self.active_funds, self.active_units, self.active_of)):
            for k, fund in enumerate(funds):
                held = units[owner_of == k].sum()
                fund.peak_units = max(fund.peak_units, fund.units)
                if abs(held - fund.units) > 1e-11 * max(1.0, fund.peak_units):
                    raise LedgerError(f"savers hold {held!r} units of {fund.name}, which has {fund.units!r} out")

