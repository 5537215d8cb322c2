"""Monte Carlo critical values of the PSY statistics (Phillips, Shi and Yu 2015), cached on disk.

`simulate_null` draws SADF, GSADF and the BSADF sequence under the paper's null (a random walk
with asymptotically negligible drift); `critical_values` turns the draws into 90/95/99%
critical values and keeps them in a cache file per (T, smallest window, lag, replications,
seed) under `default_cache_dir()`, written atomically and ignored when stale, truncated or
foreign. The statistics themselves live in `runs.psy`.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import numpy as np

from runs.psy import _prepare, _recursive, min_window_size
from runs.store import write_atomic

LEVELS = (0.90, 0.95, 0.99)
DEFAULT_SEED = 20150
DEFAULT_REPS = 2000

# Bump when the simulator or the file layout changes, so stale cache files are never read.
_CACHE_VERSION = 1


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
    """Write the cache file atomically (runs.store.write_atomic), so a concurrent reader sees
    either no file or a complete one."""

    def savez(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **payload)

    write_atomic(path, savez)


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
    key = {
        "version": _CACHE_VERSION,
        "T": int(T),
        "window": w0,
        "lag": int(lag),
        "n_reps": int(n_reps),
        "seed": int(seed),
    }
    path = _cache_path(
        Path(cache_dir) if cache_dir is not None else default_cache_dir(), T, w0, int(lag), int(n_reps), int(seed)
    )
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
            warnings.warn(f"could not cache PSY critical values in {path.parent}: {exc}", stacklevel=2)
    sadf_q = np.quantile(stored["sadf"], LEVELS)
    gsadf_q = np.quantile(stored["gsadf"], LEVELS)
    return CriticalValues(
        T=int(T),
        window=w0,
        lag=int(lag),
        n_reps=int(n_reps),
        seed=int(seed),
        sadf={lv: float(q) for lv, q in zip(LEVELS, sadf_q, strict=True)},
        gsadf={lv: float(q) for lv, q in zip(LEVELS, gsadf_q, strict=True)},
        bsadf={lv: stored["bsadf_q"][i] for i, lv in enumerate(LEVELS)},
        sadf_draws=stored["sadf"],
        gsadf_draws=stored["gsadf"],
    )
