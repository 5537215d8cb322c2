"""`python -m runs sensitivity` and `python -m runs discover`: parameter files, known answers on a
stand-in model (Morris ranking, Sobol shares of an additive model, PRIM boxes around a known
region), failed points, bad input, and both commands end to end on the real model."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from economy.errors import InputError
from runs import discover as disc
from runs import sensitivity as sens
from runs.cli import main
from runs.executors import ExecutorOptions

SERIAL = ExecutorOptions("serial")
RATE, PASSIVE = (0.0, 0.08), (0.2, 0.8)

TWO = """
[[parameter]]
name = "interest_rate"
field = "economy.interest_rate"
low = 0.0
high = 0.08

[[parameter]]
name = "passive_share"
field = "market.passive_share"
low = 0.2
high = 0.8
"""


def toy_bubble(task) -> dict[str, pd.DataFrame]:
    """A stand-in for run_outcomes with known answers: every run has one bubble whose remaining
    life is 1 + 4 u_rate + 2 u_passive years (u: the parameter's place in its range, RATE and
    PASSIVE), censored at the horizon; peak_pf is 1 + the passive share; the AI premium is the
    same everywhere. A rate of exactly 0.0123 fails (a failed run)."""
    cfg = task.config
    rate, passive = cfg["economy"]["interest_rate"], cfg["market"]["passive_share"]
    if abs(rate - 0.0123) < 1e-12:
        raise RuntimeError("toy failure")
    u_rate = (rate - RATE[0]) / (RATE[1] - RATE[0])
    u_passive = (passive - PASSIVE[0]) / (PASSIVE[1] - PASSIVE[0])
    weeks = 52.0 * (1.0 + 4.0 * u_rate + 2.0 * u_passive)
    horizon = 52.0 * task.years
    episodes = pd.DataFrame(
        {
            "remaining_weeks": [min(weeks, horizon)],
            "lifetime_weeks": [min(weeks, horizon) / 2],  # as if every bubble formed halfway
            "censored": [weeks >= horizon],
            "first": [True],
        }
    )
    outcomes = pd.DataFrame(
        {
            "ai_premium": [1.0],
            "peak_premium": [1.0],
            "peak_pf": [1.0 + passive],
            "remaining_weeks": [min(weeks, horizon)],
            "first_censored": [weeks >= horizon],
            "has_episode": [True],
            "horizon_weeks": [np.int64(horizon)],
        }
    )
    return {"outcomes": outcomes, "episodes": episodes}


@pytest.fixture
def two(tmp_path):
    path = tmp_path / "two.toml"
    path.write_text(TWO)
    return path


# --------------------------------------------------------------------------- parameter files


def test_default_parameters_are_valid_and_inside_the_declared_ranges():
    params = sens.load_parameters(sens.DEFAULT_PARAMETERS)
    names = [p.name for p in params]
    for wanted in ("passive_share", "interest_rate", "regime", "lab_revenue_growth", "extrapolation"):
        assert wanted in names
    # Both ends of every parameter (and every value of a choice) make a valid scenario.
    sample = np.array([[p.bounds[0] for p in params], [p.bounds[1] for p in params]])
    configs = sens.point_scenarios("baseline", None, 1, params, sens.point_values(params, sample), "test")
    assert len(configs) == 2
    growth = [lab["revenue_growth"] for lab in configs["p000001"]["labs"]]
    assert growth == [3.0, 3.0]  # one parameter sets both labs


def test_a_choice_parameter_visits_its_values_evenly_on_morris_levels():
    p = sens.Parameter("regime", ("economy.regime",), values=("a", "b", "c", "d"))
    assert [p.value(u) for u in (0, 1 / 3, 2 / 3, 1)] == ["a", "b", "c", "d"]
    two = sens.Parameter("flag", ("economy.spend_back",), values=(True, False))
    assert [two.value(u) for u in (0, 1 / 3, 2 / 3, 1)] == [True, True, False, False]
    whole = sens.Parameter("weeks", ("market.trend_weeks",), low=4, high=26, integer=True)
    assert whole.value(10.6) == 11 and isinstance(whole.value(10.6), int)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not toml [", "not valid TOML"),
        ("x = 1\n[[parameter]]\nname='a'\nfield='economy.interest_rate'\nlow=0\nhigh=0.1", "unknown key 'x'"),
        ("", "needs at least one [[parameter]]"),
        ("[[parameter]]\nname='a b'\nfield='economy.interest_rate'\nlow=0\nhigh=0.1", "'name' must be a word"),
        ("[[parameter]]\nname='a'\nlow=0\nhigh=0.1", "give either 'field' or 'fields'"),
        ("[[parameter]]\nname='a'\nfield='economy.interest_rate'\nlow=0.1\nhigh=0.1", "'low' must be below"),
        ("[[parameter]]\nname='a'\nfield='economy.interest_rate'\nlow=0\nhigh=inf", "'high' must be a finite"),
        ("[[parameter]]\nname='a'\nfield='economy.interest_rate'\nlow=0\nhigh=true", "'high' must be a finite"),
        ("[[parameter]]\nname='a'\nfield='economy.regime'\nvalues=['strict']", "at least two values"),
        ("[[parameter]]\nname='a'\nfield='economy.regime'\nvalues=['strict','strict']", "a value twice"),
        ("[[parameter]]\nname='a'\nfield='run.years'\nlow=1\nhigh=2", "run.years is one per experiment"),
        ("[[parameter]]\nname='a'\nfield='x'\nlow=0\nhigh=1\nbogus=1", "unknown key 'bogus'"),
        (TWO + TWO, "parameter 'interest_rate' given twice"),
        (
            TWO + "[[parameter]]\nname='again'\nfield='economy.interest_rate'\nlow=0\nhigh=0.1",
            "set by two parameters",
        ),
    ],
)
def test_bad_parameter_files_name_the_file_and_entry(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        sens.load_parameters(path)
    assert message in str(caught.value) and str(path) in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "argv",
    [
        ["--trajectories", "1"],
        ["--method", "sobol", "--samples", "12"],
        ["--method", "sobol", "--samples", "0"],
        ["--method", "fast"],
        ["--parameters", "/no/such/file.toml"],
        ["--parameters", "."],
        ["--seeds", "0"],
        ["--years", "0"],
        ["--set", "market.passive_share=0.5"],  # a parameter of the default file
        ["--set", "economy.interest_rate=nan"],
        ["--scenario", "no_such_scenario"],
        ["--set", "economy.bogus=1"],
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, argv):
    out = tmp_path / "bad"
    assert main(["sensitivity", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert not out.exists()


def test_bounds_outside_a_fields_declared_range_are_refused_before_anything_runs(tmp_path, capsys):
    path = tmp_path / "wide.toml"
    path.write_text(TWO.replace("high = 0.8", "high = 1.5"))
    out = tmp_path / "out"
    assert main(["sensitivity", "--parameters", str(path), "--trajectories", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "market.passive_share" in err and "sample point" in err and err.count("\n") == 1
    assert not out.exists()


# --------------------------------------------------------------------------- known answers


def test_morris_ranks_the_parameters_of_a_known_model(tmp_path, two):
    out = tmp_path / "morris"
    outcome, lines = sens.run_sensitivity(
        "morris", two, trajectories=6, n_seeds=1, years=10, out_dir=out, run_fn=toy_bubble, options=SERIAL
    )
    assert outcome.report(lines) == 0
    found = pd.read_parquet(out / "indices.parquet")
    assert list(found.columns) == sens.INDEX_COLUMNS
    assert set(found["index"]) == {"mu", "mu_star", "sigma"}
    assert len(found) == 2 * len(sens.OUTCOMES) * 3
    mu = found.set_index(["outcome", "index", "parameter"])["value"]
    # Linear: every elementary effect is the slope over the whole range, so mu* = |slope|, sigma = 0.
    assert mu["remaining_life", "mu_star", "interest_rate"] == pytest.approx(4.0)
    assert mu["remaining_life", "mu_star", "passive_share"] == pytest.approx(2.0)
    assert mu["remaining_life", "sigma", "interest_rate"] == pytest.approx(0.0, abs=1e-9)
    assert mu["peak_pf", "mu_star", "interest_rate"] == pytest.approx(0.0, abs=1e-12)
    # Ratios are analysed in logs: each effect is a step of 2/3 of the range, from 0.2 or from 0.4.
    low, high = math.log(1.8 / 1.4) * 1.5, math.log(1.6 / 1.2) * 1.5
    assert low - 1e-9 <= mu["peak_pf", "mu_star", "passive_share"] <= high + 1e-9
    assert mu["ai_premium", "mu_star", "passive_share"] == 0.0
    samples = pd.read_parquet(out / "samples.parquet")
    assert len(samples) == 6 * 3 and (samples["runs"] == 1).all()
    assert (out / "sensitivity.png").stat().st_size > 10_000
    assert any("interest_rate" in line and "mu_star 4" in line for line in lines)


def test_seed_noise_is_the_share_of_variance_within_points():
    # Two points, three seeds each: within-point variance 1 (values m-1, m, m+1), point means 0 and 4.
    runs = pd.DataFrame(
        {
            "scenario": ["a"] * 3 + ["b"] * 3,
            "replicate": [0, 1, 2] * 2,
            "ai_premium": np.exp([-1.0, 0.0, 1.0, 3.0, 4.0, 5.0]),  # analysed in logs
            "peak_pf": np.exp([0.0] * 6),
            "remaining_weeks": [52.0] * 6,
            "first_censored": [False] * 6,
            "has_episode": [True] * 6,
            "horizon_weeks": [520] * 6,
        }
    )
    noise = sens.seed_noise(runs, ["a", "b"], 3).set_index("outcome")
    assert list(noise.reset_index().columns) == sens.NOISE_COLUMNS
    total = np.var([-1.0, 0.0, 1.0, 3.0, 4.0, 5.0], ddof=1)
    assert noise.loc["ai_premium", "within_point_variance"] == pytest.approx(1.0)
    assert noise.loc["ai_premium", "noise_share_runs"] == pytest.approx(1.0 / total)
    assert noise.loc["ai_premium", "noise_share_means"] == pytest.approx((1.0 / 3) / np.var([0.0, 4.0], ddof=1))
    assert math.isnan(noise.loc["peak_pf", "noise_share_runs"])  # no variance at all
    assert math.isnan(sens.seed_noise(runs[runs["replicate"] == 0], ["a", "b"], 1).loc[2, "noise_share_runs"])


def test_sobol_apportions_the_variance_of_an_additive_model(tmp_path, two):
    out = tmp_path / "sobol"
    outcome, lines = sens.run_sensitivity(
        "sobol", two, samples=64, n_seeds=1, years=10, out_dir=out, run_fn=toy_bubble, options=SERIAL
    )
    assert outcome.report(lines) == 0
    found = pd.read_parquet(out / "indices.parquet").set_index(["outcome", "index", "parameter"])
    # y = 1 + 4 u1 + 2 u2, u uniform: S1 = ST = 16/20 and 4/20.
    for index in ("S1", "ST"):
        assert found.loc[("remaining_life", index, "interest_rate"), "value"] == pytest.approx(0.8, abs=0.1)
        assert found.loc[("remaining_life", index, "passive_share"), "value"] == pytest.approx(0.2, abs=0.1)
    assert found.loc[("remaining_life", "ST", "interest_rate"), "conf"] > 0
    # The premium is the same everywhere: no variance to apportion.
    assert (
        found.loc[("ai_premium", "S1", "interest_rate"), "value"]
        != found.loc[("ai_premium", "S1", "interest_rate"), "value"]
    )
    assert len(pd.read_parquet(out / "samples.parquet")) == 64 * 4
    assert (out / "noise.parquet").exists()  # NaN shares with one seed


def test_a_failed_point_drops_its_trajectory_with_a_warning_and_exit_1(tmp_path, two, capsys):
    path = tmp_path / "fail.toml"
    # A choice of rates one of which (0.0123) the toy fails on.
    path.write_text(
        "[[parameter]]\nname='interest_rate'\nfield='economy.interest_rate'\nvalues=[0.0, 0.0123, 0.04, 0.08]\n"
        "[[parameter]]\nname='passive_share'\nfield='market.passive_share'\nlow=0.2\nhigh=0.8\n"
    )
    out = tmp_path / "fail"
    outcome, lines = sens.run_sensitivity(
        "morris", path, trajectories=8, n_seeds=1, years=10, out_dir=out, run_fn=toy_bubble, options=SERIAL
    )
    assert outcome.report(lines) == 1
    err = capsys.readouterr().err
    assert "trajectories dropped" in err
    samples = pd.read_parquet(out / "samples.parquet")
    failed = np.isclose(samples["interest_rate"], 0.0123)
    assert failed.any() and samples.loc[failed, "remaining_life"].isna().all()
    assert (out / "indices.parquet").exists()


def test_rerun_resumes_the_same_points_and_another_method_is_refused(tmp_path, two, capsys):
    out = tmp_path / "again"
    kwargs = dict(n_seeds=1, years=10, out_dir=out, run_fn=toy_bubble, options=SERIAL)
    first, _ = sens.run_sensitivity("morris", two, trajectories=3, **kwargs)
    again, _ = sens.run_sensitivity("morris", two, trajectories=3, **kwargs)
    assert again.summary.ran == 0 and again.summary.skipped == first.summary.total
    with pytest.raises(InputError, match="differ"):
        sens.run_sensitivity("morris", two, trajectories=3, root_seed=1, **kwargs)


# --------------------------------------------------------------------------- discover


def test_discover_finds_the_region_of_short_and_long_bubbles(tmp_path, capsys):
    # Remaining life 1 + 4 u_rate + 2 u_passive years: under 2 years only where both are low;
    # over 5 years only at high rates. Savers' extrapolation does nothing in the toy: a peel on it
    # is chance, and its quasi-p-value must drop it.
    path = tmp_path / "three.toml"
    path.write_text(TWO + "[[parameter]]\nname='extrapolation'\nfield='savers.extrapolation'\nlow=0\nhigh=0.5\n")
    out = tmp_path / "sobol"
    sens.run_sensitivity("sobol", path, samples=64, n_seeds=1, years=10, out_dir=out, run_fn=toy_bubble, options=SERIAL)
    capsys.readouterr()
    assert main(["discover", str(out), "--short", "2", "--long", "5"]) == 0
    printed = capsys.readouterr().out
    # Of the 64 blocks of 5 points, only the independent first and last of each are cases.
    assert "discover uses its 128 independent base points" in printed
    assert "short (first episode bursts within 2 years of the scenario start)" in printed
    assert "long (first episode lives more than 5 years" in printed
    boxes = pd.read_parquet(out / "boxes.parquet")
    assert list(boxes.columns) == disc.BOX_COLUMNS
    assert "extrapolation" not in set(boxes["parameter"])
    assert (boxes["qp"] <= 0.05).all()
    short = boxes[boxes["kind"] == "short"].set_index("parameter")
    long = boxes[boxes["kind"] == "long"].set_index("parameter")
    assert short["high"]["interest_rate"] <= 0.03  # 4 u < 1: rate under a quarter of its range
    assert long["low"]["interest_rate"] >= 0.02
    for table in (short, long):
        assert 0.5 <= table["coverage"].iloc[0] <= 1 and 0.5 <= table["density"].iloc[0] <= 1
    assert (out / "discover.png").stat().st_size > 10_000
    # Counted from each episode's own start (half the remaining life here), no bubble lives 5 years.
    outcome, lines = disc.run_discover(out, short=2, long=5, measure="lifetime")
    assert any("long (first episode lives more than 5 years from its own start): 0 of 128 runs" in ln for ln in lines)
    assert set(pd.read_parquet(out / "boxes.parquet")["kind"]) == {"short"}


def test_discover_on_a_sweep_and_a_horizon_too_short_for_long_bubbles(tmp_path, capsys):
    from runs.sweep import run_sweep

    out = tmp_path / "sweep"
    grid = {"interest_rate": [0.0, 0.02, 0.04, 0.06, 0.08], "market.passive_share": [0.2, 0.5, 0.8]}
    run_sweep(grid, n_seeds=2, years=4, out_dir=out, run_fn=toy_bubble, options=SERIAL)
    capsys.readouterr()
    outcome, lines = disc.run_discover(out, short=2.5, long=5)
    text = "\n".join(lines)
    assert "needs a horizon over 5 years; this one ran 4: skipped" in text
    assert "30 runs of 15 scenarios, 2 parameters" in text
    boxes = pd.read_parquet(out / "boxes.parquet")
    assert set(boxes["kind"]) == {"short"}
    assert set(boxes["parameter"]) <= {"economy.interest_rate", "market.passive_share"}


@pytest.mark.parametrize(
    "argv, message",
    [
        (["discover", "{tmp}/none"], "not found"),
        (["discover", "{tmp}"], "holds no experiment"),
        (["discover", "{exp}", "--short", "6", "--long", "5"], "must not be above --long"),
        (["discover", "{exp}", "--boxes", "0"], "--boxes"),
        (["discover", "{exp}", "--min-coverage", "1.5"], "--min-coverage"),
        (["discover", "{exp}", "--short", "nan"], "--short"),
    ],
)
def test_discover_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    exp = tmp_path / "exp"
    exp.mkdir()
    (exp / "manifest.json").write_text(json.dumps({"scenarios": {}}))
    argv = [a.format(tmp=tmp_path, exp=exp) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert not (exp / "boxes.parquet").exists()


# --------------------------------------------------------------------------- the real model


def test_both_commands_run_end_to_end_on_the_model(tmp_path, capsys):
    path = tmp_path / "real.toml"
    path.write_text(TWO)
    out = tmp_path / "real"
    argv = ["--parameters", str(path), "--trajectories", "2", "--seeds", "1", "--years", "0.5", "--workers", "2"]
    code = main(["sensitivity", "--method", "morris", *argv, "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    found = pd.read_parquet(out / "indices.parquet")
    stars = found[found["index"] == "mu_star"]
    assert len(stars) == 2 * len(sens.OUTCOMES) and np.isfinite(stars["value"]).all()
    assert stars[stars["outcome"] == "peak_pf"]["value"].max() > 0  # the parameters move the market
    assert main(["discover", str(out), "--short", "0.25"]) == 0
    assert "short (first episode bursts within 0.25 years of the scenario start" in capsys.readouterr().out
    assert math.isfinite(pd.read_parquet(out / "samples.parquet")["peak_pf"].iloc[0])
