"""Funding rounds (design 5.3): who invests, the money and shares that move, down rounds,
distress and failure. The prices come from `economy.rounds` (bounded, saturating in sentiment).

A lab short of runway opens a round sized to its target runway. Partner giants put in their
agreed share (leaning with sentiment, saturating, limited by their spare cash); outside
investors' appetite follows `economy.rounds`. If partners and outsiders do not fill the round
it is re-priced lower step by step down to the floor multiple; a round still unfilled at the
floor takes what it can get and the lab goes into distress: it cuts compute to what it can pay
and cancels contract volume. A lab that then cannot last a few more weeks fails. A filled round
comes with new multi-year compute contracts, which are the giants' new backlog. Partner money
arrives in the form its partnership sets: cloud credits, cash with a spend-back clause, or
plain cash; with `partner_money = false` partners put nothing into new rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from economy import rounds as pricing

MIN_VALUATION = 1e-6  # $1,000: below this a revenue multiple prices nothing


@dataclass
class Round:
    lab: object
    size: float
    commitments: dict[str, float] = field(default_factory=dict)


def settle(model, rnd: Round) -> dict:
    """Price and fill the round, move the money and the shares; return the round's record."""
    lab = rnd.lab
    rounds = model.config.rounds
    economy = model.config.economy
    revenue = lab.revenue_weekly * 52.0
    m_ref = lab.reference_multiple()
    floor = rounds.floor_multiple
    partners = sum(rnd.commitments.values())
    exponent = (
        rounds.outside_sentiment_elasticity
        * pricing.saturating(model.sentiment - economy.sentiment_reference, rounds.sentiment_scale)
        - rounds.outside_rate_elasticity * (economy.interest_rate - economy.rate_reference)
        + rounds.outside_noise * model.rng.standard_normal()
    )
    depth = (
        rounds.outside_depth * lab.spec.outside_appetite * m_ref * revenue * math.exp(max(-50.0, min(50.0, exponent)))
    )

    def appetite(m: float) -> float:
        if depth <= 0.0:
            return 0.0
        try:
            return depth * (m_ref / m) ** rounds.outside_price_elasticity
        except OverflowError:  # a price near nothing: more outside money than any round needs
            return math.inf

    multiple = pricing.down_round_multiple(
        lab.asking_multiple(), partners, rnd.size, appetite, step=rounds.down_round_step, floor=floor
    )
    filled = partners + appetite(multiple) >= rnd.size
    scale = min(1.0, rnd.size / partners) if partners > 0.0 else 0.0
    from_partners = {g: c * scale for g, c in rnd.commitments.items() if c > 0.0}
    outside = max(0.0, min(rnd.size - sum(from_partners.values()), appetite(multiple)))
    price = multiple * revenue / lab.shares
    if multiple * revenue < MIN_VALUATION:
        # A lab with (next to) no revenue cannot be priced on a revenue multiple: nobody invests.
        filled, from_partners, outside = False, {}, 0.0
    previous_price = lab.price
    record = {
        "lab": lab.name,
        "week": model.week,
        "date": model.date,
        "size": rnd.size,
        "multiple": multiple,
        "pre_money": multiple * revenue,
        "price": price,
        "down_round": price < previous_price,
        "filled": filled,
        "from_partners": sum(from_partners.values()),
        "from_outside": outside,
    }
    if from_partners or outside > 0.0:
        _issue_shares(model, lab, price, from_partners, outside)
    record["post_money"] = lab.valuation()
    quarter = lab.quarter
    quarter["rounds"] += 1
    quarter["raised"] += record["from_partners"] + outside
    quarter["down_rounds"] += int(record["down_round"])
    if filled:
        lab.distressed = False
        lab.sign_contracts(model.config.rounds.contract_ratio * (record["from_partners"] + outside))
    else:
        lab.enter_distress()
        if lab.runway_weeks() < rounds.retry_weeks:
            lab.fail()
    record["distressed"] = lab.distressed
    record["failed"] = lab.failed
    if lab.failed:
        model.log_event(f"{lab.name} failed")
    elif not filled:
        model.log_event(f"{lab.name} round failed, distress")
    elif record["down_round"]:
        model.log_event(f"{lab.name} down round")
    lab.rounds.append(record)
    return record


def _issue_shares(model, lab, price: float, from_partners: dict[str, float], outside: float) -> None:
    ledger = model.ledger
    shares_before = lab.shares
    equity_before = lab.book_equity()
    bought: dict[str, tuple[float, float]] = {}
    for giant_name, amount in from_partners.items():
        giant = model.giants_by_name[giant_name]
        partnership = model.partnerships[(giant_name, lab.name)]
        credits_share, clause_share = model.investment_form(partnership)
        stake = giant.stake_account(lab.name)
        credits = amount * credits_share
        if credits > 0.0:
            ledger.post(
                f"{giant_name} invests in {lab.name} as credits",
                [
                    (stake, credits),
                    (giant.credit_account(lab.name), -credits),
                    (lab.credits[giant_name], credits),
                    (lab.paid_in, -credits),
                ],
            )
            giant.quarter["invested_credits"] += credits
            model.holding(giant_name, lab.name).credits_issued += credits
        cash = amount - credits
        tied = min(cash, amount * clause_share)
        for part, pocket in ((tied, lab.clause_cash[giant_name]), (cash - tied, lab.cash["investor"])):
            if part > 0.0:
                ledger.transfer(
                    f"{giant_name} invests cash in {lab.name}", stake, giant.cash, pocket, lab.paid_in, part
                )
        giant.quarter["invested_cash"] += cash
        holding = model.holding(giant_name, lab.name)
        new_shares = amount / price
        holding.shares += new_shares
        holding.cost_basis += amount
        bought[giant_name] = (new_shares, amount)
    if outside > 0.0:
        world = model.outside
        ledger.transfer(
            f"outside investors buy {lab.name}",
            world.lab_equity[lab.name],
            world.cash,
            lab.cash["investor"],
            lab.paid_in,
            outside,
        )
    raised = sum(from_partners.values()) + outside
    lab.shares += raised / price
    lab.price = price
    equity_after = lab.book_equity()
    for giant_name, holding in model.holdings_in(lab.name):
        if holding.method == "equity":
            new_shares, invested = bought.get(giant_name, (0.0, 0.0))
            holding.pending_dilution += model.accounting.dilution_gain(
                holding, shares_before, lab.shares, equity_before, equity_after, new_shares, invested
            )
