"""The opening books, in one place: balance sheets of the giants and labs, stakes and contracts,
the market's register, the funds and the savers (design 3, 5.1 and 6.2).

Each owner's equity is the plug of its opening entry. The market opens in an equilibrium of
the opening beliefs: index funds hold the passive share of fund money in every stock, active
funds hold exactly their target weights at the opening prices, savers hold exactly their
target equity share, and foreign and direct holders the rest. What the strategies'
valuations cannot explain about who holds what is latent demand (Koijen and Yogo 2019): one
number per stock, solved here so that every stock clears at its opening price, so nothing
jumps at step 0. The latent demand then stays as it is; only its noise moves.
"""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

import numpy as np

from agents.funds import TREND, ActiveFund, IndexFund, OtherHolders
from agents.savers import RetirementAccount, SaverPool
from economy.contracts import ComputeContract
from economy.errors import DomainError
from economy.ledger import ASSET, Ledger
from economy.market import REST, Market, Orders
from model.beliefs import Beliefs

REST_PRICE = 100.0  # the rest-of-market stock's opening price; its share count follows from its cap
LATENT_ITERATIONS = 2000


def open_economy(model) -> None:
    """Opening balance sheets of giants and labs, their stakes and compute contracts."""
    ledger = model.ledger
    world = model.outside
    config = model.config
    for giant, spec in zip(model.giants, config.giants, strict=True):
        legs = [(giant.cash, spec.cash), (giant.debt, -spec.debt), (world.bonds[giant.name], spec.debt)]
        build_cost = spec.capacity_under_construction * spec.capex_cost
        if build_cost > 0.0:
            for week in range(spec.build_weeks):
                giant.start_building(
                    week + 1, spec.capacity_under_construction / spec.build_weeks, build_cost / spec.build_weeks
                )
        legs += [(giant.ppe, spec.ppe), (giant.cip, build_cost)]
        other = next((o.backlog for o in config.other_backlog if o.giant == giant.name), 0.0)
        giant.other_backlog = other
        giant.other_backlog_years = other / spec.cloud_other_revenue if spec.cloud_other_revenue else 0.0
        giant.fcf_history = list(spec.fcf_prior_quarters)
        ledger.post(
            f"opening {giant.name}",
            legs
            + [(giant.paid_in, -(spec.cash + spec.ppe + build_cost - spec.debt)), (world.net_position, -spec.debt)],
        )
    for lab, spec in zip(model.labs, config.labs, strict=True):
        ledger.post(f"opening {lab.name}", [(lab.cash["investor"], spec.cash), (lab.paid_in, -spec.cash)])
        outside = 1.0 - sum(p.stake for p in config.partnerships if p.lab == lab.name)
        value = outside * spec.last_post_money
        ledger.post(
            f"opening outside holders of {lab.name}",
            [(world.lab_equity[lab.name], value), (world.net_position, -value)],
        )
    for p in config.partnerships:
        giant = model.giants_by_name[p.giant]
        lab = model.labs_by_name[p.lab]
        holding = model.holding(p.giant, p.lab)
        holding.shares = p.stake * lab.shares
        holding.cost_basis = p.cost_basis
        holding.credits_issued = p.credits_issued_to_date
        carrying = p.stake * lab.spec.last_post_money if holding.method == "fair_value" else p.cost_basis
        unspent = p.credits_unspent
        # With investment as plain cash (no spend-back), unspent credits were cash instead.
        owed, pocket = (
            (giant.credit_account(p.lab), lab.credits[p.giant])
            if config.economy.spend_back
            else (giant.cash, lab.cash["investor"])
        )
        ledger.post(
            f"opening {p.giant} stake in {p.lab}",
            [
                (giant.stake_account(p.lab), carrying),
                (owed, -unspent),
                (giant.paid_in, unspent - carrying),
                (pocket, unspent),
                (lab.paid_in, -unspent),
            ],
        )
    for c in config.contracts:
        lab = model.labs_by_name[c.lab]
        lab.contracts.append(ComputeContract.new(c.giant, c.lab, c.value, c.start_week, c.years))
    for lab in model.labs:
        lab.contracts_changed()
        lab.open_untied_spend()


