"""The run function experiments execute: one scenario, one seed, one set of tables.

`run_task` is module-level and picklable, so the experiment runner can send it to worker
processes or Dask workers. The task carries the scenario's full contents (as a plain dict,
recorded in the experiment's manifest), so a worker needs no scenario files and a rerun
uses exactly what the manifest says.
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


def run_task(task) -> dict[str, pd.DataFrame]:
    """Run one replicate; return the model's tables (weekly, quarterly statements, rounds, episodes)."""
    from model.model import CircularFinance

    config = scenarios.from_dict(task.config, where=f"task {task.scenario}/{task.replicate}")
    model = CircularFinance(config, rng=task.seed)
    model.run()
    return {name: table for name, table in model.tables().items() if isinstance(table, pd.DataFrame)}
