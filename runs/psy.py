"""Bubble detection by the recursive right-tailed ADF tests of Phillips, Shi and Yu (2015,
"Testing for multiple bubbles: historical episodes of exuberance and collapse in the S&P 500",
International Economic Review 56(4), 1043-1078; "PSY" below): this module owns the ADF
t-statistic over every admissible window of a series (closed form from cumulative sums for
lag 0, batched moment matrices for lag k > 0), the backward sup ADF sequence BSADF with its
summaries SADF and GSADF, Monte Carlo critical values under the paper's null (cached on disk),
the date-stamping of episodes of exuberance, and the `python -m runs psy` command that runs all
of it on one column of a CSV file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from economy.errors import InputError

LEVELS = (0.90, 0.95, 0.99)
DEFAULT_SEED = 20150
DEFAULT_REPS = 2000

# Bump when the simulator or the file layout changes, so stale cache files are never read.
_CACHE_VERSION = 1
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
            f"the smallest window has {w0} observations (r0={r0:.4g}, T={T}); "
            f"lag {lag} needs at least {need}"
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
    v = np.column_stack(
        [np.ones(t.size), y[t - 1]] + [dy[t - 1 - i] for i in range(1, lag + 1)] + [dy[t - 1]]
    )
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
        try:
            out[i] = np.linalg.solve(A[i], rhs[i])
        except np.linalg.LinAlgError:
            pass
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
# Monte Carlo critical values
# --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, eq=False)
class CriticalValues:
    """Quantiles of the PSY statistics under the null, for one (T, w0, lag, n_reps, seed).

    `sadf` and `gsadf` map each level in LEVELS to a critical value; `bsadf` maps each level
    to a length-T array (NaN before w0 - 1) of critical values for BSADF at each end point.
    The raw SADF and GSADF draws are kept for p-values and Monte Carlo error estimates.
    """

    T: int
    window: int
    lag: int
    n_reps: int
    seed: int
    sadf: dict[float, float]
    gsadf: dict[float, float]
    bsadf: dict[float, np.ndarray]
    sadf_draws: np.ndarray
    gsadf_draws: np.ndarray

    @property
    def r0(self) -> float:
        return self.window / self.T

    @property
    def bsadf_95(self) -> np.ndarray:
        return self.bsadf[0.95]


def simulate_null(T: int, window: int, lag: int, n_reps: int, seed: int) -> dict[str, np.ndarray]:
    """Draws of (SADF, GSADF, BSADF sequence) under PSY's null (Section 5): a random walk with
    asymptotically negligible drift, y_t = d T^-eta + y_{t-1} + e_t, d = eta = 1, e_t ~ N(0, 1),
    y_0 = 0 as the pre-sample value.

    BSADF(r2) depends only on y_0..y_{r2}, so one full-length path serves every end point:
    its drift is 1/T rather than 1/r2, a difference the null makes asymptotically negligible.
    """
    rng = np.random.default_rng(seed)
    bs_all = np.empty((n_reps, T))
    sadf_draws = np.empty(n_reps)
    for i in range(n_reps):
        path = np.cumsum(1.0 / T + rng.standard_normal(T))
        bs, forward = _recursive(_prepare(path), window, lag)
        bs_all[i] = bs
        sadf_draws[i] = np.nanmax(forward)
    return {"sadf": sadf_draws, "gsadf": np.nanmax(bs_all, axis=1), "bsadf": bs_all}


def default_cache_dir() -> Path:
    """$CIRCULAR_AI_CACHE/psy, else $XDG_CACHE_HOME/circular-ai-bubble/psy, else ~/.cache/..."""
    root = os.environ.get("CIRCULAR_AI_CACHE")
    if root:
        return Path(root) / "psy"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "circular-ai-bubble" / "psy"


def _cache_path(cache_dir: Path, T: int, w0: int, lag: int, n_reps: int, seed: int) -> Path:
    # Keyed by w0 rather than r0: every r0 with the same floor(r0 T) gives the same statistics.
    return cache_dir / f"psy-cv-v{_CACHE_VERSION}-T{T}-w{w0}-lag{lag}-n{n_reps}-seed{seed}.npz"


def _read_cache(path: Path, key: dict[str, int]) -> dict[str, np.ndarray] | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if any(int(data[name]) != value for name, value in key.items()):
                return None
            return {name: np.array(data[name]) for name in ("sadf", "gsadf", "bsadf_q")}
    except (OSError, KeyError, ValueError, EOFError):
        # Missing, truncated by a crashed writer on a non-POSIX filesystem, or foreign: recompute.
        return None


def _write_cache(path: Path, payload: dict[str, np.ndarray]) -> None:
    """Write to a temporary file in the same directory, then os.replace it into place, so
    a concurrent reader sees either no file or a complete one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def critical_values(
    T: int,
    r0: float | None = None,
    lag: int = 0,
    n_reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    cache_dir: str | os.PathLike | None = None,
) -> CriticalValues:
    """90/95/99% Monte Carlo critical values of SADF, GSADF and the BSADF sequence for a sample
    of T observations, cached in `cache_dir` (default `default_cache_dir()`)."""
    w0 = min_window_size(T, r0, lag)
    if isinstance(n_reps, bool) or not isinstance(n_reps, (int, np.integer)) or n_reps < 1:
        raise ValueError(f"n_reps must be a positive integer, got {n_reps!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    key = {"version": _CACHE_VERSION, "T": int(T), "window": w0, "lag": int(lag),
           "n_reps": int(n_reps), "seed": int(seed)}
    path = _cache_path(Path(cache_dir) if cache_dir is not None else default_cache_dir(),
                       T, w0, int(lag), int(n_reps), int(seed))
    stored = _read_cache(path, key)
    if stored is None:
        draws = simulate_null(int(T), w0, int(lag), int(n_reps), int(seed))
        with np.errstate(invalid="ignore"):
            bsadf_q = np.quantile(draws["bsadf"], LEVELS, axis=0)
        stored = {"sadf": draws["sadf"], "gsadf": draws["gsadf"], "bsadf_q": bsadf_q}
        try:
            _write_cache(path, {**{k: np.asarray(v) for k, v in key.items()}, **stored})
        except OSError as exc:
            # The values are already computed; a read-only or full disk should cost the
            # next run a recomputation, not this run its answer.
            warnings.warn(
                f"could not cache PSY critical values in {path.parent}: {exc}", stacklevel=2
            )
    sadf_q = np.quantile(stored["sadf"], LEVELS)
    gsadf_q = np.quantile(stored["gsadf"], LEVELS)
    return CriticalValues(
        T=int(T), window=w0, lag=int(lag), n_reps=int(n_reps), seed=int(seed),
        sadf={lv: float(q) for lv, q in zip(LEVELS, sadf_q)},
        gsadf={lv: float(q) for lv, q in zip(LEVELS, gsadf_q)},
        bsadf={lv: stored["bsadf_q"][i] for i, lv in enumerate(LEVELS)},
        sadf_draws=stored["sadf"], gsadf_draws=stored["gsadf"],
    )


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