def open_market(model, tastes: tuple[np.ndarray, float] | None = None) -> None:
    """The market, its holders and the savers, in equilibrium at the opening prices.

    `tastes` is the latent demand and other holders' demand scale (per unit of their share) of
    the scenario the model is a counterfactual of (see `reference_tastes`): kept as they are, the counterfactual's own
    beliefs then move prices in its first week. Without it they are solved here.
    """
    config = model.config
    spec = config.market
    ledger = model.ledger
    world = model.outside
    giants = model.giants
    names = [g.name for g in giants] + [REST]
    shares = np.array([g.spec.shares_outstanding for g in giants] + [spec.rest_market_cap / REST_PRICE])
    prices = np.array([g.spec.price for g in giants] + [REST_PRICE])
    market = Market(ledger, names, shares, prices)
    market.set_issuers([(g.cash, g.treasury) for g in giants] + [(world.cash, world.net_position)])
    model.market = market
    beliefs = Beliefs(model, market)
    model.beliefs = beliefs
    beliefs.revalue()

    # Funds: index funds hold the passive share of fund money, active funds the rest.
    passive = spec.passive_share if spec.active_funds > 0 else 1.0
    index_funds = [IndexFund(model, f"IndexFund{i + 1}") for i in range(spec.index_funds)]
    mix = np.array([spec.earnings_share, 1.0 - spec.earnings_share - spec.trend_share, spec.trend_share])
    strategies = model.rng.choice(3, size=spec.active_funds, p=mix / mix.sum())
    active_funds = [ActiveFund(model, f"ActiveFund{k + 1}", int(s)) for k, s in enumerate(strategies)]
    savers = SaverPool(model, config.savers, index_funds, active_funds, passive)
    model.savers = savers
    model.index_funds, model.active_funds = index_funds, active_funds
    model.accounts = [RetirementAccount(model, row) for row in range(config.savers.accounts)]

    caps = market.caps()
    total = float(caps.sum())
    fund_equity = (1.0 - spec.other_holders_share) * total
    index_assets = passive * fund_equity
    active_assets = (1.0 - passive) * fund_equity / spec.equity_share  # their cash on top
    index_holdings = shares * (index_assets / total)
    sizes = savers.active_fund_weights() * active_assets
    wealth = np.array(sizes)
    chosen = np.array([f.strategy for f in active_funds], dtype=int)
    if tastes is None:
        weights, _ = _latent_demand(beliefs, market, shares - index_holdings, wealth, chosen)
    else:
        # A counterfactual keeps the reference's tastes and opens at its own equilibrium prices.
        beliefs.latent, beliefs.other_scale = tastes[0].copy(), tastes[1] * spec.other_holders_share
        factor = _opening_prices(beliefs, market, index_holdings / shares, wealth / total, chosen)
        prices = market.prices
        market.opening_prices = prices.copy()
        beliefs.start_history()
        beliefs.revalue()
        wealth = wealth * factor
        weights = beliefs.strategy_weights()

    for fund in index_funds:
        fund.row = market.add_holder(fund, index_holdings / len(index_funds))
    for k, fund in enumerate(active_funds):
        fund.row = market.add_holder(fund, wealth[k] * weights[chosen[k]] / prices)
    model.other_holders = OtherHolders(world)
    held = market.holdings.sum(axis=0)
    model.other_row = market.add_holder(model.other_holders, shares - held)
    if (market.holdings[model.other_row] < 0.0).any():
        raise DomainError(
            "the opening market cannot clear: the funds want more of a stock than exists at its opening price"
        )

    # Fund units at NAV 1: each index fund's stocks, each active fund's stocks and cash.
    for fund in [*index_funds, *active_funds]:
        fund.units = market.value_of(fund.row) if isinstance(fund, IndexFund) else wealth[active_funds.index(fund)]
    savers.place(sum(f.units for f in index_funds) + sum(f.units for f in active_funds), beliefs.saver_lean())
    for fund in [*index_funds, *active_funds]:
        invested = market.value_of(fund.row)
        ledger.post(
            f"opening {fund.name}",
            market.opening_legs(fund.row) + [(fund.cash, fund.units - invested), (fund.unit_capital, -fund.units)],
        )
    legs = market.opening_legs(model.other_row)
    ledger.post("opening other holders", legs + [(world.net_position, -sum(v for _, v in legs))])
    legs = [(savers.cash_account, float(savers.cash.sum()))]
    legs += [(savers.unit_accounts[f.name], f.units) for f in [*index_funds, *active_funds]]
    legs.append((savers.net_worth, -sum(v for _, v in legs)))
    ledger.post("opening savers", legs)
    model.fund_of_row = {fund.row: fund for fund in [*index_funds, *active_funds]}


