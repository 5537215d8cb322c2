"""Retirement savers (design 3, 6.1 and 6.5), vectorised: `SaverPool` keeps every account's
balances in arrays, and each account is still a Mesa agent (`RetirementAccount`) a user can
inspect.

Each account stands for a slice of savers: an age, a salary, cash (bonds and deposits, earning
the interest rate), units of one index fund and of one active fund. Accounts hold
target-allocation portfolios (target-date or balanced funds): the equity share follows a glide
path by age, high when young and lower in retirement, and leans on the expected excess return
of stocks over the rate (as measured by Giglio, Maggiori, Stroebel and Utkus 2021: far less
than Merton's rule), where the expected return is the market's earnings yield plus long-run
growth, extrapolating a little of last year's return (Greenwood and Shleifer 2014).
The lean is bounded: at most `max_deviation` from the glide path. Every week workers contribute
a share of wages, invested at the target share; the rest of the gap to the target closes a
share 1/`rebalance_weeks` a week, so a fund with equity share θ has demand elasticity 1 − θ
once it has rebalanced (Gabaix and Koijen 2021). Interest and fund distributions arrive as
cash and stay cash unless rebalancing moves them. Retirees withdraw about 4% a year; accounts
age, so the share of retirees follows the demographic path the opening ages set. After a
drawdown beyond a threshold a few accounts panic, sell their equity and come back after some
months. New equity money goes to index funds in the passive share, to active funds in the
rest; sales come out of both in proportion. The arrays are a sub-ledger: their totals are
reconciled with the ledger's control accounts (the pool's cash and its units in each fund at
cost) every step.

For speed at 100,000 accounts and more, accounts are stored sorted by the pair of funds they
hold, so each fund's accounts are contiguous blocks (a NAV per account is a `repeat`, a fund's
total a `reduceat`), and retirements and deaths are an event calendar, not a weekly pass.
"""

from __future__ import annotations

import mesa
import numpy as np

from economy.errors import DomainError
from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME, LedgerError

NO_STOCKS_WANTED = (
    "the opening market cannot be held: the savers want no stocks at all (their glide path and its "
    "deviation give a stock share of 0), yet their funds hold part of the market"
)

OWNER = "Savers"
NAV_FLOOR = 1e-9  # $ per unit: below it a fund is treated as worthless and closed to trading
UNIT_DUST = 1e-9  # units (billions): fewer than this outstanding and a fund is empty
HEIR_DRAWS = 8  # accounts drawn from the same fund block to find an heir close to the right age


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
        return float(self.pool.ages()[self.row])

    @property
    def retired(self) -> bool:
        return bool(self.pool.draw[self.row] > 0.0)

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
        return bool(self.pool.panic_until[self.row] >= self.model.week)

    def __repr__(self) -> str:
        return (
            f"RetirementAccount(row={self.row}, age={self.age:.1f}, wealth={self.wealth:.3f}, "
            f"equity target={self.equity_share_target:.2f}, panicking={self.panicking})"
        )


def glide_path(age: np.ndarray, spec) -> np.ndarray:
    """Equity share by age: flat when young, falling to the retirement share at retirement age and
    to the late share some years later (the shape of target-date funds' glide paths)."""
    young, retired, late = spec.equity_share_young, spec.equity_share_retired, spec.equity_share_late
    start, retire = spec.glide_start_age, spec.retirement_age
    end = retire + spec.glide_late_years
    return np.interp(age, [start, retire, end], [young, retired, late])


