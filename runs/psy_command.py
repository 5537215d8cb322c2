"""`python -m runs psy`: date-stamp explosive episodes in one column of a CSV file.

Runs the Phillips, Shi and Yu (2015) tests of `runs.psy` on the column (or its log): GSADF and
SADF against their 95% Monte Carlo critical values (`runs.psy_critical`, cached on disk), then
the episodes in which BSADF stays above its critical value for at least log T observations.
Importing this module loads neither numpy nor pandas; `run` does.
"""

from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING

from economy.errors import InputError

if TYPE_CHECKING:
    import numpy as np

# runs.psy_critical.DEFAULT_REPS, repeated so that building the parser imports no numpy.
DEFAULT_REPS = 2000


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "psy",
        help="date-stamp explosive episodes in a CSV column (Phillips, Shi and Yu 2015)",
        description="BSADF/GSADF bubble test and date-stamping (Phillips, Shi and Yu 2015) on one column\n"
        "of a CSV file: GSADF and SADF against their 95% Monte Carlo critical values (cached on\n"
        "disk), then every episode in which BSADF stays above its critical value for at least\n"
        "log T observations.",
        epilog="example:\n  python -m runs psy prices.csv --column close --date-column date --log",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", metavar="FILE.csv", help="CSV file with a header row")
    parser.add_argument("--column", required=True, metavar="NAME", help="column holding the series")
    parser.add_argument("--date-column", metavar="NAME", help="column labelling each observation")
    parser.add_argument("--log", action="store_true", help="test the log of the series")
    parser.add_argument(
        "--min-window",
        type=int,
        metavar="N",
        help="smallest window in observations (default floor((0.01 + 1.8/sqrt(T)) T))",
    )
    parser.add_argument("--lag", type=int, default=0, metavar="K", help="ADF lag order (default 0)")
    parser.add_argument(
        "--json", action="store_true", help="print the episodes as a JSON list of {start, end, duration}"
    )
    parser.add_argument(
        "--reps",
        type=int,
        default=DEFAULT_REPS,
        metavar="N",
        help=f"Monte Carlo replications for critical values (default {DEFAULT_REPS}; cached)",
    )
    parser.set_defaults(func=run)


# Longest series tested: the recursive statistics and their critical values take time ~ T^2.
MAX_OBSERVATIONS = 20_000
# Largest magnitude accepted: squares and sums of the series must stay finite in float64.
MAX_MAGNITUDE = 1e100


def _readable_file(path: str) -> str:
    """The file's text; InputError if it is not a regular, readable UTF-8 text file (checked before opening)."""
    import os
    import stat

    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"cannot read {path}: it is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"cannot read {path}: not a regular file (a FIFO, socket or device)")
    if info.st_size == 0:
        raise InputError(f"cannot read {path}: the file is empty")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise InputError(f"cannot read {path}: a binary file (NUL byte on line {line}), not CSV text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"cannot read {path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line})") from None


