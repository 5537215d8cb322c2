"""Valuation: what a stream of earnings is worth, to the model's yardstick and to each kind of
investor (design sections 6.2, 6.4 and 7). Pure functions of numbers and arrays.

One present-value formula serves everyone; what differs is what it is fed with:

    M(g0, h, k) = sum_t prod_{s<=t} (1 + g_s) / (1 + k)^t  + Gordon tail,
    g_t = gL + (g0 - gL) * 0.5^(t/h)

is the value of $1 a year of earnings growing now at g0, the excess over the long-run rate gL
halving every h years (growth is not persistent: Chan, Karceski and Lakonishok 2003), after
`TAIL_YEARS` years at gL forever (Gordon 1962). The discount rate is k = r + ERP, the interest
rate plus an equity risk premium implied by the rest of the market being fairly priced at the
start (`implied_discount_rate`).

- The **fundamental** (the model's yardstick) applies M to real, surviving earnings streams with
  the growth of the processes that drive them; see `fundamental_value`.
- **Earnings-based** investors apply the same M to reported trailing EPS and let g0 be reported
  EPS growth: they cannot tell a mark on a lab stake or round-trip revenue from real profit.
- **Cash-based** investors use the fundamental itself.
- **Trend followers** value a stock at the price its recent trend would reach.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

TAIL_YEARS = 40
MIN_VALUE = 0.01  # $ per share: limited liability, a cent stands for next to nothing


def growth_multiple(growth_now, long_run_growth: float, halflife_years, discount_rate) -> np.ndarray:
    """Present value of $1 a year of earnings growing at a rate that fades to the long run (M above).

    Arguments broadcast; `discount_rate` must exceed `long_run_growth`.
    """
    g0 = np.asarray(growth_now, dtype=float)[..., None]
    h = np.asarray(halflife_years, dtype=float)[..., None]
    k = np.asarray(discount_rate, dtype=float)[..., None]
    if np.any(k <= long_run_growth):
        raise ValueError("the discount rate must exceed the long-run growth rate")
    years = np.arange(1, TAIL_YEARS + 1, dtype=float)
    with np.errstate(over="ignore", divide="ignore"):  # a half-life near 0: the gap is gone at once (0.5**inf = 0)
        growth = long_run_growth + (g0 - long_run_growth) * 0.5 ** ((years - 0.5) / h)
    log_level = np.cumsum(np.log1p(np.maximum(growth, -0.99)), axis=-1)
    discount = years * np.log1p(k)
    near = np.exp(log_level - discount).sum(axis=-1)
    tail = np.exp(log_level[..., -1] - discount[..., -1]) * (1.0 + long_run_growth) / (k[..., 0] - long_run_growth)
    return near + tail


def implied_discount_rate(
    price_to_earnings: float, growth_now: float, long_run_growth: float, halflife_years: float
) -> float:
    """The discount rate at which M equals a given price-to-earnings ratio (the market's own)."""

    def gap(k: float) -> float:
        return float(growth_multiple(growth_now, long_run_growth, halflife_years, k)) - price_to_earnings

    low, high = long_run_growth + 1e-6, 1.0
    if gap(high) > 0.0 or gap(low) < 0.0:
        raise ValueError(f"no discount rate between {low:.4f} and {high:.0%} gives a multiple of {price_to_earnings:g}")
    return brentq(gap, low, high, xtol=1e-12)


def growth_of(now: float, before: float) -> float:
    """Growth of a trailing total over the year before; with a non-positive base, +100% or 0."""
    if before <= 0.0:
        return 1.0 if now > 0.0 else 0.0
    return now / before - 1.0


def trend_value(now: np.ndarray, then: np.ndarray, weeks: int, horizon_years: float) -> np.ndarray:
    """Trend-following value: today's price carried `horizon_years` along its recent log trend."""
    trend = np.log(now / then) * 52.0 / weeks
    return now * np.exp(horizon_years * np.clip(trend, -2.0, 2.0))


def annualised_return(now: float, then: float, weeks: int) -> float:
    if then <= 0.0 or weeks <= 0 or now <= 0.0:
        return 0.0
    return math.exp(math.log(now / then) * 52.0 / weeks) - 1.0


def maintained_margin(cash_cost: float, capex_cost: float, wear: float, headroom: float) -> float:
    """Cloud profit per $ of revenue after the capex that keeps its capacity from wearing out:
    1 - cash cost - capex per $ of yearly capacity x yearly wear x (1 + spare capacity)."""
    return 1.0 - cash_cost - capex_cost * wear * (1.0 + headroom)
