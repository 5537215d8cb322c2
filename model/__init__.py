"""The model: wires agents and the economy's kernel into one Mesa model and runs it week by week.

`CircularFinance` (model.model) is the Mesa model; `model.rounds` settles the funding rounds,
`model.outside` is the Outside World, `model.scenario` reads and validates scenario files,
`model.bubbles` dates bubble episodes and `model.calibration` compares the first quarter with
the seed figures. The shared kernel (ledger, accounting, contracts, valuation, market
clearing, errors) is the `economy` package below the agents.
"""

__all__ = ["CircularFinance"]


def __getattr__(name: str):
    # Imported on first use: the agents import model submodules, and the model imports the
    # agents, so an eager import here would be circular when `agents` is imported first.
    if name == "CircularFinance":
        from model.model import CircularFinance

        return CircularFinance
    raise AttributeError(f"module 'model' has no attribute {name!r}")