def _opening_prices(
    beliefs: Beliefs, market: Market, index_fraction: np.ndarray, fund_shares: np.ndarray, chosen: np.ndarray
) -> float:
    """Set the market's prices to those at which every holder is at its target (the opening
    equilibrium of the beliefs, given their latent demand); return the factor by which the
    market's value changed. Funds are sized as shares of the market's value, so they are solved
    with it: a throwaway register where each active fund holds its share of every stock."""
    spec = beliefs.model.config.market
    names = market.names
    scratch = Market(Ledger(), names, market.shares, market.prices)
    stub = scratch.ledger

    def holder(name: str, holding: np.ndarray) -> int:
        return scratch.add_holder(
            SimpleNamespace(name=name, cash=stub.open(name, "cash", ASSET, is_cash=True)), holding
        )

    active_rows = [holder(f"active{k}", share * market.shares) for k, share in enumerate(fund_shares)]
    index_row = holder("index", index_fraction * market.shares)
    other_row = holder("other", np.zeros(len(names)))
    before = float(market.caps().sum())
    # Trend followers value a stock at its price carried along its trend, and the opening history
    # is last year's pace whatever the opening level (`Beliefs.start_history`, re-run at the
    # prices found here): their value is a fixed multiple of the opening price, so their tilt is
    # the same at any opening price. Held at today's trend values instead, they would clear here
    # against prices their re-read values then ignore, and be placed at holdings this clearing
    # never gave them (other holders, taking the rest, could be left short of a stock).
    kappa = np.broadcast_to(beliefs.kappa, (len(chosen), len(names))).copy()
    noise = beliefs.strategy_noise[chosen].copy()
    trend = chosen == TREND
    noise[trend] += kappa[trend] * np.log(beliefs.values[TREND] / market.prices)
    kappa[trend] = 0.0
    orders = Orders(
        index_rows=[index_row],
        index_flows=np.zeros(1),
        active_rows=active_rows,
        active_values=beliefs.values[chosen],
        active_noise=noise,
        latent=beliefs.latent,
        tilt_bound=spec.tilt_bound,
        active_cash=np.zeros(len(active_rows)),
        equity_share=spec.equity_share,
        kappa=kappa,
        other_row=other_row,
        other_target=beliefs.other_target(),
        other_elasticity=beliefs.other_elasticity,
        issuer_dollars=np.zeros(len(names)),
    )
    scratch.clear(orders)
    market.prices[:] = scratch.prices
    return float(market.caps().sum()) / before


def _latent_demand(
    beliefs: Beliefs, market: Market, needed: np.ndarray, wealth: np.ndarray, chosen: np.ndarray
) -> tuple[np.ndarray, float]:
    """Latent demand per stock (and the scale of other holders' demand) at which active funds'
    and other holders' demand at the opening prices equals the shares index funds leave.

    Fixed-point iteration on δ_j += log(needed_j / demand_j), re-centred each time so that
    latent demand averages zero over the market (its level goes into the other holders' scale).
    """
    spec = beliefs.model.config.market
    prices, shares = market.prices, market.shares
    caps = market.caps()
    eta = spec.other_holders_elasticity
    other = spec.other_holders_share
    beliefs.latent = np.zeros(len(prices))
    for _ in range(LATENT_ITERATIONS):
        beliefs.other_scale = other
        weights = beliefs.strategy_weights()
        active = (wealth[:, None] * weights[chosen]).sum(axis=0) / prices
        others = other * shares * (beliefs.fundamental / prices) ** eta * beliefs.taste()
        gap = np.log(needed / (active + others))
        if np.max(np.abs(gap)) < 1e-12:
            break
        beliefs.latent = beliefs.latent + gap
        shift = float(caps @ beliefs.latent / caps.sum())
        beliefs.latent -= shift
        other *= np.exp(shift)
    else:
        raise DomainError("the opening market cannot clear: no latent demand balances the opening holdings")
    beliefs.other_scale = other
    return beliefs.strategy_weights(), other


def reference_tastes(config, rng) -> tuple[np.ndarray, float] | None:
    """Latent demand of the scenario `config` is a counterfactual of (`market.latent_reference`).

    Investors' tastes are a fact about the world, not about the rule under study: a counterfactual
    (another accounting regime, rate or passive share) keeps the reference scenario's latent
    demand, solved at the reference's own opening with the same seed, instead of re-solving it so
    that its opening prices stay as observed (which would hide the counterfactual's first effect in
    the tastes). None when `config` is its own reference.
    """
    from model import scenario as scenarios
    from model.model import CircularFinance

    name = config.market.latent_reference
    if not name:
        return None
    reference = scenarios.load(name)
    if _economy(reference) == _economy(config):
        return None
    reference = dataclasses.replace(reference, market=dataclasses.replace(reference.market, latent_reference=""))
    model = CircularFinance(reference, years=None, rng=copy.deepcopy(rng))
    # Other holders' demand per unit of their share of the market: a counterfactual with another
    # share scales it, instead of asking the same holders to hold a different share.
    return model.beliefs.latent.copy(), model.beliefs.other_scale / reference.market.other_holders_share


def _economy(config) -> dict:
    """What shapes the opening market: the scenario's contents less its labels, seed, run and
    the number of saver accounts (a resolution, not an economic difference)."""
    plain = config.to_dict()
    for key in ("name", "description", "source", "seed", "run"):
        plain.pop(key, None)
    plain["savers"].pop("accounts", None)
    return plain
