"""Tests for runs.psy: ADF windows against plain OLS, BSADF/SADF/GSADF definitions, Monte
Carlo critical values against Phillips, Shi and Yu (2015), the disk cache, date-stamping of a
planted bubble and of pure random walks, and the `python -m runs psy` command."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runs import cli, psy, psy_command, psy_critical


def ols_adf_t(y: np.ndarray, lag: int = 0) -> float:
    """Reference ADF t-ratio: build the design matrix and call numpy.linalg.lstsq."""
    dy = np.diff(y)
    t = np.arange(lag + 1, len(y))
    X = np.column_stack([np.ones(t.size), y[t - 1]] + [dy[t - 1 - i] for i in range(1, lag + 1)])
    z = dy[t - 1]
    beta, rss, *_ = np.linalg.lstsq(X, z, rcond=None)
    s2 = rss[0] / (t.size - X.shape[1])
    return beta[1] / math.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])


def random_walk(seed: int, T: int, start: float = 100.0) -> np.ndarray:
    return start + np.cumsum(np.random.default_rng(seed).standard_normal(T))


def planted_bubble(seed: int, T: int = 500, first: int = 300, last: int = 340) -> np.ndarray:
    """Random walk from 100 that turns explosive, y_t = 1.03 y_{t-1} + e_t, over first..last,
    then collapses back to its pre-bubble level and walks on."""
    e = np.random.default_rng(seed).standard_normal(T)
    y = np.empty(T)
    y[0] = 100.0
    for t in range(1, T):
        if first <= t <= last:
            y[t] = 1.03 * y[t - 1] + e[t]
        elif t == last + 1:
            y[t] = y[first - 1] + e[t]
        else:
            y[t] = y[t - 1] + e[t]
    return y


# --- ADF statistics ------------------------------------------------------------------


@pytest.mark.parametrize("lag", [0, 2])
def test_window_statistics_equal_plain_ols(lag):
    y = random_walk(0, 240) + 0.3 * np.sin(np.arange(240) / 7.0)
    W = psy.adf_windows(y, 25, lag)
    rng = np.random.default_rng(1)
    for _ in range(12):
        r1 = int(rng.integers(0, 240 - 25))
        r2 = int(rng.integers(r1 + 24, 240))
        assert W[r1, r2] == pytest.approx(ols_adf_t(y[r1 : r2 + 1], lag), rel=1e-8, abs=1e-10)
    assert W[0, 239] == pytest.approx(psy.adf_stat(y, lag), rel=1e-10)
    # Windows shorter than the minimum, and r1 > r2, are blank.
    assert np.isnan(W[10, 33]) and np.isnan(W[100, 50])
    assert not np.isnan(W[10, 34])


def test_closed_form_lag0_equals_moment_matrix_route():
    y = psy._prepare(random_walk(3, 150))
    closed = np.full((150, 150), np.nan)
    for a, c0, block in psy._lag0_blocks(y, 12):
        closed[a : a + block.shape[0], c0 : c0 + block.shape[1]] = block
    batched = np.full((150, 150), np.nan)
    for a, c0, block in psy._lagk_blocks(y, 12, 0):
        batched[a : a + block.shape[0], c0 : c0 + block.shape[1]] = block
    np.testing.assert_allclose(closed, batched, rtol=1e-9, atol=1e-11)


def test_closed_form_survives_large_levels():
    # Raw (unlogged) prices around 1e6: the standardisation must keep the cumulative sums exact.
    y = 1e6 + 50.0 * random_walk(4, 300, start=0.0)
    W = psy.adf_windows(y, 30)
    for r1, r2 in [(0, 299), (200, 229), (37, 180)]:
        assert W[r1, r2] == pytest.approx(ols_adf_t(y[r1 : r2 + 1]), rel=1e-7)


@pytest.mark.parametrize("lag", [0, 1])
def test_bsadf_sadf_gsadf_follow_their_definitions(lag):
    y = random_walk(5, 90)
    w0 = psy.min_window_size(90, None, lag)
    assert w0 == math.floor((0.01 + 1.8 / math.sqrt(90)) * 90)
    W = psy.adf_windows(y, w0, lag)
    seq = psy.bsadf(y, lag=lag)
    assert np.all(np.isnan(seq[: w0 - 1]))
    for r2 in range(w0 - 1, 90):
        assert seq[r2] == pytest.approx(max(W[r1, r2] for r1 in range(r2 - w0 + 2)), rel=1e-12)
    assert psy.sadf(y, lag=lag) == pytest.approx(np.nanmax(W[0]), rel=1e-12)
    assert psy.gsadf(y, lag=lag) == pytest.approx(np.nanmax(seq), rel=1e-12)
    assert psy.gsadf(y, lag=lag) >= psy.sadf(y, lag=lag)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(-1e4, 1e4),
    scale=st.floats(1e-3, 1e3),
)
def test_bsadf_is_invariant_to_affine_rescaling(seed, shift, scale):
    y = random_walk(seed, 60, start=0.0)
    np.testing.assert_allclose(psy.bsadf(shift + scale * y), psy.bsadf(y), rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize(
    "T, r0, lag, message",
    [
        (100, None, -1, "lag"),
        (100, 0.0, 0, "r0"),
        (100, 0.03, 0, "needs at least"),
        (100, 0.07, 2, "needs at least"),
        (10, 1.5, 0, "r0"),
    ],
)
def test_unusable_windows_are_refused(T, r0, lag, message):
    with pytest.raises(ValueError, match=message):
        psy.min_window_size(T, r0, lag)


def test_integer_minimum_window_is_not_lost_to_rounding():
    for T in (97, 500, 1680):
        for n in (10, 36, 90):
            assert psy.min_window_size(T, n / T) == n


# --- Monte Carlo critical values -----------------------------------------------------


def test_critical_values_match_psy_2015_for_T_1680(tmp_path):
    """PSY (2015) report 95% critical values of 1.59 (SADF) and 2.34 (GSADF) for T = 1680 and
    r0 = 0.01 + 1.8/sqrt(T) (90 observations), from 2000 replications.

    Monte Carlo error, honestly: a sample q-quantile from n draws has standard error
    sqrt(q(1-q)/n) / f(x_q).  We estimate it without guessing the density f, from the order
    statistics two binomial standard deviations m = sqrt(n q (1-q)) either side of rank n q:
    se ~ (X(nq + 2m) - X(nq - 2m)) / 4.  The paper's figure carries the same kind of error at
    2000 draws, se * sqrt(n/2000), plus rounding to 0.005; the test allows three standard
    errors of the difference.  With n = 800 that is about +-0.15 (SADF) and +-0.2 (GSADF):
    tight enough to catch a wrong statistic or window convention (w0 = 36 instead of 90 moves
    GSADF by ~0.4), cheap enough (~20 s of one core) for the suite.
    """
    n, paper_reps = 800, 2000
    cv = psy_critical.critical_values(1680, n_reps=n, seed=2015, cache_dir=tmp_path)
    assert cv.window == 90 and cv.T == 1680 and cv.bsadf_95.shape == (1680,)
    for name, paper in (("sadf", 1.59), ("gsadf", 2.34)):
        draws = np.sort(getattr(cv, f"{name}_draws"))
        ours = getattr(cv, name)[0.95]
        m = math.sqrt(n * 0.95 * 0.05)
        k = 0.95 * (n - 1)
        se = (draws[round(k + 2 * m)] - draws[round(k - 2 * m)]) / 4.0
        tolerance = 3.0 * se * math.sqrt(1.0 + n / paper_reps) + 0.005
        assert abs(ours - paper) <= tolerance, (name, ours, paper, tolerance)
    assert cv.sadf[0.90] < cv.sadf[0.95] < cv.sadf[0.99]
    assert cv.gsadf[0.90] < cv.gsadf[0.95] < cv.gsadf[0.99]
    # GSADF searches a superset of SADF's windows, draw by draw.
    assert np.all(cv.gsadf_draws >= cv.sadf_draws - 1e-12)
    assert np.all(np.isnan(cv.bsadf_95[:89])) and np.all(np.isfinite(cv.bsadf_95[89:]))


def test_same_seed_same_values_and_other_seed_differs(tmp_path):
    a = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path / "a")
    b = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path / "b")
    c = psy_critical.critical_values(60, n_reps=40, seed=8, cache_dir=tmp_path / "c")
    assert a.gsadf == b.gsadf and a.sadf == b.sadf
    np.testing.assert_array_equal(a.bsadf_95, b.bsadf_95)
    assert a.gsadf != c.gsadf


def test_second_call_reads_the_cache(tmp_path, monkeypatch):
    first = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_simulation(*args, **kwargs):
        raise AssertionError("the simulator ran although the cache holds the values")

    monkeypatch.setattr(psy_critical, "simulate_null", no_simulation)
    second = psy_critical.critical_values(60, r0=first.r0, n_reps=40, seed=7, cache_dir=tmp_path)
    assert second.sadf == first.sadf and second.gsadf == first.gsadf
    for level in psy_critical.LEVELS:
        np.testing.assert_array_equal(second.bsadf[level], first.bsadf[level])
    # A different key is not served from the cache.
    with pytest.raises(AssertionError, match="simulator ran"):
        psy_critical.critical_values(60, n_reps=41, seed=7, cache_dir=tmp_path)


def test_cache_is_written_atomically(tmp_path, monkeypatch):
    real_replace = psy_critical.os.replace
    moves = []

    def checking_replace(src, dst):
        src, dst = map(str, (src, dst))
        # At the moment of the move the final name does not exist yet and the temporary file
        # beside it is already complete.
        assert not psy_critical.Path(dst).exists()
        assert psy_critical.Path(src).parent == psy_critical.Path(dst).parent
        with np.load(src) as data:
            assert int(data["n_reps"]) == 40
        moves.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(psy_critical.os, "replace", checking_replace)
    psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path)
    assert len(moves) == 1 and moves[0][1].endswith(".npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == [psy_critical.Path(moves[0][1]).name]


def test_failed_cache_write_leaves_nothing_behind(tmp_path, monkeypatch):
    def crash(fh, **payload):
        fh.write(b"PK\x03\x04 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(psy.np, "savez", crash)
    with pytest.warns(UserWarning, match="disk full"):
        values = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path)
    # The answer still comes back; only the cache is skipped, with no partial file left.
    assert values.gsadf[0.95] > values.gsadf[0.90]
    assert list(tmp_path.iterdir()) == []


def test_corrupt_cache_file_is_recomputed(tmp_path):
    fresh = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path / "fresh")
    [path] = (tmp_path / "fresh").glob("*.npz")
    path.write_bytes(b"not an npz file")
    again = psy_critical.critical_values(60, n_reps=40, seed=7, cache_dir=tmp_path / "fresh")
    assert again.gsadf == fresh.gsadf
    with np.load(path) as data:
        assert int(data["seed"]) == 7


def test_cache_directory_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CIRCULAR_AI_CACHE", str(tmp_path / "root"))
    assert psy_critical.default_cache_dir() == tmp_path / "root" / "psy"
    psy_critical.critical_values(60, n_reps=40, seed=7)
    assert len(list((tmp_path / "root" / "psy").glob("*.npz"))) == 1
    monkeypatch.delenv("CIRCULAR_AI_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert psy_critical.default_cache_dir() == tmp_path / "xdg" / "circular-ai-bubble" / "psy"


# --- Date-stamping -------------------------------------------------------------------


def test_episode_conventions():
    stat = np.array([np.nan, np.nan, 0, 2, 2, 2, 0, 2, 0, 2, 2, 2, 2, 0, 0, 2, 2, 2])
    cv = np.full(stat.size, 1.0)
    found = psy.episodes(stat, cv, min_duration=3, dates=[f"d{i}" for i in range(stat.size)])
    rows = found[["start", "end", "duration"]].values.tolist()
    assert rows == [[3, 6, 3], [9, 13, 4], [15, 17, 3]]
    assert found["ongoing"].tolist() == [False, False, True]
    assert found["start_date"].tolist() == ["d3", "d9", "d15"]
    assert found["end_date"].tolist() == ["d6", "d13", "d17"]
    assert psy.episodes(stat, 1.0, min_duration=4)["start"].tolist() == [9]
    assert psy.episodes(stat, 5.0, min_duration=0).empty
    # Equal to the critical value is not above it.
    assert psy.episodes(np.ones(5), 1.0, min_duration=0).empty


@pytest.fixture(scope="module")
def cv500(tmp_path_factory):
    return psy_critical.critical_values(500, n_reps=500, seed=11, cache_dir=tmp_path_factory.mktemp("cv"))


@pytest.mark.parametrize("seed", range(5))
def test_date_stamp_finds_a_planted_bubble(seed, cv500):
    y = planted_bubble(seed)
    found = psy.date_stamp(y, dates=np.arange(1000, 1500), cv=cv500)
    overlapping = found[(found["start"] <= 340) & (found["end"] >= 300)]
    assert len(overlapping) == 1, found
    bubble = overlapping.iloc[0]
    # Origination within a few observations of t = 300; termination at the collapse (341).
    assert abs(int(bubble["start"]) - 300) <= 10, found
    assert 341 <= int(bubble["end"]) <= 343, found
    assert not bubble["ongoing"]
    assert bubble["start_date"] == 1000 + bubble["start"]
    assert bubble["duration"] == found["duration"].max()
    # Default minimum duration is log T; every episode kept respects it.
    assert (found["duration"] >= math.log(500)).all()


def test_date_stamp_rarely_flags_a_pure_random_walk(cv500):
    """Under the null the 95% BSADF sequence is exceeded at ~5% of end points, but BSADF is
    very persistent, so with the default minimum of log T = 6.2 observations about half of
    500-observation random walks still show some short episode (a known multiplicity effect
    of pointwise critical values).  Long episodes -- 25 observations, well short of the planted
    bubble's 35-49 -- occur in about 10% of walks (measured over 300 seeds); allowing 5 of 20
    leaves a ~1% chance of failing for an arbitrary seed set.
    """
    flagged, exceed = 0, []
    for seed in range(20):
        y = random_walk(1000 + seed, 500)
        stat = psy.bsadf(y)
        exceed.append(np.mean(stat[cv500.window - 1 :] > cv500.bsadf_95[cv500.window - 1 :]))
        found = psy.date_stamp(y, cv=cv500)
        flagged += bool((found["duration"] >= 25).any())
    assert flagged <= 5
    assert 0.02 <= np.mean(exceed) <= 0.09


def test_date_stamp_simulates_critical_values_when_none_are_given(tmp_path):
    y = planted_bubble(0, T=200, first=120, last=150)
    found = psy.date_stamp(y, n_reps=100, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    assert ((found["start"] <= 150) & (found["end"] >= 120)).sum() == 1
    with pytest.raises(ValueError, match="critical values are for T=500"):
        psy.date_stamp(y, cv=psy_critical.critical_values(500, n_reps=20, cache_dir=tmp_path))


# --- Command line ----------------------------------------------------------------------


def test_psy_is_a_registered_command():
    assert "runs.psy_command" in cli.COMMAND_MODULES
    # The parser's default is repeated there so that building it imports no numpy.
    assert psy_command.DEFAULT_REPS == psy_critical.DEFAULT_REPS
    # Callers of the old single module still reach the critical values through runs.psy.
    assert psy.critical_values is psy_critical.critical_values and psy.DEFAULT_REPS == psy_critical.DEFAULT_REPS


@pytest.fixture
def run_cli(tmp_path, monkeypatch, capsys):
    """Call `python -m runs ...` in-process with only this command registered (so other
    commands' imports cannot mask its behaviour) and a private cache directory."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ["runs.psy_command"])
    monkeypatch.setenv("CIRCULAR_AI_CACHE", str(tmp_path / "cache"))

    def run(*argv):
        code = cli.main(["psy", *map(str, argv)])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def bubble_csv(tmp_path):
    y = planted_bubble(2, T=200, first=120, last=150)
    path = tmp_path / "prices.csv"
    dates = pd.date_range("2000-01-01", periods=200, freq="MS").strftime("%Y-%m")
    pd.DataFrame({"month": dates, "price": y, "note": "x"}).to_csv(path, index=False)
    return path


def test_cli_json_has_exactly_start_end_duration(run_cli, bubble_csv):
    code, out, err = run_cli(bubble_csv, "--column", "price", "--json", "--reps", 100)
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert rows and all(set(row) == {"start", "end", "duration"} for row in rows)
    assert all(isinstance(row["start"], int) and isinstance(row["end"], int) for row in rows)
    assert any(row["start"] <= 150 and row["end"] >= 120 for row in rows)

    code, out, _ = run_cli(bubble_csv, "--column", "price", "--date-column", "month", "--log", "--json", "--reps", 100)
    dated = json.loads(out)
    assert code == 0 and all(set(row) == {"start", "end", "duration"} for row in dated)
    assert any(row["start"] <= "2012-07" and row["end"] >= "2010-01" for row in dated)


def test_cli_reads_a_file_with_old_mac_line_endings(run_cli, bubble_csv, tmp_path):
    # Carriage returns alone end the lines: the header check must read them as pandas does.
    crlf = tmp_path / "cr.csv"
    crlf.write_bytes(bubble_csv.read_bytes().replace(b"\n", b"\r"))
    code, out, err = run_cli(crlf, "--column", "price", "--json", "--reps", 100)
    assert code == 0 and err == ""
    assert json.loads(out) == json.loads(run_cli(bubble_csv, "--column", "price", "--json", "--reps", 100)[1])


def test_cli_table_reports_gsadf_and_episodes(run_cli, bubble_csv):
    code, out, err = run_cli(
        bubble_csv, "--column", "price", "--date-column", "month", "--min-window", 30, "--reps", 100
    )
    assert code == 0 and err == ""
    assert "GSADF" in out and "95% critical value" in out and "smallest window 30" in out
    assert "origination" in out and "termination" in out and "2010-" in out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--column", "volume"], "'volume' not found in"),
        (["--column", "price", "--date-column", "day"], "'day' not found in"),
        (["--column", "note"], "non-numeric value 'x' on line 2"),
        (["--column", "price", "--lag", -1], "--lag"),
        (["--column", "price", "--min-window", 3], "needs at least 4"),
        (["--column", "price", "--min-window", 500], "longer than the series"),
        (["--column", "price", "--reps", 5], "--reps"),
    ],
)
def test_cli_bad_input_is_one_line_with_status_2(run_cli, bubble_csv, argv, expected):
    code, out, err = run_cli(bubble_csv, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
    if "not found" in expected:
        assert str(bubble_csv) in err


def test_cli_rejects_unreadable_short_and_nonpositive_series(run_cli, tmp_path):
    missing = tmp_path / "nope.csv"
    for target in (missing, tmp_path):
        code, _, err = run_cli(target, "--column", "price")
        assert code == 2 and err.count("\n") == 1 and str(target) in err

    short = tmp_path / "short.csv"
    short.write_text("price\n1\n2\n3\n2\n")
    code, _, err = run_cli(short, "--column", "price")
    assert code == 2 and err.count("\n") == 1 and "4 observations" in err

    negative = tmp_path / "negative.csv"
    negative.write_text("price\n" + "\n".join(str(v) for v in [3, 2, 1, 0, -1] * 10) + "\n")
    code, _, err = run_cli(negative, "--column", "price", "--log")
    assert code == 2 and err.count("\n") == 1 and "non-positive value 0 on line 5" in err

    gap = tmp_path / "gap.csv"
    gap.write_text("date,price\na,1\nb,\nc,2\n")
    code, _, err = run_cli(gap, "--column", "price")
    assert code == 2 and "missing value on line 3" in err


def test_cli_rejects_a_non_integer_lag_through_argparse(run_cli, bubble_csv, capsys):
    code, _, err = run_cli(bubble_csv, "--column", "price", "--lag", "two")  # cli.main returns argparse's status
    assert code == 2
    assert err.count("\n") == 1
