"""Accounting: how stakes are carried, what the regime changes, and the quarterly statements.

Per holding, a method (design 5.4):
- fair value / measurement alternative (ASC 321): a priced round re-measures the stake to
  the round price through net income;
- equity method (ASC 323): the holder books its share of the lab's profit or loss and a
  dilution gain or loss when the lab issues shares; no mark to the round price;
- cost: no re-measurement until impairment.
Every method impairs a stake whose fair value (the last round price) falls below its
carrying value, and writes it off when the lab fails.
Per scenario, a regime: `gaap_2026` (each holding's own method, round-trip revenue
gross), `net_roundtrip` (round-trip revenue netted out, as ASC 606 treats consideration
payable to a customer), `no_marks` (every stake at cost) and `strict` (both). The regime
changes only non-cash entries; cash taxes are computed on a regime-free taxable income,
and the difference goes to deferred tax, so the cash path is the same under all four.
"""

from __future__ import annotations

from dataclasses import dataclass

from economy.ledger import Ledger

NETS_ROUNDTRIP = {"gaap_2026": False, "net_roundtrip": True, "no_marks": False, "strict": True}
KEEPS_MARKS = {"gaap_2026": True, "net_roundtrip": True, "no_marks": False, "strict": False}


@dataclass
class Holding:
    """One giant's shares in one lab."""

    giant: str
    lab: str
    shares: float
    method: str
    cost_basis: float  # what the giant has actually put in (cash and credits)
    credits_issued: float = 0.0  # cloud credits given to the lab, to date
    pending_dilution: float = 0.0  # equity-method dilution gains since the last close


class Accounting:
    """The regime in force and the re-measurement rules."""

    def __init__(self, regime: str):
        self.regime = regime
        self.nets_roundtrip = NETS_ROUNDTRIP[regime]
        self.keeps_marks = KEEPS_MARKS[regime]

    def method(self, declared: str) -> str:
        return declared if self.keeps_marks else "cost"

    # ------------------------------------------------------------------ rounds
    @staticmethod
    def dilution_gain(
        holding: Holding,
        shares_before: float,
        shares_after: float,
        equity_before: float,
        equity_after: float,
        shares_bought: float,
        invested: float,
    ) -> float:
        """ASC 323 dilution gain: the change in the holder's share of the lab's book equity,
        less what the holder itself put in (shares before/after are the lab's totals)."""
        own_before = holding.shares - shares_bought
        share_before = own_before / shares_before
        share_after = holding.shares / shares_after
        return share_after * equity_after - share_before * equity_before - invested

    # ----------------------------------------------------------- quarter end
    def remeasure(self, ledger: Ledger, giant, holding: Holding, lab) -> dict[str, float]:
        """Quarter-end re-measurement of one stake; posts the entries, returns their amounts."""
        stake = giant.stake_account(holding.lab)
        carrying = ledger.balances[stake]
        fair = holding.shares * lab.price
        out = {"mark": 0.0, "equity_income": 0.0, "dilution": 0.0, "impairment": 0.0}
        if holding.method == "fair_value":
            out["mark"] = fair - carrying
            if out["mark"]:
                ledger.post(
                    f"{giant.name} marks {lab.name} to the round price",
                    [(stake, out["mark"]), (giant.mark_gains, -out["mark"])],
                )
            holding.pending_dilution = 0.0
            return out
        if holding.method == "equity":
            share = holding.shares / lab.shares * lab.last_net_income
            # Losses stop at a zero carrying value (ASC 323-10-35-20).
            share = max(share, -carrying)
            out["equity_income"] = share
            out["dilution"] = max(holding.pending_dilution, -(carrying + share))
            holding.pending_dilution = 0.0
            for amount, account, memo in (
                (share, giant.equity_income, "share of result"),
                (out["dilution"], giant.dilution_gains, "dilution gain"),
            ):
                if amount:
                    ledger.post(f"{giant.name} {memo} in {lab.name}", [(stake, amount), (account, -amount)])
            carrying = ledger.balances[stake]
        holding.pending_dilution = 0.0
        if fair < carrying:
            out["impairment"] = carrying - fair
            ledger.post(
                f"{giant.name} impairs {lab.name}",
                [(giant.impairments, out["impairment"]), (stake, -out["impairment"])],
            )
        return out


def paper_wealth(ledger: Ledger, giant) -> float:
    """Carrying value of the giant's stakes over what it actually put in (design 5.1)."""
    total = 0.0
    for lab, holding in giant.holdings.items():
        total += ledger.balances[giant.stake_account(lab)] - holding.cost_basis
    return total


def revenue_by_origin(giant_quarters, quarters: int = 4):
    """Each giant's cloud revenue over its first `quarters` quarters, split by who really paid:
    round-trip, cross-funded and real (design 5.2), in $B and as shares of the total."""
    columns = {"roundtrip": "cloud_revenue_roundtrip", "cross": "cloud_revenue_cross", "real": "cloud_revenue_real"}
    first = giant_quarters.groupby("giant", sort=False).head(quarters)
    table = first.groupby("giant", sort=False)[list(columns.values())].sum()
    table.columns = list(columns)
    total = table.sum(axis=1)
    for origin in columns:
        table[f"{origin}_share"] = table[origin] / total.where(total > 0.0)
    return table.reset_index()
