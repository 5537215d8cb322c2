"""The double-entry ledger: the only way money, claims and book values change in the model.

Every account belongs to one owner (an agent or the Outside World) and has a kind: asset,
liability, equity, income or expense. Balances are kept debit-positive, so for every owner
the balances of all its accounts sum to zero (assets = liabilities + equity, with income and
expense still open inside equity). An entry is a list of legs (account, debit-positive
amount); `post` refuses an entry unless its legs balance for every owner it touches, so the
accounting identity holds after every entry by construction, and `check` verifies it
independently. Cash accounts are flagged: money moves only between cash accounts, so the
sum of all cash (the Outside World's included, which may be negative because it is where
money comes from) stays at its opening value. The ledger is plain Python lists indexed by
integers because a ten-year run posts tens of thousands of entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ASSET, LIABILITY, EQUITY, INCOME, EXPENSE = "asset", "liability", "equity", "income", "expense"
KINDS = (ASSET, LIABILITY, EQUITY, INCOME, EXPENSE)

# Relative tolerance of every balance check: one dollar per trillion (design 5.1, issue 2).
REL_TOL = 1e-12


class LedgerError(RuntimeError):
    """An entry that would break double entry, or a failed invariant check."""


@dataclass(frozen=True, slots=True)
class Account:
    index: int
    owner: str
    name: str
    kind: str
    is_cash: bool


class Ledger:
    """Accounts, balances and balanced entries; optionally a journal of every entry."""

    def __init__(self, keep_journal: bool = False):
        self.accounts: list[Account] = []
        self.balances: list[float] = []
        self._by_key: dict[tuple[str, str], int] = {}
        self._owner_accounts: dict[str, list[int]] = {}
        self._owner_of: list[str] = []
        self._owner_ids: list[int] = []  # owner of each account, as a small integer
        self._owner_index: dict[str, int] = {}
        self._owner_array: np.ndarray | None = None
        self.cash_accounts: list[int] = []
        self.keep_journal = keep_journal
        self.journal: list[tuple[int, str, tuple[tuple[int, float], ...]]] = []
        self.entry_count = 0
        self.step = 0
        self.opening_money: float | None = None
        self._peak_gross: dict[str, float] = {}

    # ----------------------------------------------------------------- accounts
    def open(self, owner: str, name: str, kind: str, is_cash: bool = False) -> int:
        """Open an account and return its index (opening twice returns the same account)."""
        key = (owner, name)
        if key in self._by_key:
            return self._by_key[key]
        if kind not in KINDS:
            raise LedgerError(f"unknown account kind {kind!r} for {owner}:{name}")
        if is_cash and kind != ASSET:
            raise LedgerError(f"cash account {owner}:{name} must be an asset")
        index = len(self.accounts)
        self.accounts.append(Account(index, owner, name, kind, is_cash))
        self.balances.append(0.0)
        self._owner_of.append(owner)
        self._owner_ids.append(self._owner_index.setdefault(owner, len(self._owner_index)))
        self._owner_array = None
        self._by_key[key] = index
        self._owner_accounts.setdefault(owner, []).append(index)
        if is_cash:
            self.cash_accounts.append(index)
        return index

    def account(self, owner: str, name: str) -> int:
        return self._by_key[(owner, name)]

    def owners(self) -> list[str]:
        return list(self._owner_accounts)

    def balance(self, index: int) -> float:
        """Balance in the account's natural sign (positive for a normal balance)."""
        value = self.balances[index]
        return value if self.accounts[index].kind in (ASSET, EXPENSE) else -value

    # ------------------------------------------------------------------ entries
    def post(self, memo: str, legs: list[tuple[int, float]]) -> None:
        """Post a balanced entry; legs are (account, amount) with debits positive.

        The legs must balance for each owner separately: an entry between two agents is two
        balanced halves (for a payment: the payer credits cash, the payee debits cash).
        """
        owner_of = self._owner_of
        owner_sums: dict[str, float] = {}
        largest = 0.0
        for index, amount in legs:
            size = abs(amount)
            if not size < math.inf:  # also catches NaN, which compares false
                raise LedgerError(f"{memo}: non-finite amount")
            owner = owner_of[index]
            owner_sums[owner] = owner_sums.get(owner, 0.0) + amount
            if size > largest:
                largest = size
        tolerance = REL_TOL * max(largest, 1.0)
        for owner, total in owner_sums.items():
            if abs(total) > tolerance:
                raise LedgerError(f"{memo}: legs of {owner} do not balance (off by {total:.3e})")
        balances = self.balances
        for index, amount in legs:
            balances[index] += amount
        self._record(memo, legs)

    def post_arrays(self, memo: str, accounts: np.ndarray, amounts: np.ndarray) -> None:
        """`post` for many legs at once (account indices and debit-positive amounts as arrays):
        the same rule, every owner's legs balance, checked with vector arithmetic."""
        amounts = np.asarray(amounts, dtype=float)
        accounts = np.asarray(accounts, dtype=np.intp)
        if not np.all(np.isfinite(amounts)):
            raise LedgerError(f"{memo}: non-finite amount")
        if self._owner_array is None:
            self._owner_array = np.array(self._owner_ids, dtype=np.intp)
        owners = self._owner_array[accounts]
        sums = np.bincount(owners, weights=amounts, minlength=len(self._owner_index))
        tolerance = REL_TOL * max(float(np.max(np.abs(amounts), initial=0.0)), 1.0)
        off = np.flatnonzero(np.abs(sums) > tolerance)
        if off.size:
            owner = next(name for name, i in self._owner_index.items() if i == off[0])
            raise LedgerError(f"{memo}: legs of {owner} do not balance (off by {sums[off[0]]:.3e})")
        balances = self.balances
        for index, amount in zip(accounts.tolist(), amounts.tolist(), strict=True):
            balances[index] += amount
        self._record(memo, tuple(zip(accounts.tolist(), amounts.tolist(), strict=True)))

    def transfer(
        self, memo: str, payer_debit: int, payer_cash: int, payee_cash: int, payee_credit: int, amount: float
    ) -> None:
        """A payment between two owners: each side records its own balanced half.

        The commonest entry, so it skips the general check: its legs balance by construction
        once each half is known to belong to one owner.
        """
        if amount == 0.0:
            return
        owner_of = self._owner_of
        if owner_of[payer_debit] != owner_of[payer_cash] or owner_of[payee_cash] != owner_of[payee_credit]:
            raise LedgerError(f"{memo}: each half of a payment must belong to one owner")
        if not abs(amount) < math.inf:
            raise LedgerError(f"{memo}: non-finite amount")
        balances = self.balances
        balances[payer_debit] += amount
        balances[payer_cash] -= amount
        balances[payee_cash] += amount
        balances[payee_credit] -= amount
        self.entry_count += 1
        if self.keep_journal:
            self.journal.append(
                (
                    self.step,
                    memo,
                    ((payer_debit, amount), (payer_cash, -amount), (payee_cash, amount), (payee_credit, -amount)),
                )
            )

    def _record(self, memo: str, legs) -> None:
        self.entry_count += 1
        if self.keep_journal:
            self.journal.append((self.step, memo, tuple(legs)))

    def close_into(self, owner: str, retained: int, skip: frozenset[int] = frozenset()) -> float:
        """Close the owner's income and expense accounts into `retained`; return net income."""
        legs = []
        total = 0.0
        for index in self._owner_accounts[owner]:
            account = self.accounts[index]
            if account.kind in (INCOME, EXPENSE) and index not in skip:
                value = self.balances[index]
                if value != 0.0:
                    legs.append((index, -value))
                    total += value
        if legs:
            legs.append((retained, total))
            self.post(f"close {owner}", legs)
        return -total  # income is credit (negative) in debit-positive terms

    def result(self, owner: str) -> float:
        """Profit so far in the open period: income less expense, not yet closed."""
        total = 0.0
        for index in self._owner_accounts[owner]:
            if self.accounts[index].kind in (INCOME, EXPENSE):
                total -= self.balances[index]
        return total

    # --------------------------------------------------------------- invariants
    def money(self) -> float:
        return math.fsum(self.balances[i] for i in self.cash_accounts)

    def mark_opening(self) -> None:
        """Record the money stock once opening balances are in; it must never change after."""
        self.opening_money = self.money()

    def check(self) -> None:
        """Raise LedgerError unless every owner balances and money is conserved.

        Tolerance: one dollar per trillion of the gross balances being summed (their peak).
        """
        balances = self.balances
        peaks = self._peak_gross
        for owner, indices in self._owner_accounts.items():
            values = [balances[i] for i in indices]
            total = math.fsum(values)
            # Judged against the largest books the owner has had: an account emptied after large
            # flows keeps the rounding of those flows.
            peaks[owner] = max(peaks.get(owner, 1.0), math.fsum(map(abs, values)))
            if abs(total) > REL_TOL * peaks[owner]:
                raise LedgerError(f"{owner}: assets != liabilities + equity (off by {total:.3e})")
        if self.opening_money is not None:
            cash = [balances[i] for i in self.cash_accounts]
            drift = math.fsum(cash) - self.opening_money
            peaks["money"] = max(peaks.get("money", 1.0), math.fsum(map(abs, cash)))
            if abs(drift) > REL_TOL * peaks["money"]:
                raise LedgerError(f"money not conserved: drift {drift:.3e}")

    def owner_totals(self, owner: str) -> dict[str, float]:
        """Assets, liabilities, equity (income and expense folded in) of one owner."""
        totals = {ASSET: 0.0, LIABILITY: 0.0, EQUITY: 0.0}
        for index in self._owner_accounts[owner]:
            account = self.accounts[index]
            value = self.balances[index]
            if account.kind == ASSET:
                totals[ASSET] += value
            elif account.kind == LIABILITY:
                totals[LIABILITY] -= value
            else:
                totals[EQUITY] -= value
        return totals
