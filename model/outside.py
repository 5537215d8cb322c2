"""The Outside World: everyone who is not an agent of the model, as one set of accounts.

External customers who pay real revenue, suppliers who are paid costs and capex, outside
investors who buy lab shares, the bond market that lends to the giants and the
shareholders who receive payouts. It is the only source and sink of money (design 3):
its cash account may go negative, and every flow in or out of it is a ledger entry, so
the sum of all cash in the model, its own included, never changes.
"""

from __future__ import annotations

from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME, Ledger

OWNER = "OutsideWorld"


class OutsideWorld:
    def __init__(self, ledger: Ledger, giants: list[str], labs: list[str]):
        self.cash = ledger.open(OWNER, "cash", ASSET, is_cash=True)
        self.spending = ledger.open(OWNER, "spending", EXPENSE)
        self.receipts = ledger.open(OWNER, "receipts", INCOME)
        self.net_position = ledger.open(OWNER, "net_position", EQUITY)
        self.bonds = {g: ledger.open(OWNER, f"bonds:{g}", ASSET) for g in giants}
        self.lab_equity = {lab: ledger.open(OWNER, f"lab_equity:{lab}", ASSET) for lab in labs}

    def step(self, model) -> None:
        """Design step 1: core business and other cloud customers buy from the giants."""
        for giant in model.giants:
            giant.earn_core_business()
            giant.serve_other_customers()
