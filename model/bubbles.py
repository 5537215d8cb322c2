"""Bubble episodes as the model knows them (design section 7): a pure function of series.

An episode starts when the AI basket's price-to-fundamental ratio has stayed above 1 + θ
for m consecutive weeks (it starts at the first of them); it peaks at its highest price;
it bursts at the first drawdown of X% from the running peak (Greenwood, Shleifer and You
2019 use 40%) or when the ratio falls back under 1 + θ. Lifetime runs from start to burst.
After a burst the detector re-arms only once the ratio has been back under 1 + θ: a crash
that still sits above the threshold is the old bubble deflating, not a new one. An episode
still alive at the end is right-censored. If the basket is already above the threshold at
the first step, the boom began before the run: its start is the scenario's `boom_started`
date, so its lifetime compares with historical ones, and every episode also reports its
remaining life from the run's start. The run's first episode is its headline (`first`).
The cause of a burst is the first event the model logged inside the episode's own window,
from a quarter before the peak (never before the episode began) up to the burst: a lab's
down round or failed round, a lab's failure, a wave of panic selling, savers' flows turning
negative; with none, the mechanism itself (the drawdown, or the ratio drifting back).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

COLUMNS = [
    "start",
    "peak",
    "burst",
    "start_week",
    "peak_week",
    "burst_week",
    "lifetime_weeks",
    "remaining_weeks",
    "censored",
    "cause",
    "peak_pf",
    "peak_price",
    "first",
]
CAUSE_LOOKBACK_WEEKS = 13


def find_episodes(
    price,
    ratio,
    *,
    start_date: dt.date,
    boom_started: dt.date,
    theta: float = 0.5,
    confirm_weeks: int = 4,
    drawdown: float = 0.4,
    events=None,
) -> pd.DataFrame:
    """Episodes of one run. `price` and `ratio` are weekly arrays from the run's first week;
    `events` is a list of (week, text) the model logged. Returns a table with COLUMNS."""
    price = np.asarray(price, dtype=float)
    ratio = np.asarray(ratio, dtype=float)
    if price.shape != ratio.shape or not (np.isfinite(price).all() and np.isfinite(ratio).all()):
        # A NaN would become the running peak and hide every later drawdown.
        raise ValueError("price and ratio must be finite series of the same length")
    events = sorted(events or [], key=lambda e: e[0])
    horizon = len(price)
    threshold = 1.0 + theta
    rows, above, armed, t = [], 0, True, 0
    while t < horizon:
        if not armed:  # after a burst: wait for the ratio to have been back under the threshold
            armed = ratio[t] <= threshold
            t += 1
            continue
        above = above + 1 if ratio[t] > threshold else 0
        if above < confirm_weeks:
            t += 1
            continue
        first = t - confirm_weeks + 1
        peak_week = first + int(np.argmax(price[first : t + 1]))
        burst_week, how = None, ""
        t += 1
        while t < horizon:
            if price[t] > price[peak_week]:
                peak_week = t
            if price[t] <= (1.0 - drawdown) * price[peak_week]:
                burst_week, how = t, f"price fell {drawdown:.0%} from its peak"
            elif ratio[t] <= threshold:
                burst_week, how = t, "price fell back toward fundamental value"
            if burst_week is not None:
                break
            t += 1
        rows.append(
            _row(
                first,
                peak_week,
                burst_week,
                how,
                horizon,
                price,
                ratio,
                start_date,
                boom_started,
                events,
                headline=not rows,
            )
        )
        if burst_week is None:
            break
        above, armed, t = 0, ratio[burst_week] <= threshold, burst_week + 1
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(first, peak_week, burst_week, how, horizon, price, ratio, start_date, boom_started, events, headline):
    if first == 0:  # already above at the first step: the boom began before the run
        start_week = (boom_started - start_date).days / 7.0
        start = boom_started
    else:
        start_week = float(first)
        start = start_date + dt.timedelta(weeks=first)
    censored = burst_week is None
    end_week = horizon if censored else burst_week
    cause = "" if censored else _cause(events, first, peak_week, burst_week, how, start_date)
    return {
        "start": start,
        "peak": start_date + dt.timedelta(weeks=peak_week),
        "burst": None if censored else start_date + dt.timedelta(weeks=burst_week),
        "start_week": start_week,
        "peak_week": peak_week,
        "burst_week": np.nan if censored else float(burst_week),
        "lifetime_weeks": float(end_week - start_week),
        "remaining_weeks": float(end_week),
        "censored": censored,
        "cause": cause,
        "peak_pf": float(ratio[peak_week]),
        "peak_price": float(price[peak_week]),
        "first": headline,
    }


def _cause(events, first_week, peak_week, burst_week, how, start_date) -> str:
    """The first logged event from a quarter before the peak (but not before the episode's own
    first week) up to the burst; the mechanism's own description when there is none."""
    opens = max(first_week, peak_week - CAUSE_LOOKBACK_WEEKS)
    for week, text in events:
        if opens <= week <= burst_week:
            return f"{text} ({(start_date + dt.timedelta(weeks=int(week))).isoformat()})"
    return how
