"""`python -m runs decompose`: Shapley values (pure), the channels' overrides, and the command end to end."""

from __future__ import annotations

import itertools
import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from economy.errors import InputError
from runs import decompose as dec
from runs.cli import main
from runs.executors import ExecutorOptions
from runs.simulate import scenario_config

N = len(dec.CHANNELS)


def game_table(v, channels=dec.CHANNELS, seeds=(0,)) -> pd.DataFrame:
    """A game as the table shapley() reads: v(flags, seed) for every coalition and seed."""
    rows = []
    for seed in seeds:
        for flags in itertools.product((False, True), repeat=len(channels)):
            rows.append({"seed": seed, **dict(zip(channels, flags, strict=True)), "value": v(flags, seed)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- Shapley (pure)


def test_additive_game_gives_each_channel_its_own_effect():
    effects = np.array([0.3, -0.1, 0.0, 2.0, 0.05, -1.5])
    table = game_table(lambda flags, _: 7.0 + float(np.dot(flags, effects)))
    phi = dec.shapley(table)
    assert list(phi["channel"]) == list(dec.CHANNELS)
    np.testing.assert_allclose(phi["value"], effects, atol=1e-12)


def test_interaction_is_split_equally():
    # Marks and round trip matter only together; passive alone adds 1.
    table = game_table(lambda f, _: 4.0 * (f[0] and f[1]) + 1.0 * f[3])
    phi = dec.shapley(table).set_index("channel")["value"]
    assert phi["marks"] == pytest.approx(2.0, abs=1e-12)
    assert phi["roundtrip"] == pytest.approx(2.0, abs=1e-12)
    assert phi["passive"] == pytest.approx(1.0, abs=1e-12)
    for channel in ("partner_money", "extrapolation", "earnings_investors"):
        assert phi[channel] == pytest.approx(0.0, abs=1e-12)


def test_values_add_up_to_all_on_minus_all_off_on_a_random_game():
    rng = np.random.default_rng(7)
    values = {}
    table = game_table(lambda f, s: values.setdefault((f, s), rng.normal(scale=3.0)), seeds=range(5))
    phi = dec.shapley(table)
    mean = table.groupby([*dec.CHANNELS])["value"].mean()
    total = mean[tuple([True] * N)] - mean[tuple([False] * N)]
    assert phi["value"].sum() == pytest.approx(total, abs=1e-9)
    # The matrix form is the textbook formula.
    v = rng.normal(size=1 << N)
    direct = np.zeros(N)
    for i in range(N):
        for mask in range(1 << N):
            if not mask & (1 << i):
                k = bin(mask).count("1")
                direct[i] += (
                    math.factorial(k) * math.factorial(N - k - 1) / math.factorial(N) * (v[mask | (1 << i)] - v[mask])
                )
    np.testing.assert_allclose(dec.shapley_matrix(N) @ v, direct, atol=1e-12)


def test_bootstrap_intervals_contain_the_point_estimate():
    rng = np.random.default_rng(3)
    effects = np.array([0.5, 0.1, -0.2, 0.0, 1.0, -0.7])
    noise = {s: rng.normal(scale=0.3, size=N) for s in range(20)}
    table = game_table(lambda f, s: float(np.dot(f, effects + noise[s])) + rng.normal(scale=0.05), seeds=range(20))
    result = dec.shapley_bootstrap(table, n_boot=500, rng=1)
    point = dec.shapley(table)
    np.testing.assert_allclose(result["value"], point["value"], atol=1e-12)
    assert (result["low"] <= result["value"]).all() and (result["value"] <= result["high"]).all()
    assert (result["high"] - result["low"] > 0).all()
    # The same seed gives the same intervals.
    pd.testing.assert_frame_equal(result, dec.shapley_bootstrap(table, n_boot=500, rng=1))


def test_decompose_tables_add_up_and_incomplete_games_are_refused():
    rng = np.random.default_rng(11)
    table = game_table(lambda f, s: rng.normal(), seeds=range(4)).rename(columns={"value": "y"})
    table["z"] = 2 * table["y"]
    values, totals = dec.decompose(table, outcomes=("y", "z"), n_boot=200, rng=0)
    assert list(values.columns) == ["channel", "outcome", "value", "low", "high"]
    for row in totals.itertuples():
        assert values.loc[values["outcome"] == row.outcome, "value"].sum() == pytest.approx(
            row.all_on - row.all_off, abs=1e-9
        )
    with pytest.raises(ValueError, match="coalitions"):
        dec.shapley(table.iloc[1:].rename(columns={"y": "value"}))


# --------------------------------------------------------------------------- channels and runs


def test_variant_names_are_stable_bit_strings():
    names = dec.variants()
    assert len(names) == 64 and next(iter(names)) == "c111111"
    assert names["c011111"] == (False, True, True, True, True, True)  # marks off
    assert dec.variant_name([False] * N) == "c000000"


def test_all_on_is_the_base_scenario_and_loop_off_is_no_loop():
    configs, changes = dec.variant_configs("baseline", years=3)
    assert changes["c111111"] == {}
    assert configs["c111111"] == scenario_config("baseline", {}, 3)
    no_loop = scenario_config("no_loop", {}, 3)
    loop_off = configs["c000111"]  # marks, round trip and partner money off
    assert {k for k in no_loop if no_loop[k] != loop_off[k]} == {"name", "description", "economy"}
    # ...the same economy as no_loop except that investment keeps its form: made plain cash, the
    # round trip would go untracked and netting it would remove nothing.
    assert {**loop_off["economy"], "spend_back": False} == no_loop["economy"]
    assert configs["c011111"]["economy"]["regime"] == "no_marks"
    assert configs["c101111"]["economy"]["regime"] == "net_roundtrip"
    assert changes["c101111"] == {"economy.regime": "net_roundtrip"}
    assert changes["c111011"] == {"market.passive_share": dec.LOW_PASSIVE_SHARE}
    assert changes["c111101"] == {"savers.extrapolation": 0.0}
    assert changes["c111110"] == {"market.earnings_share": 0.0}
    # Every field a channel sets exists in the scenario.
    for key in dec.CHANNEL_FIELDS:
        table, name = key.split(".")
        assert name in configs["c111111"][table]


def test_a_channel_the_base_already_has_off_changes_nothing():
    configs, changes = dec.variant_configs("strict", years=1)
    assert configs["c111111"]["economy"]["regime"] == "strict"
    assert configs["c011111"] == configs["c111111"] == configs["c101111"]
    assert dec.inactive_channels(changes) == ["marks", "roundtrip"]


def test_channel_fields_cannot_be_set():
    with pytest.raises(InputError, match="channels set"):
        dec.variant_configs("baseline", {"market.passive_share": 0.3})


def test_outcome_row_reads_the_first_episode_and_remaining_life_is_restricted():
    weekly = pd.DataFrame({"ai_premium": [1.0, 2.0, 3.0, 2.0], "basket_pf": [1.1, 1.9, 1.7, 1.2]})
    cols = ["remaining_weeks", "censored", "first"]
    burst = pd.DataFrame([[3.0, False, True], [4.0, True, False]], columns=cols)
    alive = pd.DataFrame([[4.0, True, True]], columns=cols)
    none = pd.DataFrame(columns=cols)
    rows = pd.concat([dec.outcome_row(weekly, e) for e in (burst, alive, none)], ignore_index=True)
    assert list(rows.columns) == dec.OUTCOME_COLUMNS
    assert rows["ai_premium"].tolist() == [2.0, 2.0, 2.0] and rows["peak_pf"].tolist() == [1.9] * 3
    assert rows["peak_premium"].tolist() == [3.0] * 3 and rows["horizon_weeks"].tolist() == [4] * 3
    assert rows["has_episode"].tolist() == [True, True, False]
    np.testing.assert_allclose(dec.remaining_life(rows), np.array([3.0, 4.0, 0.0]) / 52)


def toy_outcomes(task) -> dict[str, pd.DataFrame]:
    """A stand-in for run_outcomes: a known additive game, and a failure for replicate 1 of one variant."""
    if task.scenario == "c010101" and task.replicate == 1:
        raise RuntimeError("toy failure")
    on = dict(zip(dec.CHANNELS, dec.variants()[task.scenario], strict=True))
    rng = np.random.default_rng(task.seed)
    premium = 1.0 + 0.3 * on["marks"] + 0.1 * on["earnings_investors"] + rng.normal(scale=0.01)
    weekly = pd.DataFrame({"ai_premium": np.full(52, premium), "basket_pf": np.full(52, premium + 0.5)})
    episodes = pd.DataFrame({"remaining_weeks": [40.0 if on["marks"] else 10.0], "censored": [False], "first": [True]})
    return {"outcomes": dec.outcome_row(weekly, episodes), "episodes": episodes}


def test_a_failed_run_drops_its_seed_from_every_variant(tmp_path, capsys):
    out = tmp_path / "toy"
    outcome, lines = dec.run_decompose(
        n_seeds=3, years=1, n_boot=50, out_dir=out, run_fn=toy_outcomes, options=ExecutorOptions("serial")
    )
    code = outcome.report(lines)
    captured = capsys.readouterr()
    assert code == 1
    assert "1 seed(s) (replicate(s) 1) dropped from all variants" in captured.err
    values = pd.read_parquet(out / "shapley.parquet").set_index(["outcome", "channel"])["value"]
    assert values["remaining_life"]["marks"] == pytest.approx(30 / 52, abs=1e-12)
    assert values["ai_premium"]["marks"] == pytest.approx(0.3, abs=0.02)
    assert values["ai_premium"]["passive"] == pytest.approx(0.0, abs=0.02)
    assert "2 seeds" in captured.out


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for argv in (
        ["--seeds", "0"],
        ["--set", "economy.regime=strict"],
        ["--bootstrap", "0"],
        ["--scenario", "no_such_scenario"],
    ):
        assert main(["decompose", *argv, "--out", str(tmp_path / "bad")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1
    assert not (tmp_path / "bad").exists()


# --------------------------------------------------------------------------- the must-show


@pytest.fixture(scope="module")
def three_seeds(tmp_path_factory):
    out = tmp_path_factory.mktemp("decompose") / "out"
    started = time.monotonic()
    code = main(
        ["decompose", "--seeds", "3", "--years", "3", "--executor", "process", "--workers", "2", "--out", str(out)]
    )
    seconds = time.monotonic() - started
    print(f"\ndecompose --seeds 3 --years 3: {seconds:.1f} s")
    return out, code, seconds


def test_decompose_writes_tables_and_figure_that_add_up(three_seeds):
    out, code, _ = three_seeds
    assert code == 0
    assert (out / "decompose.png").stat().st_size > 10_000
    values = pd.read_parquet(out / "shapley.parquet")
    totals = pd.read_parquet(out / "totals.parquet")
    assert list(values.columns) == ["channel", "outcome", "value", "low", "high"]
    assert {"outcome", "all_on", "all_off"} <= set(totals.columns)
    wanted = {"ai_premium", "peak_pf", "remaining_life"}
    assert wanted <= set(totals["outcome"]) and wanted <= set(values["outcome"])
    for name in totals["outcome"]:
        part = values[values["outcome"] == name]
        assert list(part["channel"]) == list(dec.CHANNELS)
        total = totals.set_index("outcome").loc[name]
        assert part["value"].sum() == pytest.approx(total["all_on"] - total["all_off"], abs=1e-6)
        assert np.isfinite(part[["value", "low", "high"]].to_numpy()).all()
        assert ((part["low"] <= part["value"] + 1e-12) & (part["value"] <= part["high"] + 1e-12)).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["extra"]["variants"]["c111111"] == list(dec.CHANNELS)
    assert manifest["extra"]["variants"]["c000000"] == []
    assert len(manifest["scenarios"]) == 64 and manifest["parameters"]["n_seeds"] == 3


def test_rerunning_resumes_without_running_again(three_seeds, capsys):
    out, _, _ = three_seeds
    before = pd.read_parquet(out / "shapley.parquet")
    assert main(["decompose", "--seeds", "3", "--years", "3", "--executor", "serial", "--out", str(out)]) == 0
    assert "0 ran, 192 skipped" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "shapley.parquet"), before)