class SaverPool:
    def __init__(self, model, spec, index_funds, active_funds, passive_share: float):
        """Accounts with ages, salaries and relative wealth; `place` gives them their opening
        holdings once the funds' sizes are known."""
        self.model = model
        self.spec = spec
        rng = model.rng
        n = spec.accounts
        ledger = model.ledger
        self.cash_account = ledger.open(OWNER, "cash", ASSET, is_cash=True)
        self.net_worth = ledger.open(OWNER, "net_worth", EQUITY)
        self.wages = ledger.open(OWNER, "contributions", INCOME)
        self.interest = ledger.open(OWNER, "interest", INCOME)
        self.distributions = ledger.open(OWNER, "fund_distributions", INCOME)
        self.gains = ledger.open(OWNER, "realised_gains", INCOME)
        self.withdrawals = ledger.open(OWNER, "withdrawals", EXPENSE)
        self.index_funds = index_funds
        self.active_funds = active_funds
        self.passive_share = passive_share if active_funds else 1.0
        self.unit_accounts = {
            f.name: ledger.open(OWNER, f"units:{f.name}", ASSET) for f in [*index_funds, *active_funds]
        }

        # Ages: retirees (as many at each age as survive to it), a post-war bulge in its last ten
        # working years, and workers spread over the working life from 25 before that; each
        # account's death age drawn from the life table.
        draw = rng.random(n)
        bulge_from = spec.retirement_age - 10.0
        age = np.select(
            [draw < spec.retiree_share, draw < spec.retiree_share + spec.boomer_share],
            [self._retiree_ages(rng.random(n)), rng.uniform(bulge_from, spec.retirement_age, n)],
            rng.uniform(25.0, bulge_from, n),
        )
        death = self._death_ages(age, rng.random(n))
        salary = rng.lognormal(0.0, 0.5, n)
        # Balances rise with age through working life (Survey of Consumer Finances profile).
        wealth = rng.lognormal(0.0, 1.0, n) * np.clip((age - 20.0) / 45.0, 0.1, 1.0)
        # Each account holds one fund family's active fund and that family's index fund.
        if active_funds:
            active_of = rng.integers(0, len(active_funds), n)
            index_of = active_of % len(index_funds)
        else:
            active_of = np.zeros(n, dtype=np.int64)
            index_of = np.arange(n) % len(index_funds)
        # Sort by the pair of funds held, so each pair's accounts are one contiguous block.
        order = np.argsort(index_of * max(1, len(active_funds)) + active_of, kind="stable")
        age, salary, wealth, death = age[order], salary[order], wealth[order], death[order]
        self.index_of, self.active_of = index_of[order], active_of[order]
        key = self.index_of * max(1, len(active_funds)) + self.active_of
        self.starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        self.sizes = np.diff(np.r_[self.starts, n])
        self.block_index, self.block_active = self.index_of[self.starts], self.active_of[self.starts]

        self.salary = salary * (spec.wages / salary.sum())
        self.relative_wealth = wealth
        self.age_offset = age  # age = offset + weeks elapsed / 52
        self.death_age = death
        self.draw = np.where(age >= spec.retirement_age, spec.withdrawal_rate / 52.0, 0.0)
        self.pay = np.where(age >= spec.retirement_age, 0.0, self.salary)
        self.calendar: dict[int, list[tuple[str, np.ndarray]]] = {}
        self._schedule(np.arange(n), 0)
        self.glide = glide_path(age, spec)
        self.target = self.glide.copy()
        self.panic_until = np.full(n, -1, dtype=np.int64)
        self.panicked = False  # has any account panicked recently (then track who)
        self.wage_level = 1.0  # wages grow for everyone alike: one factor, not n products
        self.cash = np.zeros(n)
        self.index_units = np.zeros(n)
        self.active_units = np.zeros(n)
        self._buffers = tuple(np.empty(n) for _ in range(16))  # reused each week (see `step`)
        self.flows = {"contributions": 0.0, "withdrawals": 0.0, "to_index": 0.0, "to_active": 0.0}

    def ages(self) -> np.ndarray:
        return self.age_offset + self.model.week / 52.0

    def _death_ages(self, age: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Age at death given today's age, from a Gompertz life table (mortality rising by a
        constant share a year, Gompertz 1825): inverse of the survival curve at uniform draws u,
        at most `oldest_age`."""
        spec = self.spec
        b, m65 = spec.mortality_growth, spec.mortality_at_65
        if m65 == 0.0:  # nobody dies before the end of the life table
            return np.full_like(age, spec.oldest_age)
        start = np.exp(b * (age - 65.0))
        death = 65.0 + np.log(start - b / m65 * np.log(np.maximum(u, 1e-300))) / b
        return np.minimum(death, spec.oldest_age)

    def _retiree_ages(self, u: np.ndarray) -> np.ndarray:
        """Retirees' ages, as many at each age as the life table lets survive from retirement."""
        spec = self.spec
        ages = np.linspace(spec.retirement_age, spec.oldest_age, 400)
        b, m65 = spec.mortality_growth, spec.mortality_at_65
        alive = np.exp(-m65 / b * (np.exp(b * (ages - 65.0)) - np.exp(b * (spec.retirement_age - 65.0))))
        cumulative = np.concatenate([[0.0], np.cumsum((alive[1:] + alive[:-1]) / 2.0)])
        return np.interp(u * cumulative[-1], cumulative, ages)

    def _schedule(self, rows: np.ndarray, week: int) -> None:
        """Put the retirement and death of these accounts in the calendar (by week, within the run)."""
        spec = self.spec
        age = self.age_offset[rows] + week / 52.0
        horizon = self.model.config.steps
        for event, at in (("retire", spec.retirement_age), ("die", self.death_age[rows])):
            due = np.ceil((at - age) * 52.0 - 1e-9).astype(np.int64) + week
            keep = (due >= week) & (due < horizon)
            order = np.argsort(due[keep], kind="stable")
            when, chosen = due[keep][order], rows[keep][order]
            weeks, first = np.unique(when, return_index=True)
            # strict=False: with nothing due, np.split still returns one (empty) group and zip yields none.
            for at_week, group in zip(weeks.tolist(), np.split(chosen, first[1:]), strict=False):
                self.calendar.setdefault(at_week, []).append((event, group))

    def _per_account(self, block_values: np.ndarray) -> np.ndarray:
        return np.repeat(block_values, self.sizes)

    def _per_block(self, values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, self.starts)

    # ----------------------------------------------------------------- opening
    def active_fund_weights(self) -> np.ndarray:
        """Share of the pool's relative wealth in each active fund (sizes the funds)."""
        if not self.active_funds:
            return np.ones(0)
        equity = self._per_block(self.relative_wealth * self.target)
        weights = np.bincount(self.block_active, weights=equity, minlength=len(self.active_funds))
        if weights.sum() <= 0.0:
            raise DomainError(NO_STOCKS_WANTED)
        return weights / weights.sum()

    def place(self, equity_total: float, lean: float) -> None:
        """Open every account at its target: `equity_total` dollars of fund units at NAV 1, each
        account's equity its target share (glide path plus the opening `lean`) of its wealth."""
        bound = self.spec.max_deviation
        self.target = np.clip(self.glide + float(np.clip(lean, -bound, bound)), 0.0, 1.0)
        wanted = float(self.relative_wealth @ self.target)
        if wanted <= 0.0 and equity_total > 0.0:
            raise DomainError(NO_STOCKS_WANTED)
        wealth = self.relative_wealth * (equity_total / wanted if wanted > 0.0 else 0.0)
        equity = wealth * self.target
        self.index_units = equity * self.passive_share
        self.active_units = equity - self.index_units
        self.cash = wealth - equity
        index_units, active_units = self.fund_units()
        for fund, units in zip(self.index_funds, index_units, strict=True):
            fund.units = float(units)
        for fund, units in zip(self.active_funds, active_units, strict=True):
            fund.units = float(units)

    # ------------------------------------------------------------------ values
    def fund_units(self) -> tuple[np.ndarray, np.ndarray]:
        """Units of each index fund and each active fund the accounts hold, from the arrays."""
        index = np.bincount(
            self.block_index, weights=self._per_block(self.index_units), minlength=len(self.index_funds)
        )
        active = np.bincount(
            self.block_active, weights=self._per_block(self.active_units), minlength=len(self.active_funds)
        )[: len(self.active_funds)]
        return index, active

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

    def account_navs(self, index_nav: np.ndarray, active_nav: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each account's index-fund NAV and active-fund NAV."""
        return (
            self._per_account(index_nav[self.block_index]),
            self._per_account(active_nav[self.block_active] if self.active_funds else np.ones(len(self.sizes))),
        )

    def equity_values(self) -> np.ndarray:
        index_nav, active_nav = self.account_navs(*self.navs())
        return self.index_units * index_nav + self.active_units * active_nav

    def total_wealth(self) -> float:
        return float(self.cash.sum() + self.equity_values().sum())

    def equity_share(self) -> float:
        """The pool's equity over its wealth (from the funds' totals: their units are the accounts')."""
        index_nav, active_nav = self.navs()
        equity = float(index_nav @ [f.units for f in self.index_funds])
        if self.active_funds:
            equity += float(active_nav @ [f.units for f in self.active_funds])
        total = equity + float(self.cash.sum())
        return equity / total if total > 0.0 else 0.0

    def retiree_share(self) -> float:
        return float((self.draw > 0.0).mean())

    # -------------------------------------------------------------------- step
    def _age(self, week: int) -> None:
        """Retirements and deaths due this week (an account passes to a young heir with its
        wealth); the glide path is re-read each quarter (target-date funds step down slowly)."""
        spec = self.spec
        for event, rows in self.calendar.pop(week, []):
            if event == "retire":
                # An account that died before retiring has passed to a young heir: not this one.
                rows = rows[self.age_offset[rows] + week / 52.0 >= spec.retirement_age - 1e-6]
                self.pay[rows] = 0.0
                self.draw[rows] = spec.withdrawal_rate / 52.0
            else:
                self._bequeath(rows, week)
        if week % 13 == 0:
            self.glide = glide_path(self.ages(), spec)

    def _bequeath(self, rows: np.ndarray, week: int) -> None:
        """The dead leave their wealth to an heir about a generation younger who holds the same
        funds (the closest in age of a few drawn from the same fund block, so units move with no
        trade), and their slot is taken by a new 25-year-old worker with no savings: bequests go to
        the middle-aged, and the young keep entering."""
        spec = self.spec
        rng = self.model.rng
        block = np.searchsorted(self.starts, rows, side="right") - 1
        candidates = self.starts[block][:, None] + (
            rng.random((len(rows), HEIR_DRAWS)) * self.sizes[block][:, None]
        ).astype(np.int64)
        target = self.age_offset[rows] - spec.generation_years  # ages less the same week / 52
        gap = np.abs(self.age_offset[candidates] - target[:, None]) + 1e9 * (candidates == rows[:, None])
        heirs = candidates[np.arange(len(rows)), np.argmin(gap, axis=1)]
        heirs = np.where(heirs == rows, rows, heirs)  # a block of one: the new worker inherits
        for values in (self.cash, self.index_units, self.active_units):
            left = values[rows].copy()
            values[rows] = 0.0
            np.add.at(values, heirs, left)
        self.age_offset[rows] = 25.0 - week / 52.0
        self.death_age[rows] = self._death_ages(np.full(len(rows), 25.0), rng.random(len(rows)))
        self.pay[rows] = self.salary[rows]
        self.draw[rows] = 0.0
        self.glide[rows] = glide_path(np.full(len(rows), 25.0), spec)
        self._schedule(rows, week)

    def step(self, lean: float, rate: float, drawdown: float) -> None:
        """Design step 4: age, take in income, withdraw, and move toward the target equity share.

        `lean` is the change in the equity share the expected excess return asks for (before
        bounds); `rate` the interest rate cash earns; `drawdown` the market's fall from its
        peak over the last year. The arithmetic works in place in buffers kept from week to
        week: at 100,000 accounts a fresh array costs more in page faults than in arithmetic.
        """
        model = self.model
        spec = self.spec
        week = model.week
        ledger = model.ledger
        world = model.outside
        weekly = 1.0 / 52.0
        self._age(week)
        self.wage_level *= (1.0 + spec.wage_growth) ** weekly
        (
            contributions,
            interest,
            income,
            index_nav,
            active_nav,
            index_value,
            equity,
            withdrawals,
            sold,
            cash_after,
            equity_after,
            target,
            rebalance,
            to_index,
            to_active,
            scratch,
        ) = self._buffers

        # Income: wages for workers, interest on cash, what the funds received and pass on.
        np.multiply(self.pay, self.wage_level * spec.contribution_rate * weekly, out=contributions)
        cash = self.cash
        np.maximum(cash, 0.0, out=interest)
        interest *= max(0.0, rate) * weekly
        fund_index_nav, fund_active_nav = self.navs()
        self._fill(fund_index_nav[self.block_index], index_nav)
        self._fill(fund_active_nav[self.block_active] if self.active_funds else np.ones(len(self.sizes)), active_nav)
        np.add(contributions, interest, out=income)
        self._receive_distributions(income)
        np.multiply(self.index_units, index_nav, out=index_value)
        np.multiply(self.active_units, active_nav, out=equity)
        equity += index_value
        # Retirees withdraw a share of wealth, from cash and equity in proportion to their holdings.
        np.add(cash, equity, out=withdrawals)
        withdrawals *= self.draw
        np.multiply(equity, self.draw, out=sold)  # the equity part of the withdrawal
        income -= withdrawals
        np.add(cash, income, out=cash_after)
        cash_after += sold
        np.subtract(equity, sold, out=equity_after)

        # Panic: after a deep drawdown a few calm accounts sell out for some months.
        panicking = None
        if drawdown > spec.panic_drawdown:
            calm = self.panic_until < week
            panics = calm & (model.rng.random(len(cash)) < spec.panic_probability)
            if panics.any():
                self.panic_until[panics] = week + model.rng.integers(
                    spec.panic_weeks_min, spec.panic_weeks_max + 1, panics.sum()
                )
                if calm.all():
                    model.log_event("savers' panic selling")
                self.panicked = True
        if self.panicked:
            panicking = self.panic_until >= week
            if not panicking.any():
                self.panicked, panicking = False, None
        lean = float(np.clip(lean, -spec.max_deviation, spec.max_deviation))
        np.add(self.glide, lean, out=target)
        np.clip(target, 0.0, 1.0, out=target)
        if panicking is not None:
            target[panicking] = 0.0
        self.target = target

        # Contributions go in at the target share; the rest of the gap closes gradually; a
        # panicking account sells everything at once. Never spend cash an account does not have,
        # never sell more than it holds.
        gap = scratch
        np.add(cash_after, equity_after, out=gap)
        gap -= contributions
        gap *= target
        gap -= equity_after
        gap *= 1.0 / spec.rebalance_weeks
        np.multiply(target, contributions, out=rebalance)
        rebalance += gap
        if panicking is not None:
            rebalance[panicking] = -equity_after[panicking]
        np.minimum(rebalance, np.maximum(cash_after, 0.0, out=scratch), out=rebalance)
        np.negative(equity_after, out=scratch)
        np.maximum(rebalance, scratch, out=rebalance)
        trade = rebalance
        trade -= sold  # units bought (+) or redeemed (-), in $

        np.multiply(trade, self.passive_share, out=to_index)
        selling = np.flatnonzero(trade < 0.0)
        if selling.size:
            held = equity[selling]
            part = np.divide(index_value[selling], held, out=np.zeros(selling.size), where=held > 0.0)
            to_index[selling] = trade[selling] * part
        np.subtract(trade, to_index, out=to_active)
        # A fund with no positive net asset value can neither issue nor redeem units this week.
        if (fund_index_nav <= NAV_FLOOR).any():
            to_index[index_nav <= NAV_FLOOR] = 0.0
        if (fund_active_nav <= NAV_FLOOR).any():
            to_active[active_nav <= NAV_FLOOR] = 0.0
        cash += income
        cash -= to_index
        cash -= to_active
        index_flows = np.bincount(self.block_index, weights=self._per_block(to_index), minlength=len(self.index_funds))
        active_flows = np.bincount(
            self.block_active, weights=self._per_block(to_active), minlength=len(self.active_funds)
        )[: len(self.active_funds)]
        index_moved, active_moved = to_index, to_active  # now in units
        index_moved /= index_nav
        active_moved /= active_nav
        self.index_units += index_moved
        self.active_units += active_moved

        # Post the week's totals; the arrays are the sub-ledger behind them.
        total_contrib, total_interest = float(contributions.sum()), float(interest.sum())
        total_withdraw = float(withdrawals.sum())
        ledger.transfer(
            "savers' contributions from wages", world.spending, world.cash, self.cash_account, self.wages, total_contrib
        )
        ledger.transfer(
            "interest on savers' cash", world.spending, world.cash, self.cash_account, self.interest, total_interest
        )
        ledger.transfer(
            "retirees' withdrawals", self.withdrawals, self.cash_account, world.cash, world.receipts, total_withdraw
        )
        index_units = np.bincount(
            self.block_index, weights=self._per_block(index_moved), minlength=len(self.index_funds)
        )
        active_units = np.bincount(
            self.block_active, weights=self._per_block(active_moved), minlength=len(self.active_funds)
        )[: len(self.active_funds)]
        self._move_all(
            [*self.index_funds, *self.active_funds],
            np.concatenate([index_flows, active_flows]),
            np.concatenate([index_units, active_units]),
        )
        self.flows = {
            "contributions": total_contrib,
            "withdrawals": total_withdraw,
            "to_index": float(index_flows.sum()),
            "to_active": float(active_flows.sum()),
        }

    def _fill(self, block_values: np.ndarray, out: np.ndarray) -> None:
        """Each account's entry set to its block's value (blocks are contiguous)."""
        for start, size, value in zip(self.starts.tolist(), self.sizes.tolist(), block_values.tolist(), strict=True):
            out[start : start + size] = value

    def _receive_distributions(self, income: np.ndarray) -> None:
        """Each fund passes what it received this week to its unit holders, as cash (one entry);
        what each account gets is added to `income`."""
        funds = [*self.index_funds, *self.active_funds]
        amounts = np.array([max(0.0, f.undistributed) for f in funds])
        units = np.array([f.units for f in funds])
        for fund in funds:
            fund.undistributed = 0.0
        amounts[units <= UNIT_DUST] = 0.0
        if not amounts.any():
            return
        per_unit = np.divide(amounts, units, out=np.zeros(len(funds)), where=units > UNIT_DUST)
        n_index = len(self.index_funds)
        scratch = self._buffers[-1]
        parts = [(self.index_units, per_unit[:n_index][self.block_index])]
        if self.active_funds:
            parts.append((self.active_units, per_unit[n_index:][self.block_active]))
        for block_units, block_values in parts:
            if block_values.any():
                self._fill(block_values, scratch)
                scratch *= block_units
                income += scratch
        paying = np.flatnonzero(amounts)
        total = float(amounts.sum())
        accounts = (
            [funds[i].distributions for i in paying]
            + [funds[i].cash for i in paying]
            + [self.cash_account, self.distributions]
        )
        self.model.ledger.post_arrays(
            "funds distribute income",
            np.array(accounts),
            np.concatenate([amounts[paying], -amounts[paying], [total, -total]]),
        )

    def extra_inflow(self, amount: float) -> None:
        """New money from outside put straight into index funds, pro rata to accounts' wealth
        (the impulse of the flow-multiplier experiment, design 6.3)."""
        world = self.model.outside
        self.model.ledger.transfer(
            "new savings from outside", world.spending, world.cash, self.cash_account, self.wages, amount
        )
        share = self.cash + self.equity_values()
        share = share / share.sum() * amount
        index_nav, _ = self.account_navs(*self.navs())
        moved = share / index_nav
        self.index_units += moved
        n_index = len(self.index_funds)
        per_fund = np.bincount(self.block_index, weights=self._per_block(share), minlength=n_index)
        units = np.bincount(self.block_index, weights=self._per_block(moved), minlength=n_index)
        self._move_all(self.index_funds, per_fund, units)

    def _move_all(self, funds: list, amounts: np.ndarray, units: np.ndarray) -> None:
        """Every fund's units bought (amount > 0) or redeemed this week, as one ledger entry
        (for each fund: units against cash; a redemption also books the gain or loss at cost)."""
        balances = self.model.ledger.balances
        accounts, values = [], []
        for fund, amount, moved in zip(funds, amounts.tolist(), units.tolist(), strict=True):
            if amount == 0.0 or (amount < 0.0 and fund.units <= 0.0):
                continue
            if amount > 0.0:
                accounts += [self.unit_accounts[fund.name], self.cash_account, fund.cash, fund.unit_capital]
                values += [amount, -amount, amount, -amount]
            else:
                paid = -amount
                cost = -balances[fund.unit_capital] * (-moved / fund.units)
                accounts += [
                    self.cash_account,
                    self.unit_accounts[fund.name],
                    self.gains,
                    fund.unit_capital,
                    fund.retained,
                    fund.cash,
                ]
                values += [paid, -cost, cost - paid, cost, paid - cost, -paid]
            fund.units += moved
        if accounts:
            self.model.ledger.post_arrays("savers buy and redeem fund units", np.array(accounts), np.array(values))

    def reconcile(self) -> None:
        """The arrays must add up to the ledger's control accounts."""
        balances = self.model.ledger.balances
        ledger_cash = balances[self.cash_account]
        # Rounding scales with the money that moved through the arrays this week, not with what is left.
        scale = max(1.0, abs(ledger_cash), sum(abs(v) for v in self.flows.values()))
        if abs(self.cash.sum() - ledger_cash) > 1e-11 * scale:
            raise LedgerError(f"savers' sub-ledger cash {self.cash.sum()!r} != control account {ledger_cash!r}")
        held_index, held_active = self.fund_units()
        for fund, held in [
            *zip(self.index_funds, held_index, strict=True),
            *zip(self.active_funds, held_active, strict=True),
        ]:
            fund.peak_units = max(fund.peak_units, fund.units)
            if abs(held - fund.units) > 1e-11 * max(1.0, fund.peak_units):
                raise LedgerError(f"savers hold {held!r} units of {fund.name}, which has {fund.units!r} out")
