"""Episode dating on hand-made series with known answers (design section 7)."""

import datetime as dt

import numpy as np
import pandas as pd

from model.bubbles import COLUMNS, find_episodes

START = dt.date(2026, 1, 1)
BOOM = dt.date(2022, 11, 30)


def episodes(price, ratio, events=None):
    return find_episodes(
        price, ratio, start_date=START, boom_started=BOOM, theta=0.5, confirm_weeks=4, drawdown=0.4, events=events
    )


def test_a_crash_that_stays_above_the_threshold_is_not_a_new_bubble():
    # boom from week 5, 40% crash at week 20 with the ratio still 1.6, a rebound to 2.5 that never
    # went back under 1.5: one episode, not two
    ratio = np.r_[np.full(5, 1.0), np.full(15, 2.5), np.full(5, 1.6), np.full(15, 2.5)]
    price = np.r_[np.full(5, 100.0), np.linspace(150, 200, 15), np.full(5, 110.0), np.full(15, 170.0)]
    table = episodes(price, ratio)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row.start_week, row.burst_week, row.lifetime_weeks) == (5.0, 20.0, 15.0)
    assert row.cause == "price fell 40% from its peak" and bool(row["first"]) and not row.censored


def test_a_recrossing_after_the_ratio_went_under_is_a_second_episode():
    ratio = np.r_[np.full(5, 1.0), np.full(15, 2.5), np.full(5, 1.6), np.full(2, 1.2), np.full(13, 2.5)]
    price = np.r_[
        np.full(5, 100.0), np.linspace(150, 200, 15), np.full(5, 110.0), np.full(2, 100.0), np.full(13, 170.0)
    ]
    table = episodes(price, ratio)
    assert list(table["start_week"]) == [5.0, 27.0]
    assert list(table["first"]) == [True, False]
    assert list(table["censored"]) == [False, True]


def test_a_boom_under_way_at_the_first_step_starts_at_boom_started():
    ratio = np.r_[np.full(30, 2.0), np.full(10, 1.2)]
    price = np.r_[np.linspace(100, 130, 30), np.full(10, 120.0)]
    row = episodes(price, ratio).iloc[0]
    assert row.start == BOOM and row.start_week == (BOOM - START).days / 7.0
    assert row.remaining_weeks == 30.0 and row.lifetime_weeks == 30.0 - row.start_week
    assert row.cause == "price fell back toward fundamental value" and bool(row["first"])


def test_an_episode_alive_at_the_horizon_is_censored():
    ratio = np.r_[np.full(10, 1.0), np.full(20, 1.8)]
    price = np.r_[np.full(10, 100.0), np.linspace(100, 160, 20)]
    table = episodes(price, ratio)
    assert len(table) == 1
    row = table.iloc[0]
    assert row.censored and pd.isna(row.burst) and np.isnan(row.burst_week)
    assert row.remaining_weeks == 30.0 and row.lifetime_weeks == 20.0 and row.cause == ""


def test_the_cause_lies_inside_the_episode_never_before_it():
    ratio = np.r_[np.full(10, 1.0), np.full(10, 2.0), np.full(5, 1.0)]
    price = np.r_[np.full(10, 100.0), np.linspace(150, 160, 10), np.full(5, 150.0)]
    early = [(3, "OpenAI raised in a down round")]  # before the episode's first week (10)
    assert episodes(price, ratio, early).iloc[0].cause == "price fell back toward fundamental value"
    inside = early + [(12, "Anthropic failed to raise")]
    cause = episodes(price, ratio, inside).iloc[0].cause
    assert cause == f"Anthropic failed to raise ({(START + dt.timedelta(weeks=12)).isoformat()})"


def test_no_episode_without_confirmation_and_the_columns_are_kept():
    ratio = np.r_[np.full(5, 1.0), np.full(3, 2.0), np.full(5, 1.0)]
    table = episodes(np.full(13, 100.0), ratio)
    assert table.empty and list(table.columns) == COLUMNS


def test_a_missing_price_is_refused_not_taken_for_the_peak():
    import pytest

    price = [1, 1, 2, np.nan, 2, 2, 2, 2, 0.9, 0.9, 0.9, 0.9]
    with pytest.raises(ValueError, match="finite"):
        episodes(price, [1, 1] + [1.6] * 10)
