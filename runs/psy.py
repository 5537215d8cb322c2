"""Bubble detection by the recursive right-tailed ADF tests of Phillips, Shi and Yu (2015,
"Testing for multiple bubbles: historical episodes of exuberance and collapse in the S&P 500",
International Economic Review 56(4), 1043-1078; "PSY" below): this module owns the ADF
t-statistic over every admissible window of a series (closed form from cumulative sums for
lag 0, batched moment matrices for lag k > 0), the backward sup ADF sequence BSADF with its
summaries SADF and GSADF, and the date-stamping of episodes of exuberance. Monte Carlo
critical values under the paper's null (cached on disk) are in `runs.psy_critical` (its names
can still be reached as attributes of this module), and the `python -m runs psy` command in
`runs.psy_command`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# Names of runs.psy_critical that callers may still reach as runs.psy.<name>.
_CRITICAL = (
    "LEVELS",
    "DEFAULT_SEED",
    "DEFAULT_REPS",
    "CriticalValues",
    "simulate_null",
    "default_cache_dir",
    "critical_values",
)
# Rows of the (r1, r2) grid handled per numpy pass: small enough that a block and its
# temporaries stay in cache, large enough that the Python loop over blocks costs nothing.
_BLOCK_ELEMENTS = 1 << 16


# --------------------------------------------------------------------------------------
# Windows and validation.  Notation (PSY), for a series y_0..y_{T-1}:
#   window [r1, r2] holds y_{r1}..y_{r2}; its ADF regression runs over t = r1+k+1..r2 of
#       dy_t = a + b y_{t-1} + sum_{i=1..k} c_i dy_{t-i} + e_t,
#   and ADF[r1, r2] is the OLS t-ratio of b;
#   the smallest window holds w0 = floor(r0 T) observations, r0 = 0.01 + 1.8/sqrt(T) by default;
#   BSADF(r2) = max_{0 <= r1 <= r2 - w0 + 1} ADF[r1, r2], defined for r2 >= w0 - 1;
#   SADF = max_{r2} ADF[0, r2];  GSADF = max_{r2} BSADF(r2).
# --------------------------------------------------------------------------------------


def default_r0(T: int) -> float:
    """PSY's rule for the smallest window as a fraction of the sample: 0.01 + 1.8/sqrt(T)."""
    return 0.01 + 1.8 / math.sqrt(T)


def min_window_size(T: int, r0: float | None = None, lag: int = 0) -> int:
    """Observations in the smallest window, floor(r0 T); ValueError if it is unusable."""
    if isinstance(lag, bool) or not isinstance(lag, (int, np.integer)) or lag < 0:
        raise ValueError(f"lag must be a non-negative integer, got {lag!r}")
    if T < 1:
        raise ValueError("the series is empty")
    r0 = default_r0(T) if r0 is None else float(r0)
    if not (0.0 < r0 <= 1.0):
        raise ValueError(f"r0 must lie in (0, 1], got {r0!r}")
    # The epsilon keeps r0 = N/T from flooring to N - 1 through rounding.
    w0 = int(math.floor(r0 * T + 1e-9))
    # The regression has w0 - 1 - lag observations and lag + 2 coefficients, so at least
    # one residual degree of freedom needs w0 >= 2 lag + 4.
    need = 2 * int(lag) + 4
    if w0 < need:
        raise ValueError(
            f"the smallest window has {w0} observations (r0={r0:.4g}, T={T}); lag {lag} needs at least {need}"
        )
    if w0 > T:
        raise ValueError(f"the smallest window ({w0} observations) is longer than the series ({T})")
    return w0


