"""Valuation: what a stock is worth to the model (fundamental value) and to each kind of
active investor (design sections 6.3 and 7). Pure functions of numbers and arrays.

Fundamental value is the present value of real cash earnings: core business plus real
cloud profit, with no round-trip revenue and no marks, growing at a rate that fades from
the company's own near-term growth to the long-run rate over `fade_years`, discounted at
the scenario's equity rate (a two-stage dividend-discount form, Gordon 1962 for the tail).
Earnings-based investors put a price-to-earnings multiple on reported trailing EPS and let
the multiple extrapolate recent EPS growth: they cannot tell a paper gain or round-trip
revenue from real profit. Trend followers value a stock at the price it would reach in
`horizon` years if its recent trend went on. Cash-based investors discount real free cash flow (real cash
earnings less net investment), so a giant's capex boom lowers what they think it is worth.
"""

from __future__ import annotations

import math

import numpy as np


def earnings_multiple(near_growth: float, long_run_growth: float, discount_rate: float,
                      fade_years: float) -> float:
    """Present value of $1 a year of earnings that grow at a fading rate (two-stage DDM)."""
    if discount_rate <= long_run_growth:
        raise ValueError("the discount rate must exceed the long-run growth rate")
    years = max(1, int(round(fade_years)))
    value, level = 0.0, 1.0
    for t in range(1, years + 1):
        growth = near_growth + (long_run_growth - near_growth) * (t - 1) / years
        level *= 1.0 + growth
        value += level / (1.0 + discount_rate) ** t
    terminal = level * (1.0 + long_run_growth) / (discount_rate - long_run_growth)
    return value + terminal / (1.0 + discount_rate) ** years


def earnings_value(eps_ttm: np.ndarray, eps_growth: np.ndarray, base_pe: np.ndarray,
                   growth_elasticity: float) -> np.ndarray:
    """Earnings-based value per share: PE = base_pe · exp(φ · EPS growth), times trailing EPS.

    EPS growth is clipped to [-50%, +100%] so one freak quarter cannot send a multiple to
    zero or infinity; negative EPS is worth nothing to these investors (floored at a cent).
    """
    growth = np.clip(eps_growth, -0.5, 1.0)
    return np.maximum(base_pe * np.exp(growth_elasticity * growth) * eps_ttm, 0.01)


def cash_value(real_earnings_ttm: np.ndarray, net_investment_ttm: np.ndarray, multiple: np.ndarray,
               shares: np.ndarray, floor_share: float) -> np.ndarray:
    """Cash-based value per share: the multiple on real free cash flow, floored at a share of
    real earnings (a build-out is not valued below what the existing business earns times
    `floor_share`, which keeps valuations positive)."""
    real_fcf = real_earnings_ttm - net_investment_ttm
    base = np.maximum(real_fcf, floor_share * np.maximum(real_earnings_ttm, 0.0))
    return np.maximum(multiple * base / shares, 0.01)


def eps_growth(eps_history: list[float]) -> float:
    """Growth of trailing-twelve-month EPS over the year before (needs eight quarters)."""
    if len(eps_history) < 8:
        return 0.0
    now = sum(eps_history[-4:])
    before = sum(eps_history[-8:-4])
    if before <= 0.0:
        return 1.0 if now > 0.0 else 0.0
    return now / before - 1.0


def annualised_return(now: float, then: float, weeks: int) -> float:
    if then <= 0.0 or weeks <= 0:
        return 0.0
    return math.exp(math.log(now / then) * 52.0 / weeks) - 1.0


def trend_value(now: np.ndarray, then: np.ndarray, weeks: int, horizon: float) -> np.ndarray:
    """Trend-following value: today's price carried `horizon` years along its recent log trend."""
    trend = np.log(now / then) * 52.0 / weeks
    return now * np.exp(horizon * np.clip(trend, -2.0, 2.0))
