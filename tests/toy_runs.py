"""A tiny stand-in for the model's run function, for testing the experiment runner.

`ToyRun` is a frozen dataclass, so instances pickle by reference to this module and work
with every executor. Its tables depend only on the task (seed, config, years): a short
random-walk `series` and an `episodes` table of exponential lifetimes censored at the
horizon, shaped like the model's lifetimes table. It can sleep (to make runs slow enough
to interrupt) and raise for one chosen replicate (to test failure handling).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

WEEKS_PER_YEAR = 52


@dataclass(frozen=True)
class ToyRun:
    sleep: float = 0.0
    fail_replicate: int | None = None
    fail_scenario: str | None = None

    def __call__(self, task) -> dict[str, pd.DataFrame]:
        if self.sleep:
            time.sleep(self.sleep)
        if task.replicate == self.fail_replicate and self.fail_scenario in (None, task.scenario):
            raise RuntimeError(f"toy failure in {task.scenario} replicate {task.replicate}")
        rng = np.random.default_rng(task.seed)
        drift = float(task.config.get("drift", 0.0))
        steps = int(task.config.get("steps", 8))
        series = pd.DataFrame(
            {
                "step": np.arange(steps, dtype=np.int64),
                "price": 100 + np.cumsum(drift + rng.normal(size=steps)),
            }
        )
        horizon = task.years * WEEKS_PER_YEAR
        n = int(rng.integers(1, 4))
        lifetimes = rng.exponential(float(task.config.get("mean_weeks", 100.0)), size=n)
        episodes = pd.DataFrame(
            {
                "episode": np.arange(n, dtype=np.int64),
                "lifetime_weeks": np.minimum(lifetimes, horizon),
                "censored": lifetimes > horizon,
            }
        )
        return {"series": series, "episodes": episodes}


toy_run = ToyRun()