def _read_series(args) -> tuple[np.ndarray, np.ndarray | None]:
    import io

    import numpy as np
    import pandas as pd

    path = args.file
    text = _readable_file(path)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise InputError(f"cannot read {path}: the file has no header row") from None
    except (pd.errors.ParserError, ValueError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot read {path} as CSV: {reason}") from None
    import csv

    header = next(csv.reader(io.StringIO(text, newline="")), [])
    for name in filter(None, (args.column, args.date_column)):
        if header.count(name) > 1:
            raise InputError(f"column {name!r} appears {header.count(name)} times in the header of {path}")
        if name not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise InputError(f"column {name!r} not found in {path} (columns: {found})")
    if len(frame) > MAX_OBSERVATIONS:
        raise InputError(f"{path} has {len(frame)} rows; the test takes at most {MAX_OBSERVATIONS} observations")
    raw = frame[args.column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        # The log of a huge value is fine; the series itself must keep its squares finite.
        bad = np.flatnonzero(~np.isfinite(values) | ((np.abs(values) > MAX_MAGNITUDE) & (not args.log)))
    if bad.size:
        i = int(bad[0])
        # Line numbers count the header as line 1.
        if pd.isna(raw.iloc[i]):
            what = "a missing value"
        elif np.isnan(values[i]):
            what = f"non-numeric value {raw.iloc[i]!r}"
        elif np.isinf(values[i]):
            what = f"non-finite value {raw.iloc[i]!r}"
        else:
            what = f"value {raw.iloc[i]!r} beyond +-{MAX_MAGNITUDE:g} (rescale the series or use --log)"
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
        if not np.all(np.isfinite(values)):  # cannot happen for finite positive values; kept as a guard
            i = int(np.flatnonzero(~np.isfinite(values))[0])
            raise InputError(f"column {args.column!r} in {path}: the log of line {i + 2} is not finite")
    dates = None
    if args.date_column:
        values, dates = _dated(values, frame[args.date_column], args.date_column, path)
    return values, dates


def _dated(values: np.ndarray, column, name: str, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Values in date order with their date labels; InputError for a missing, unreadable or repeated date.

    Labels that are all numbers (years, say) sort as numbers, others must read as dates. Unsorted
    dates are sorted, with a note on stderr.
    """
    import sys
    import warnings

    import numpy as np
    import pandas as pd

    labels = column.fillna("").str.strip()
    empty = np.flatnonzero((labels == "").to_numpy())
    if empty.size:
        raise InputError(f"column {name!r} in {path} has a missing date on line {int(empty[0]) + 2}")
    keys = pd.to_numeric(labels, errors="coerce")
    if keys.isna().any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keys = pd.to_datetime(labels, errors="coerce", format="mixed")
        if keys.isna().any():
            i = int(np.flatnonzero(keys.isna().to_numpy())[0])
            raise InputError(f"column {name!r} in {path} has {labels.iloc[i]!r} on line {i + 2}, not a date")
    repeated = np.flatnonzero(keys.duplicated().to_numpy())
    if repeated.size:
        i = int(repeated[0])
        first = int(np.flatnonzero((keys == keys.iloc[i]).to_numpy())[0])
        raise InputError(
            f"column {name!r} in {path} repeats date {labels.iloc[i]!r} on line {i + 2} (first on line {first + 2})"
        )
    order = np.argsort(keys.to_numpy(), kind="stable")
    if np.any(order != np.arange(order.size)):
        print(f"note: {path}: rows sorted by {name!r} (they were not in date order)", file=sys.stderr, flush=True)
        values = values[order]
    return values, labels.to_numpy(dtype=object)[order]


def _shortest(lag: int) -> int | None:
    """The shortest series the test can run on with the default smallest window and this --lag."""
    from runs.psy import min_window_size

    for T in range(1, 10_000):
        try:
            min_window_size(T, None, lag)
        except ValueError:
            continue
        return T
    return None


def run(args) -> int:
    import numpy as np
    import pandas as pd

    from runs.commands import check_limits
    from runs.psy import _prepare, _recursive, episodes, min_window_size
    from runs.psy_critical import critical_values

    check_limits(args)
    if args.lag < 0:
        raise InputError(f"--lag must be a non-negative integer, got {args.lag}")
    if args.reps < 20:
        raise InputError(f"--reps must be at least 20 to estimate a 95% quantile, got {args.reps}")
    if args.min_window is not None and args.min_window < 1:
        raise InputError(f"--min-window must be a positive number of observations, got {args.min_window}")
    y, dates = _read_series(args)
    T = y.size
    if args.min_window is not None and args.min_window > T:
        raise InputError(f"--min-window {args.min_window} is longer than the series in {args.file} ({T} observations)")
    shortest = _shortest(args.lag) if args.min_window is None else None
    if shortest is not None and shortest > T:
        raise InputError(
            f"column {args.column!r} in {args.file} has {T} observations; the test with lag {args.lag} "
            f"needs at least {shortest}"
        )
    r0 = None if args.min_window is None else args.min_window / max(T, 1)
    try:
        w0 = min_window_size(T, r0, args.lag)
        prepared = _prepare(y)
    except ValueError as exc:
        raise InputError(f"column {args.column!r} in {args.file} ({T} observations): {exc}") from None
    bs, forward = _recursive(prepared, w0, args.lag)
    if np.isinf(bs).any() or np.isinf(forward).any():
        raise InputError(
            f"column {args.column!r} in {args.file}: some windows fit the ADF regression exactly (a straight "
            "line or other deterministic series?); the test needs a series with noise"
        )
    cv = critical_values(T, w0 / T, args.lag, n_reps=args.reps)
    found = episodes(bs, cv.bsadf_95, math.log(T), dates)

    label = "start_date" if dates is not None else "start"
    label_end = "end_date" if dates is not None else "end"
    if args.json:
        rows = [
            {"start": _plain(start), "end": _plain(end), "duration": int(duration)}
            for start, end, duration in zip(found[label], found[label_end], found["duration"], strict=True)
        ]
        print(json.dumps(rows, indent=2))
        return 0

    series = f"log {args.column}" if args.log else args.column
    print(f"PSY (2015) bubble test: {series} in {args.file}")
    print(
        f"  T = {T} observations, smallest window {w0} (r0 = {w0 / T:.4f}), lag {args.lag}, "
        f"critical values from {cv.n_reps} Monte Carlo replications"
    )
    print(f"  GSADF = {np.nanmax(bs):7.3f}   95% critical value {cv.gsadf[0.95]:.3f}")
    print(f"  SADF  = {np.nanmax(forward):7.3f}   95% critical value {cv.sadf[0.95]:.3f}")
    print(f"Episodes with BSADF above its 95% critical value for at least log T = {math.log(T):.1f} observations:")
    if found.empty:
        print("  none")
        return 0
    table = pd.DataFrame(
        {
            "origination": found[label].map(str),
            "termination": [
                f"{end} (ongoing)" if ongoing else str(end)
                for end, ongoing in zip(found[label_end], found["ongoing"], strict=True)
            ],
            "duration": found["duration"],
        }
    )
    print(table.to_string(index=False))
    return 0


def _plain(value):
    """JSON-friendly scalar: numpy integers become int, labels stay as read from the CSV."""
    import numpy as np

    return int(value) if isinstance(value, (int, np.integer)) else value
