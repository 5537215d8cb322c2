"""The ledger refuses anything that is not double entry, and its checks catch tampering."""

import math

import pytest

from economy.ledger import ASSET, EQUITY, EXPENSE, INCOME, LIABILITY, Ledger, LedgerError


@pytest.fixture
def books():
    ledger = Ledger(keep_journal=True)
    a_cash = ledger.open("A", "cash", ASSET, is_cash=True)
    a_equity = ledger.open("A", "equity", EQUITY)
    a_cost = ledger.open("A", "costs", EXPENSE)
    b_cash = ledger.open("B", "cash", ASSET, is_cash=True)
    b_income = ledger.open("B", "sales", INCOME)
    b_equity = ledger.open("B", "equity", EQUITY)
    ledger.post("opening A", [(a_cash, 100.0), (a_equity, -100.0)])
    ledger.mark_opening()
    return ledger, dict(
        a_cash=a_cash, a_equity=a_equity, a_cost=a_cost, b_cash=b_cash, b_income=b_income, b_equity=b_equity
    )


def test_payment_moves_money_between_owners_and_keeps_both_balanced(books):
    ledger, acc = books
    ledger.transfer("A buys from B", acc["a_cost"], acc["a_cash"], acc["b_cash"], acc["b_income"], 30.0)
    assert ledger.balance(acc["a_cash"]) == 70.0
    assert ledger.balance(acc["b_cash"]) == 30.0
    assert ledger.balance(acc["b_income"]) == 30.0
    assert ledger.money() == 100.0
    ledger.check()
    assert ledger.journal[-1][1] == "A buys from B"


def test_unbalanced_entry_is_refused_and_changes_nothing(books):
    ledger, acc = books
    before = list(ledger.balances)
    with pytest.raises(LedgerError, match="do not balance"):
        ledger.post("bad", [(acc["a_cash"], 10.0), (acc["a_equity"], -9.0)])
    assert ledger.balances == before


def test_entry_balanced_overall_but_not_per_owner_is_refused(books):
    ledger, acc = books
    # A's cash leaves and B's income appears: balanced in total, but neither owner balances.
    with pytest.raises(LedgerError, match="do not balance"):
        ledger.post("half payment", [(acc["b_income"], -5.0), (acc["a_cash"], 5.0)])


def test_payment_halves_must_each_belong_to_one_owner(books):
    ledger, acc = books
    with pytest.raises(LedgerError, match="one owner"):
        ledger.transfer("crossed", acc["a_cost"], acc["b_cash"], acc["a_cash"], acc["b_income"], 1.0)


@pytest.mark.parametrize("amount", [math.nan, math.inf])
def test_non_finite_amounts_are_refused(books, amount):
    ledger, acc = books
    with pytest.raises(LedgerError, match="non-finite"):
        ledger.post("nan", [(acc["a_cash"], amount), (acc["a_equity"], -amount)])
    with pytest.raises(LedgerError, match="non-finite"):
        ledger.transfer("nan", acc["a_cost"], acc["a_cash"], acc["b_cash"], acc["b_income"], amount)


def test_check_catches_money_created_outside_an_entry(books):
    ledger, acc = books
    ledger.balances[acc["a_cash"]] += 1e-6  # a millionth of a billion: $1,000
    with pytest.raises(LedgerError):
        ledger.check()


def test_check_catches_money_conjured_with_a_balanced_but_payee_less_entry(books):
    ledger, acc = books
    # Balanced for A, but cash appears from nowhere: only the money check can see it.
    ledger.post("windfall", [(acc["a_cash"], 5.0), (acc["a_equity"], -5.0)])
    with pytest.raises(LedgerError, match="money not conserved"):
        ledger.check()


def test_closing_moves_income_and_expense_into_retained_earnings(books):
    ledger, acc = books
    ledger.transfer("sale", acc["a_cost"], acc["a_cash"], acc["b_cash"], acc["b_income"], 12.5)
    assert ledger.result("B") == 12.5
    assert ledger.close_into("B", acc["b_equity"]) == 12.5
    assert ledger.balance(acc["b_income"]) == 0.0
    assert ledger.balance(acc["b_equity"]) == 12.5
    assert ledger.close_into("A", acc["a_equity"]) == -12.5
    assert ledger.owner_totals("A") == {"asset": 87.5, "liability": 0.0, "equity": 87.5}
    ledger.check()


def test_cash_accounts_must_be_assets():
    with pytest.raises(LedgerError):
        Ledger().open("A", "cash", LIABILITY, is_cash=True)
