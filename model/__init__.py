"""The model: the economy of circular AI financing and the books that record it.

`CircularFinance` (model.model) is the Mesa model; `model.ledger` is the double-entry
ledger, `model.accounting` the stake methods, regimes and statement rules,
`model.rounds` the funding rounds, `model.contracts` the compute contracts (backlog),
`model.outside` the Outside World and `model.scenario` the scenario files and their
validation.
"""

__all__ = ["CircularFinance"]


def __getattr__(name: str):
    # Imported on first use: the agents import model submodules, and the model imports the
    # agents, so an eager import here would be circular when `agents` is imported first.
    if name == "CircularFinance":
        from model.model import CircularFinance
        return CircularFinance
    raise AttributeError(f"module 'model' has no attribute {name!r}")
