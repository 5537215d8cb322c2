"""The flow multiplier (design 6.2), measured by an impulse experiment.

Two runs with the same seed: in one, `amount` of new money flows into the index funds at
week `week`. The multiplier is the extra market value `horizon` weeks later divided by the
extra money (Gabaix and Koijen 2021 estimate about 5, plausibly 3 to 8). Because every
random draw is the same in both runs, the difference is the inflow's effect alone.
"""

from __future__ import annotations

import numpy as np


def flow_multiplier(
    scenario="baseline", *, rng=0, week: int = 26, amount: float = 50.0, horizons=(1, 4, 13, 26), **parameters
) -> dict[int, float]:
    """Extra market value per extra dollar, at each horizon (weeks after the inflow)."""
    from model.model import CircularFinance

    last = week + max(horizons) + 1
    paths = []
    for impulse in (0.0, amount):
        model = CircularFinance(scenario, rng=rng, years=last / 52.0 + 0.1, **parameters)
        caps = []
        for _ in range(last):
            if model.week == week and impulse:
                model.impulse = impulse
            model.step()
            caps.append(float(model.market.caps().sum()))
        paths.append(np.array(caps))
    base, shocked = paths
    return {h: float((shocked[week + h - 1] - base[week + h - 1]) / amount) for h in horizons}
