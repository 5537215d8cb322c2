"""Historical bubble lifetimes, the yardstick the model's simulated lifetimes are drawn against.

This module owns one small hand-entered table of famous bubbles (start, peak, burst, the
later trough where the design text gives one) and the lifetimes derived from it. A
bubble's lifetime runs from its start to its burst; for every bubble here the crash began
at the peak, so the burst date is the peak date and the note says so. Dates the source
gives only to the month are set to the first of that month, so month counts stay whole.
Dates are stored as `datetime64[s]` because the tulip mania predates the range of
nanosecond timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Calendar averages: a lifetime in days becomes months and weeks without favouring any month.
DAYS_PER_MONTH = 365.25 / 12
DAYS_PER_WEEK = 7.0

_BURST_AT_PEAK = "burst taken at the peak: the crash began there"

# name, start, peak, burst, trough (None if the source gives none), note.
_BUBBLES: list[tuple[str, str, str, str, str | None, str]] = [
    (
        "Tulips 1636-37",
        "1636-11-01",
        "1637-02-01",
        "1637-02-01",
        None,
        f"Dutch tulip mania; {_BURST_AT_PEAK}",
    ),
    (
        "Mississippi 1719-20",
        "1719-05-01",
        "1719-12-01",
        "1719-12-01",
        None,
        f"Mississippi Company shares, Paris; {_BURST_AT_PEAK}",
    ),
    (
        "South Sea 1720",
        "1720-01-01",
        "1720-06-24",
        "1720-06-24",
        None,
        f"South Sea Company shares; {_BURST_AT_PEAK}; collapse complete by Sep-Dec 1720; "
        "contemporaries: 'burst within seven months'",
    ),
    (
        "US stocks 1929",
        "1921-08-01",
        "1929-09-01",
        "1929-09-01",
        "1932-07-01",
        f"US stock market; {_BURST_AT_PEAK}; trough Jul 1932",
    ),
    (
        "Japan 1985-89",
        "1985-09-01",
        "1989-12-01",
        "1989-12-01",
        None,
        f"Japanese stocks and land; {_BURST_AT_PEAK}",
    ),
    (
        "Dot-com 1995-2000",
        "1995-01-01",
        "2000-03-10",
        "2000-03-10",
        "2002-10-09",
        f"Nasdaq; {_BURST_AT_PEAK}; trough 9 Oct 2002; 'lasted five years'",
    ),
    (
        "US housing 2000-06",
        "2000-01-01",
        "2006-07-01",
        "2006-07-01",
        None,
        f"US house prices; {_BURST_AT_PEAK}",
    ),
]


def _dates(values: list[str | None]) -> pd.Series:
    return pd.Series(np.array([v if v is not None else "NaT" for v in values], dtype="datetime64[s]"))


def historical_lifetimes() -> pd.DataFrame:
    """Historical bubbles, oldest first: one row each.

    Columns: name, start, peak, burst, trough (NaT where not given), lifetime_months,
    lifetime_weeks (both from start to burst, calendar averages), note.
    """
    names, starts, peaks, bursts, troughs, notes = zip(*_BUBBLES, strict=True)
    table = pd.DataFrame(
        {
            "name": list(names),
            "start": _dates(list(starts)),
            "peak": _dates(list(peaks)),
            "burst": _dates(list(bursts)),
            "trough": _dates(list(troughs)),
        }
    )
    days = (table["burst"] - table["start"]).dt.days.astype(float)
    table["lifetime_months"] = (days / DAYS_PER_MONTH).round(2)
    table["lifetime_weeks"] = (days / DAYS_PER_WEEK).round(2)
    table["note"] = list(notes)
    return table.sort_values("start", kind="stable").reset_index(drop=True)
