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


def _read_series(args) -> tuple[np.ndarray, np.ndarray | None]:
    import numpy as np
    import pandas as pd

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
    import numpy as np
    import pandas as pd

    from runs.psy import _prepare, _recursive, episodes, min_window_size
    from runs.psy_critical import critical_values

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
    r0 = None if args.min_window is None else args.min_window / max(T, 1)
    try:
        w0 = min_window_size(T, r0, args.lag)
        prepared = _prepare(y)
    except ValueError as exc:
        raise InputError(f"column {args.column!r} in {args.file} ({T} observations): {exc}") from None
    bs, forward = _recursive(prepared, w0, args.lag)
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
