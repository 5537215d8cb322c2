"""The run function experiments execute: one scenario, one seed, one set of tables.

`run_task` is module-level and picklable, so the experiment runner can send it to worker
processes or Dask workers. The task carries the scenario's full contents (as a plain dict,
recorded in the experiment's manifest), so a worker needs no scenario files and a rerun
uses exactly what the manifest says.

Every run function of an experiment steps its model with `run_checked`, which checks the
books (`CircularFinance.check_books`: every owner balances, money is conserved, claims
match) at each quarter end and at the last week, so a run whose books break raises
LedgerError ("books do not balance at week N: ...") and is recorded as a failed run rather
than finishing silently. The model itself can check after every week
(`check_ledger=True`); checking quarterly costs a fraction of that and leaves the results
unchanged (the check only reads the books).
"""

from __future__ import annotations

import pandas as pd

from model import scenario as scenarios


def scenario_config(name_or_path: str, overrides: dict | None = None, years: float | None = None) -> dict:
    """Resolve a scenario (name or TOML path, plus overrides) into the plain dict a task carries."""
    overrides = dict(overrides or {})
    if years is not None:
        overrides["run.years"] = years
    return scenarios.load(name_or_path, overrides).to_dict()


def run_checked(model, steps: int | None = None):
    """`model.run(steps)` with the books checked at each quarter end and after the last week.

    Raises LedgerError naming the week (weeks counted from 1) at which they failed to balance.
    """
    from economy.ledger import LedgerError
    from model.model import WEEKS_PER_QUARTER

    def check() -> None:
        try:
            model.check_books()
        except LedgerError as exc:
            raise LedgerError(f"books do not balance at week {model.week}: {exc}") from None

    checked = model.week
    for _ in range(model.config.steps if steps is None else steps):
        if not model.running:
            break
        model.step()
        if model.week % WEEKS_PER_QUARTER == 0:
            check()
            checked = model.week
    if checked != model.week:
        check()
    return model


def run_task(task) -> dict[str, pd.DataFrame]:
    """Run one replicate; return the model's tables (weekly, quarterly statements, rounds, episodes)."""
    from model.model import CircularFinance

    config = scenarios.from_dict(task.config, where=f"task {task.scenario}/{task.replicate}")
    model = CircularFinance(config, rng=task.seed)
    run_checked(model)
    return {name: table for name, table in model.tables().items() if isinstance(table, pd.DataFrame)}
