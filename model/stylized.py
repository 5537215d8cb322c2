"""Stylized facts of returns (design 6.6, Cont 2001): pure functions of a return series.

Weekly log returns of real stock prices show no usable autocorrelation, fat tails (excess
kurtosis, a tail index between about 2 and 5) and volatility clustering that decays slowly
(absolute returns stay correlated for weeks). These functions measure each fact on an array of
returns and `stylized_facts` gathers them in one row, so the same numbers can be read off a
model run, an ensemble or a historical series.
"""

from __future__ import annotations

import numpy as np

WEEKS_PER_YEAR = 52


def autocorrelation(x, lag: int) -> float:
    """Sample autocorrelation at `lag` (NaN when the series is too short or constant)."""
    x = np.asarray(x, dtype=float)
    if lag <= 0 or len(x) <= lag + 1:
        return float("nan")
    a, b = x[:-lag] - x.mean(), x[lag:] - x.mean()
    denominator = float((x - x.mean()) @ (x - x.mean()))
    return float(a @ b / denominator) if denominator > 0.0 else float("nan")


def excess_kurtosis(x) -> float:
    """Fourth standardized moment less 3 (0 for a normal distribution)."""
    x = np.asarray(x, dtype=float)
    centred = x - x.mean()
    variance = float(np.mean(centred**2))
    return float(np.mean(centred**4) / variance**2 - 3.0) if variance > 0.0 else float("nan")


def tail_index(x, tail: float = 0.05) -> float:
    """Hill (1975) estimator of the tail index from the largest `tail` share of |x − mean|."""
    x = np.sort(np.abs(np.asarray(x, dtype=float) - np.mean(x)))
    k = int(tail * len(x))
    if k < 2 or x[-k - 1] <= 0.0:
        return float("nan")
    return float(1.0 / np.mean(np.log(x[-k:] / x[-k - 1])))


def annualised_volatility(x, periods_per_year: int = WEEKS_PER_YEAR) -> float:
    return float(np.std(np.asarray(x, dtype=float), ddof=1) * np.sqrt(periods_per_year))


def stylized_facts(returns) -> dict[str, float]:
    """The design's facts on one series of weekly log returns."""
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    return {
        "ac1": autocorrelation(r, 1),
        "abs_ac10": autocorrelation(np.abs(r), 10),
        "excess_kurtosis": excess_kurtosis(r),
        "tail_index": tail_index(r),
        "volatility": annualised_volatility(r),
    }