def _prepare(y) -> np.ndarray:
    """1-D float series, centred and scaled: ADF t-ratios are invariant to y -> a + c y, and
    unit-scale data keeps the cumulative sums below free of cancellation."""
    arr = np.asarray(y, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"the series must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("the series contains NaN or infinite values")
    scale = arr.std()
    if arr.size < 2 or scale == 0.0:
        raise ValueError("the series is constant or too short")
    return (arr - arr.mean()) / scale


# --------------------------------------------------------------------------------------
# ADF t-statistics
# --------------------------------------------------------------------------------------


def adf_stat(y, lag: int = 0) -> float:
    """ADF t-ratio of b in dy_t = a + b y_{t-1} + sum_i c_i dy_{t-i} + e_t over all of y.

    Plain OLS on the design matrix; the recursive statistics use the faster routines below.
    """
    y = _prepare(y)
    min_window_size(y.size, 1.0, lag)
    dy = np.diff(y)
    t = np.arange(lag + 1, y.size)
    X = np.column_stack([np.ones(t.size), y[t - 1]] + [dy[t - 1 - i] for i in range(1, lag + 1)])
    z = dy[t - 1]
    beta, *_ = np.linalg.lstsq(X, z, rcond=None)
    resid = z - X @ beta
    s2 = resid @ resid / (t.size - X.shape[1])
    return float(beta[1] / math.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1]))


def _prefix(v: np.ndarray) -> np.ndarray:
    """P[i] = v[0] + ... + v[i-1], with P[0] = 0: window sums become P[r2] - P[r1]."""
    out = np.zeros(v.size + 1)
    np.cumsum(v, out=out[1:])
    return out