def _cv_sequence(cv, T: int, window: int, lag: int, n_reps: int, seed: int, cache_dir):
    if cv is None:
        cv = critical_values(T, window / T, lag, n_reps=n_reps, seed=seed, cache_dir=cache_dir)
    if isinstance(cv, CriticalValues):
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
    n_reps: int = DEFAULT_REPS,
    seed: int = DEFAULT_SEED,
    cache_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """PSY (2015) date-stamping: episodes where BSADF exceeds its 95% critical value.

    `cv` is a scalar, a length-T sequence, a `CriticalValues`, or None to simulate (and cache)
    the BSADF critical values with `n_reps` replications.  Episodes shorter than
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


# --------------------------------------------------------------------------------------
# Command line: python -m runs psy FILE.csv --column NAME ...
# --------------------------------------------------------------------------------------


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "psy",
        help="date-stamp explosive episodes in a CSV column (Phillips, Shi and Yu 2015)",
        description="BSADF/GSADF bubble test and date-stamping (Phillips, Shi and Yu 2015) "
        "on one column of a CSV file.",
    )
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument("--column", required=True, metavar="NAME", help="column holding the series")
    parser.add_argument("--date-column", metavar="NAME", help="column labelling each observation")
    parser.add_argument("--log", action="store_true", help="test the log of the series")
    parser.add_argument("--min-window", type=int, metavar="N",
                        help="smallest window in observations "
                        "(default floor((0.01 + 1.8/sqrt(T)) T))")
    parser.add_argument("--lag", type=int, default=0, metavar="K", help="ADF lag order (default 0)")
    parser.add_argument("--json", action="store_true",
                        help="print the episodes as a JSON list of {start, end, duration}")
    parser.add_argument("--reps", type=int, default=DEFAULT_REPS, metavar="N",
                        help="Monte Carlo replications for critical values "
                        f"(default {DEFAULT_REPS}; cached)")
    parser.set_defaults(func=run)


def _read_series(args) -> tuple[np.ndarray, np.ndarray | None]:
    path = args.file
    try:
        frame = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"cannot read {path}: it is a directory") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"cannot read {path}: the file is empty") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot read {path} as CSV: {reason}") from None
    for name in filter(None, (args.column, args.date_column)):
        if name not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise InputError(f"column {name!r} not found in {path} (columns: {found})")
    raw = frame[args.column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        # Line numbers count the header as line 1.
        what = "a missing value" if pd.isna(raw.iloc[i]) else f"non-numeric value {raw.iloc[i]!r}"
        raise InputError(f"column {args.column!r} in {path} has {what} on line {i + 2}")
    if args.log:
        nonpos = np.flatnonzero(values <= 0)
        if nonpos.size:
            i = int(nonpos[0])
            raise InputError(
                f"column {args.column!r} in {path} has non-positive value {raw.iloc[i]} on line "
                f"{i + 2}; --log needs positive values"
            )
        values = np.log(values)
    dates = None
    if args.date_column:
        dates = frame[args.date_column].fillna("").to_numpy(dtype=object)
    return values, dates


def run(args) -> int:
    if args.lag < 0:
        raise InputError(f"--lag must be a non-negative integer, got {args.lag}")
    if args.reps < 20:
        raise InputError(f"--reps must be at least 20 to estimate a 95% quantile, got {args.reps}")
    if args.min_window is not None and args.min_window < 1:
        raise InputError(
            f"--min-window must be a positive number of observations, got {args.min_window}"
        )
    y, dates = _read_series(args)
    T = y.size
    if args.min_window is not None and args.min_window > T:
        raise InputError(
            f"--min-window {args.min_window} is longer than the series in {args.file} "
            f"({T} observations)"
        )
    r0 = None if args.min_window is None else args.min_window / max(T, 1)
    try:
        w0 = min_window_size(T, r0, args.lag)
        prepared = _prepare(y)
    except ValueError as exc:
        raise InputError(
            f"column {args.column!r} in {args.file} ({T} observations): {exc}"
        ) from None
    bs, forward = _recursive(prepared, w0, args.lag)
    cv = critical_values(T, w0 / T, args.lag, n_reps=args.reps)
    found = episodes(bs, cv.bsadf_95, math.log(T), dates)

    label = "start_date" if dates is not None else "start"
    label_end = "end_date" if dates is not None else "end"
    if args.json:
        rows = [
            {"start": _plain(start), "end": _plain(end), "duration": int(duration)}
            for start, end, duration in zip(found[label], found[label_end], found["duration"])
        ]
        print(json.dumps(rows, indent=2))
        return 0

    series = f"log {args.column}" if args.log else args.column
    print(f"PSY (2015) bubble test: {series} in {args.file}")
    print(f"  T = {T} observations, smallest window {w0} (r0 = {w0 / T:.4f}), lag {args.lag}, "
          f"critical values from {cv.n_reps} Monte Carlo replications")
    print(f"  GSADF = {np.nanmax(bs):7.3f}   95% critical value {cv.gsadf[0.95]:.3f}")
    print(f"  SADF  = {np.nanmax(forward):7.3f}   95% critical value {cv.sadf[0.95]:.3f}")
    print("Episodes with BSADF above its 95% critical value for at least "
          f"log T = {math.log(T):.1f} observations:")
    if found.empty:
        print("  none")
        return 0
    table = pd.DataFrame(
        {
            "origination": found[label].map(str),
            "termination": [
                f"{end} (ongoing)" if ongoing else str(end)
                for end, ongoing in zip(found[label_end], found["ongoing"])
            ],
            "duration": found["duration"],
        }
    )
    print(table.to_string(index=False))
    return 0


def _plain(value):
    """JSON-friendly scalar: numpy integers become int, labels stay as read from the CSV."""
    return int(value) if isinstance(value, (int, np.integer)) else value
