"""The model: the economy of circular AI financing and the books that record it.

`CircularFinance` (model.model) is the Mesa model; `model.ledger` is the double-entry
ledger, `model.accounting` the stake methods, regimes and statement rules,
`model.rounds` the funding rounds, `model.contracts` the compute contracts (backlog),
`model.outside` the Outside World and `model.scenario` the scenario files and their
validation.
"""

from model.model import CircularFinance

__all__ = ["CircularFinance"]