def _lag0_blocks(y: np.ndarray, w0: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """ADF t-ratios of every window with at least w0 observations, lag 0, in row blocks.

    Yields (r1_first, r2_first, block) with block[i, j] the t-ratio for r1 = r1_first + i and
    r2 = r2_first + j (NaN where the window is shorter than w0).  With x_t = y_{t-1},
    z_t = dy_t and window sums S over its n = r2 - r1 regression observations,
        Cxx = Sxx - Sx^2/n,  Cxz = Sxz - Sx Sz/n,  Czz = Szz - Sz^2/n,
        b = Cxz/Cxx,  RSS = Czz - Cxz^2/Cxx,  se(b)^2 = RSS / ((n - 2) Cxx),
    so  t = b/se(b) = Cxz sqrt((n - 2) / (Cxx Czz - Cxz^2)).
    """
    T = y.size
    x, z = y[:-1], np.diff(y)
    # Index i of these prefixes is y's index: observation t contributes to P[t] onwards.
    px, pz = _prefix(x), _prefix(z)
    pxx, pxz, pzz = _prefix(x * x), _prefix(x * z), _prefix(z * z)
    pos = np.arange(T, dtype=float)
    rows = max(8, _BLOCK_ELEMENTS // T)
    last_r1 = T - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        for a in range(0, last_r1 + 1, rows):
            b = min(a + rows, last_r1 + 1)
            c0 = a + w0 - 1
            r, c = slice(a, b), slice(c0, T)
            n = pos[c] - pos[r, None]
            sx = px[c] - px[r, None]
            sz = pz[c] - pz[r, None]
            mx = sx / n
            cxx = pxx[c] - pxx[r, None] - sx * mx
            cxz = pxz[c] - pxz[r, None] - sz * mx
            czz = pzz[c] - pzz[r, None] - sz * sz / n
            t = cxz * np.sqrt((n - 2.0) / (cxx * czz - cxz * cxz))
            # Row i reaches a full window only from column i: blank the corner below that.
            h = b - a
            t[:, :h][np.tril_indices(h, -1)] = np.nan
            yield a, c0, t


def _lagk_blocks(y: np.ndarray, w0: int, lag: int) -> Iterator[tuple[int, int, np.ndarray]]:
    """As `_lag0_blocks` for lag >= 1, one end point r2 at a time.

    Each regression observation t contributes v_t v_t' with v_t = (1, y_{t-1}, dy_{t-1}, ...,
    dy_{t-lag}, dy_t); prefix sums of these outer products give every window's moment matrix
    [[X'X, X'z], [z'X, z'z]] by one subtraction, and the normal equations are solved in a batch.
    """
    T, p = y.size, lag + 2
    dy = np.diff(y)
    t = np.arange(lag + 1, T)
    v = np.column_stack([np.ones(t.size), y[t - 1]] + [dy[t - 1 - i] for i in range(1, lag + 1)] + [dy[t - 1]])
    # Q[i] sums observations t <= i; window [r1, r2] uses t in (r1 + lag, r2].
    Q = np.zeros((T, p + 1, p + 1))
    np.cumsum(v[:, :, None] * v[:, None, :], axis=0, out=Q[lag + 1 :])
    unit = np.zeros(p)
    unit[1] = 1.0
    for r2 in range(w0 - 1, T):
        r1 = np.arange(r2 - w0 + 2)
        M = Q[r2] - Q[r1 + lag]
        A = M[:, :p, :p]
        rhs = np.stack([M[:, :p, p], np.broadcast_to(unit, (r1.size, p))], axis=-1)
        try:
            sol = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            sol = _solve_each(A, rhs)
        beta, ainv_11 = sol[:, :, 0], sol[:, 1, 1]
        rss = M[:, p, p] - np.einsum("ij,ij->i", M[:, :p, p], beta)
        dof = (r2 - r1 - lag) - p
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = beta[:, 1] / np.sqrt(rss / dof * ainv_11)
        yield 0, r2, stat[:, None]


def _solve_each(A: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Batch solve that leaves NaN for singular windows (e.g. a flat stretch of data)."""
    out = np.full(rhs.shape, np.nan)
    for i in range(A.shape[0]):
        with contextlib.suppress(np.linalg.LinAlgError):
            out[i] = np.linalg.solve(A[i], rhs[i])
    return out


def _blocks(y: np.ndarray, w0: int, lag: int):
    return _lag0_blocks(y, w0) if lag == 0 else _lagk_blocks(y, w0, lag)


def adf_windows(y, min_window: int, lag: int = 0) -> np.ndarray:
    """T x T matrix W with W[r1, r2] the ADF t-ratio of y[r1..r2] when that window holds at
    least `min_window` observations, NaN otherwise."""
    y = _prepare(y)
    w0 = min_window_size(y.size, min_window / y.size, lag)
    out = np.full((y.size, y.size), np.nan)
    for a, c0, block in _blocks(y, w0, lag):
        out[a : a + block.shape[0], c0 : c0 + block.shape[1]] = block
    return out


def _recursive(y: np.ndarray, w0: int, lag: int) -> tuple[np.ndarray, np.ndarray]:
    """(BSADF sequence, forward ADF sequence ADF[0, r2]) for a prepared series."""
    T = y.size
    bs = np.full(T, np.nan)
    forward = np.full(T, np.nan)
    for a, c0, block in _blocks(y, w0, lag):
        # fmax skips NaN (degenerate windows) unless every window ending at r2 is NaN.
        ends = slice(c0, c0 + block.shape[1])
        bs[ends] = np.fmax(bs[ends], np.fmax.reduce(block, axis=0))
        if a == 0:
            forward[ends] = block[0]
    return bs, forward


def bsadf(y, r0: float | None = None, lag: int = 0) -> np.ndarray:
    """Backward sup ADF sequence (PSY eq. 6): BSADF[r2] = max over r1 <= r2 - w0 + 1 of the ADF
    t-ratio of y[r1..r2], for r2 = w0 - 1 .. T - 1 with w0 = floor(r0 T); NaN before."""
    y = _prepare(y)
    return _recursive(y, min_window_size(y.size, r0, lag), lag)[0]


def sadf(y, r0: float | None = None, lag: int = 0) -> float:
    """Sup ADF of Phillips, Wu and Yu (2011): max over expanding windows y[0..r2], r2 >= w0 - 1."""
    y = _prepare(y)
    return float(np.nanmax(_recursive(y, min_window_size(y.size, r0, lag), lag)[1]))


def gsadf(y, r0: float | None = None, lag: int = 0) -> float:
    """Generalised sup ADF (PSY eq. 5): the sup of the BSADF sequence."""
    return float(np.nanmax(bsadf(y, r0, lag)))


# --------------------------------------------------------------------------------------
# Date-stamping
# --------------------------------------------------------------------------------------


def episodes(
    stat: np.ndarray,
    cv,
    min_duration: float,
    dates: Sequence | None = None,
) -> pd.DataFrame:
    """Runs of `stat > cv` lasting at least `min_duration` observations.

    An episode originates at the first observation where the statistic exceeds its critical
    value and terminates at the first later one where it no longer does; `duration` counts the
    observations above (end - start).  An episode still above at the last observation ends
    there with `ongoing` True, and its duration counts that observation too (end - start + 1).
    """
    import pandas as pd

    stat = np.asarray(stat, dtype=float)
    T = stat.size
    with np.errstate(invalid="ignore"):
        above = np.asarray(stat > np.broadcast_to(np.asarray(cv, dtype=float), stat.shape))
    edges = np.diff(above.astype(np.int8), prepend=0, append=0)
    start = np.flatnonzero(edges == 1)
    stop = np.flatnonzero(edges == -1)  # first observation not above; T when still above
    keep = (stop - start) >= min_duration
    start, stop = start[keep], stop[keep]
    ongoing = stop == T
    frame = pd.DataFrame(
        {
            "start": start.astype(np.int64),
            "end": np.where(ongoing, T - 1, stop).astype(np.int64),
            "duration": (stop - start).astype(np.int64),
            "ongoing": ongoing,
        }
    )
    if dates is not None:
        labels = np.asarray(dates, dtype=object)
        if labels.shape != (T,):
            raise ValueError(f"dates has {labels.size} entries but the series has {T}")
        frame["start_date"] = labels[frame["start"].to_numpy()]
        frame["end_date"] = labels[frame["end"].to_numpy()]
    return frame


def _cv_sequence(cv, T: int, window: int, lag: int, n_reps: int | None, seed: int | None, cache_dir):
    from runs import psy_critical

    if cv is None:
        cv = psy_critical.critical_values(
            T,
            window / T,
            lag,
            cache_dir=cache_dir,
            n_reps=psy_critical.DEFAULT_REPS if n_reps is None else n_reps,
            seed=psy_critical.DEFAULT_SEED if seed is None else seed,
        )
    if isinstance(cv, psy_critical.CriticalValues):
        if cv.T != T or cv.window != window or cv.lag != lag:
            raise ValueError(
                f"critical values are for T={cv.T}, window={cv.window}, lag={cv.lag}; "
                f"the series needs T={T}, window={window}, lag={lag}"
            )
        return cv.bsadf_95
    arr = np.asarray(cv, dtype=float)
    if arr.ndim == 0:
        return np.full(T, float(arr))
    if arr.shape != (T,):
        raise ValueError(f"cv must be a scalar or have length {T}, got shape {arr.shape}")
    return arr


def date_stamp(
    y,
    dates: Sequence | None = None,
    r0: float | None = None,
    lag: int = 0,
    min_duration: float | None = None,
    cv=None,
    *,
    n_reps: int | None = None,
    seed: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """PSY (2015) date-stamping: episodes where BSADF exceeds its 95% critical value.

    `cv` is a scalar, a length-T sequence, a `CriticalValues`, or None to simulate (and cache)
    the BSADF critical values with `n_reps` replications and `seed` (default
    runs.psy_critical.DEFAULT_REPS and DEFAULT_SEED).  Episodes shorter than
    `min_duration` observations (default log T, PSY's delta log T with delta = 1) are dropped.
    Returns one row per episode: start, end, duration, ongoing, and start_date/end_date when
    `dates` is given; see `episodes` for the exact conventions.
    """
    prepared = _prepare(y)
    T = prepared.size
    w0 = min_window_size(T, r0, lag)
    stat = _recursive(prepared, w0, lag)[0]
    crit = _cv_sequence(cv, T, w0, lag, n_reps, seed, cache_dir)
    return episodes(stat, crit, math.log(T) if min_duration is None else min_duration, dates)


def __getattr__(name: str):
    # The critical values moved to runs.psy_critical; importing it here at the top would be
    # circular (it builds on the statistics above).
    if name in _CRITICAL:
        from runs import psy_critical

        return getattr(psy_critical, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
