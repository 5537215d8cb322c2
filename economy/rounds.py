"""Pricing a funding round (design 5.3), as pure functions: the multiple, outside appetite and
the price at which a round fills. Every function is bounded and ends in a fixed number of steps.

The pre-money valuation is real revenue times a multiple

    m = clip(m0 · exp(β_g (g − g_ref) + β_s S tanh((s − s_ref)/S) − β_r (r − r_ref)), floor, ceiling)

that rises with the lab's revenue growth g and market sentiment s (the listed AI giants'
recent return), falls with the interest rate r, saturates in sentiment (S is the scale at which
it stops adding) and stays within [floor, ceiling] times revenue (2025-26 rounds were priced at
about 25 to 40 times forward revenue; the ceiling leaves room for mania, never for $24T labs).
Outside investors' appetite, in dollars, rises with sentiment (saturating the same way), falls
with rates, carries noise and grows as the price falls:

    A(m) = D · exp(γ_s S tanh((s − s_ref)/S) − γ_r (r − r_ref) + σ ε) · (m_ref / m)^η

A round that partners and outsiders do not fill is re-priced down in steps of a fixed share
until it fills or reaches the floor: the step count is found in closed form, not by a loop.
"""

from __future__ import annotations

import math


def saturating(x: float, scale: float) -> float:
    """x for small |x|, at most ±scale: scale · tanh(x / scale)."""
    return scale * math.tanh(x / scale) if scale > 0.0 else 0.0


def round_multiple(
    reference: float,
    sentiment_gap: float,
    rate_gap: float,
    *,
    sentiment_elasticity: float,
    sentiment_scale: float,
    rate_elasticity: float,
    floor: float,
    ceiling: float,
) -> float:
    """The opening multiple of a round, within [floor, ceiling]."""
    exponent = sentiment_elasticity * saturating(sentiment_gap, sentiment_scale) - rate_elasticity * rate_gap
    return min(ceiling, max(floor, reference * math.exp(max(-50.0, min(50.0, exponent)))))


def down_round_multiple(opening: float, partners: float, size: float, appetite, *, step: float, floor: float) -> float:
    """The highest multiple on the grid opening·(1−step)^n, n = 0, 1, ..., not below the floor,
    at which partners plus outside appetite fill the round; the lowest grid point not below the
    floor if none does (the round then takes what it can get).

    `appetite(m)` must not rise with m (cheaper rounds attract at least as much money), so the
    answer is found by bisection on n: at most ~60 evaluations for any step in (0, 1).
    """
    if opening <= floor or partners + appetite(opening) >= size:
        return max(opening, floor)
    if not 0.0 < step < 1.0:
        return floor
    if 1.0 - step < 1.0:
        shrink = math.log(1.0 - step)

        def point(n: int) -> float:
            return opening * (1.0 - step) ** n

    else:  # a step below float resolution: the grid in logs (the bisection below stays ~600 steps at most)
        shrink = math.log1p(-step)

        def point(n: int) -> float:
            return opening * math.exp(n * shrink)

    last = int(math.floor(math.log(floor / opening) / shrink))  # deepest step not below floor
    if last <= 0 or partners + appetite(point(last)) < size:
        return max(floor, point(max(last, 0)))
    low, high = 0, last  # fills at `high`, not at `low`
    while high - low > 1:
        middle = (low + high) // 2
        if partners + appetite(point(middle)) >= size:
            high = middle
        else:
            low = middle
    return point(high)
