"""The experiment commands (baseline, compare, sweep), their shared options, figures and scripts.

The model's market columns are the data contract these commands read (weekly basket
prices, bubble episodes, giants' profit split and backlog shares). `ToyMarket` produces
exactly those tables from a resolved scenario in milliseconds, so the commands are tested
end to end without waiting on the model; it reads the scenario's interest rate, regime and
labs' growth so sweeps and comparisons have something to find.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from economy.errors import InputError
from runs import commands
from runs.cli import main
from runs.executors import ExecutorOptions
from runs.loader import load_experiment

WEEKS = 52


@dataclass(frozen=True)
class ToyMarket:
    """A stand-in for runs.simulate.run_task with the model's market tables and columns."""

    mean_weeks: float = 150.0

    def __call__(self, task) -> dict[str, pd.DataFrame]:
        cfg = task.config
        rng = np.random.default_rng(task.seed)
        T = int(round(task.years * WEEKS))
        start = dt.date.fromisoformat(cfg["run"]["start"])
        boom = dt.date.fromisoformat(cfg["run"]["boom_started"])
        giants = [g["name"] for g in cfg["giants"]]
        labs = [lab["name"] for lab in cfg["labs"]]
        rate = float(cfg["economy"]["interest_rate"])
        growth = float(np.mean([lab["revenue_growth"] for lab in cfg["labs"]]))
        loop = 1.0 if cfg["economy"]["regime"] == "gaap_2026" else 0.5
        mean = self.mean_weeks * loop * math.exp(-20 * (rate - 0.04)) * (0.5 + growth)

        # Episodes in weeks since the scenario start: one under way at step 0, maybe one more.
        spans = []
        first_start = -((start - boom).days // 7)
        end = rng.exponential(mean)
        spans.append((first_start, end))
        gap = end + rng.integers(20, 60)
        if gap < T - 20:
            spans.append((int(gap), gap + rng.exponential(mean / 2)))

        week = np.arange(T)
        log_pf = np.full(T, np.log(0.95))
        rows = []
        for s, e in spans:
            burst = int(math.ceil(e)) if e < T else None
            stop = burst if burst is not None else T
            inside = (week >= max(s, 0)) & (week < stop)
            log_pf[inside] = np.log(1.6) + 0.006 * (week[inside] - max(s, 0))
            if burst is not None:
                after = (week >= burst) & (week < burst + 6)
                log_pf[after] = np.linspace(log_pf[burst - 1] if burst > 0 else np.log(1.6), np.log(0.9), after.sum())
            peak = max(s, 0) + int(np.argmax(log_pf[max(s, 0) : stop])) if stop > max(s, 0) else max(s, 0)
            rows.append(
                {
                    "start": boom if s < 0 else start + dt.timedelta(weeks=s),
                    "peak": start + dt.timedelta(weeks=peak),
                    "burst": None if burst is None else start + dt.timedelta(weeks=burst),
                    "start_week": s,
                    "peak_week": peak,
                    "burst_week": np.nan if burst is None else float(burst),
                    "lifetime_weeks": float(stop - s),
                    "remaining_weeks": float(stop),
                    "censored": burst is None,
                    "cause": None if burst is None else "drawdown",
                    "peak_pf": float(np.exp(log_pf[peak])),
                }
            )
        log_pf += rng.normal(0, 0.01, T)
        dates = [start + dt.timedelta(weeks=int(w)) for w in week]
        fundamental = 4000 * 1.0015**week
        weekly = {
            "date": dates,
            "week": week,
            "basket_price": fundamental * np.exp(log_pf),
            "basket_fundamental": fundamental,
            "basket_pf": np.exp(log_pf),
        }
        for i, g in enumerate(giants):
            weight = (i + 1) / sum(range(1, len(giants) + 1))
            weekly[f"price_{g}"] = weekly["basket_price"] * weight
            weekly[f"fundamental_{g}"] = fundamental * weight
        episodes = pd.DataFrame(
            rows,
            columns=[
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
            ],
        )

        quarters = []
        for q in range(T // 13):
            in_bubble = log_pf[q * 13] > np.log(1.2)
            for g in giants:
                real, trip, marks = 20 + rng.normal(0, 2), 6.0 if in_bubble else 1.0, 9.0 if in_bubble else -3.0
                row = {
                    "date": start + dt.timedelta(weeks=13 * (q + 1)),
                    "quarter": q,
                    "giant": g,
                    "net_income": real + trip + marks,
                    "free_cash_flow": 18 - 2.5 * q,
                    "profit_real": real,
                    "profit_roundtrip": trip,
                    "profit_marks": marks,
                    "backlog": 500.0,
                }
                row.update({f"backlog_share_{lab}": (0.3 if in_bubble else 0.15) / len(labs) for lab in labs})
                quarters.append(row)
        return {"weekly": pd.DataFrame(weekly), "episodes": episodes, "giant_quarters": pd.DataFrame(quarters)}


toy_market = ToyMarket()


@pytest.fixture(autouse=True)
def psy_cache(tmp_path, monkeypatch):
    """PSY critical values are cached on disk; keep the tests' cache out of the user's."""
    monkeypatch.setenv("CIRCULAR_AI_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def strict_toml(tmp_path) -> Path:
    path = tmp_path / "scenarios" / "strict.toml"
    path.parent.mkdir()
    path.write_text('inherits = "baseline"\n[economy]\nregime = "strict"\n')
    return path


def cli(argv, capsys) -> tuple[int, str, str]:
    """Run `python -m runs ...` in this process: (exit status, stdout, stderr)."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse rejects usage errors by exiting
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5_000


SMALL = dict(years=3, run_fn=toy_market, options=ExecutorOptions("serial"), progress="off")


# --------------------------------------------------------------------------- options


def test_set_values_are_read_as_toml_and_keys_as_scenario_fields():
    assert commands.parse_assignment("economy.interest_rate=0.05") == ("economy.interest_rate", 0.05)
    assert commands.parse_assignment("interest_rate=5e-2") == ("economy.interest_rate", 0.05)
    assert commands.parse_assignment("spend_back=false") == ("economy.spend_back", False)
    assert commands.parse_assignment("regime=strict") == ("economy.regime", "strict")
    assert commands.parse_assignment('regime = "no_marks"') == ("economy.regime", "no_marks")
    assert commands.parse_assignment("rounds.retry_weeks=6") == ("rounds.retry_weeks", 6)
    assert commands.parse_assignment("run.start=2027-01-01") == ("run.start", dt.date(2027, 1, 1))
    assert commands.parse_assignment("labs.OpenAI.revenue_growth=1.2") == ("labs.OpenAI.revenue_growth", 1.2)
    assert commands.parse_overrides(["interest_rate=0.06", "regime=strict"]) == {
        "economy.interest_rate": 0.06,
        "economy.regime": "strict",
    }
    for bad in ["interest_rate", "=0.05", "interest_rate=", "interest rate=1", "economy..x=1"]:
        with pytest.raises(InputError):
            commands.parse_assignment(bad)
    with pytest.raises(InputError, match="given twice"):
        commands.parse_overrides(["interest_rate=0.05", "economy.interest_rate=0.06"])
    # A --set value reaches the config a task carries, and the label says so.
    resolved = commands.resolve("baseline", commands.parse_overrides(["interest_rate=0.07", "regime=strict"]), 2)
    assert resolved.config["economy"]["interest_rate"] == 0.07 and resolved.config["economy"]["regime"] == "strict"
    assert resolved.config["run"]["years"] == 2
    assert resolved.label == "baseline_interest_rate-0.07_regime-strict"


def test_labels_are_names_or_file_stems_with_readable_suffixes(strict_toml, monkeypatch):
    assert commands.scenario_label("baseline") == "baseline"
    assert commands.scenario_label(str(strict_toml)) == "strict"
    assert (
        commands.scenario_label("baseline", {"labs.OpenAI.revenue_growth": 0.5}) == "baseline_OpenAI.revenue_growth-0.5"
    )
    assert commands.scenario_label("baseline", {"economy.spend_back": False}) == "baseline_spend_back-false"
    # A field two tables share keeps its table, so labels and sweep columns stay distinct (no
    # field is shared today: the schema lookup is made to say one is).
    shared = commands._tables_with_field
    monkeypatch.setattr(
        commands, "_tables_with_field", lambda name: ["market", "savers"] if name == "equity_share" else shared(name)
    )
    assert commands.scenario_label("baseline", {"market.equity_share": 0.8, "savers.equity_share": 0.5}) == (
        "baseline_market.equity_share-0.8_savers.equity_share-0.5"
    )
    long = commands.scenario_label("baseline", {f"rounds.f{i}": i for i in range(40)})
    assert len(long) <= 100 and long != commands.scenario_label("baseline", {f"rounds.f{i}": i for i in range(41)})


# --------------------------------------------------------------------------- bad input


BAD_INPUT = [
    (["baseline", "--scenario", "nosuch"], "nosuch"),
    (["baseline", "--set", "interest_rate"], "KEY=VALUE"),
    (["baseline", "--set", "economy.nosuch=1"], "nosuch"),
    (["baseline", "--set", "interest_rate=lots"], "interest_rate"),
    (["baseline", "--seeds", "0"], "--seeds"),
    (["baseline", "--executor", "cloud"], "executor"),
    (["baseline", "--dask-local", "2"], "--executor dask"),
    (["compare", "baseline", "nosuch"], "nosuch"),
    (["compare", "baseline", "baseline"], "twice"),
    (["compare", "baseline", "--set", "bad syntax"], "KEY=VALUE"),
    (["compare", "baseline", "--psy-reps", "5"], "--psy-reps"),
    (["sweep", "nosuch_param=1,2"], "unknown parameter 'nosuch_param'"),
    (["sweep", "economy.nosuch=1,2"], "nosuch"),
    (["sweep", "labs.NoLab.revenue_growth=1,2"], "NoLab"),
    (["sweep", "interest_rate"], "PARAM=V1,V2"),
    (["sweep", "interest_rate=0.02,abc"], "interest_rate"),
    (["sweep", "interest_rate=0.02,0.02"], "twice"),
    (["sweep", "interest_rate=0.02", "regime=strict", "sentiment=0.1"], "one or two"),
    (["sweep", "interest_rate=0.02,0.04", "--set", "interest_rate=0.03"], "--set"),
    (["sweep", "--scenario", "nosuch", "interest_rate=0.02"], "nosuch"),
]


@pytest.mark.parametrize("argv,named", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_nothing_written(argv, named, tmp_path, capsys):
    out = tmp_path / "out"
    extra = ["--out", out]
    if not {"--executor", "--dask-local"} & set(argv):
        extra += ["--executor", "serial"]  # were the input good, nothing would start a pool
    code, stdout, stderr = cli([*argv, *extra], capsys)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and named in lines[0], stderr
    assert not out.exists()


def test_bad_input_through_a_real_process(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "runs", "sweep", "economy.no_such_rate=0.1,0.2", "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "no_such_rate" in result.stderr
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- compare


def test_compare_writes_lifetimes_summary_psy_and_figures(tmp_path, strict_toml):
    from runs.compare import PSY_COLUMNS, run_compare

    out = tmp_path / "cmp"
    outcome, lines = run_compare(["baseline", str(strict_toml)], n_seeds=8, out_dir=out, psy_reps=60, **SMALL)
    assert outcome.ok and outcome.summary.ran == 16

    life = pd.read_parquet(out / "lifetimes.parquet")
    assert list(life.columns) == commands.LIFETIME_COLUMNS
    episodes = load_experiment(out, tables=["episodes"])["episodes"]
    assert len(life) == len(episodes) and set(life["scenario"]) == {"baseline", "strict"}
    assert life["burst"].isna().equals(life["censored"])  # a censored bubble has no burst date
    assert (life.loc[~life["censored"], "cause"] == "drawdown").all()
    # Replicate i has the same seed in both scenarios: pairs line up.
    seeds = life.groupby(["replicate", "scenario"])["seed"].first().unstack()
    assert (seeds["baseline"] == seeds["strict"]).all()

    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["scenario"]) == ["baseline", "strict"]
    # The survival analysis takes each run's first episode; lifetimes.parquet keeps every one.
    assert summary["n_episodes"].sum() == life["first"].sum() == life.groupby(["scenario", "replicate"]).ngroups
    assert (summary["episodes"] == "first").all() and summary["rmst_weeks"].notna().all()
    assert 0 <= summary["logrank_p"].iloc[0] <= 1
    assert {"psy_n_episodes", "psy_median_weeks"} <= set(summary.columns)

    psy_found = pd.read_parquet(out / "psy_episodes.parquet")
    assert list(psy_found.columns) == PSY_COLUMNS
    assert len(psy_found) > 0 and (psy_found["duration"] >= math.log(3 * WEEKS)).all()
    assert (psy_found["start"] >= pd.Timestamp("2026-01-01")).all() and (psy_found["end"] >= psy_found["start"]).all()
    assert summary["psy_n_episodes"].sum() == len(psy_found)

    assert png(out / "survival.png") and png(out / "survival_model_vs_psy.png")
    assert any("log-rank" in line for line in lines)
    assert sorted(p.name for p in outcome.paths) == sorted(
        ["lifetimes.parquet", "summary.parquet", "psy_episodes.parquet", "survival.png", "survival_model_vs_psy.png"]
    )


def test_remaining_life_measure_and_runs_without_episodes():
    episodes = pd.DataFrame(
        {
            "scenario": ["a", "a"],
            "replicate": [0, 1],
            "seed": [5, 6],
            "start": [dt.date(2022, 11, 30), dt.date(2027, 1, 1)],
            "burst": [dt.date(2027, 1, 7), None],
            "lifetime_weeks": [214.0, 156.0],
            "remaining_weeks": [53.0, 208.0],
            "censored": [False, True],
            "cause": ["drawdown", None],
        }
    )
    life = commands.lifetimes(episodes, "lifetime")
    assert list(life["lifetime_weeks"]) == [214.0, 156.0] and list(life["censored"]) == [False, True]
    assert list(commands.lifetimes(episodes, "remaining")["lifetime_weeks"]) == [53.0, 208.0]
    assert life["burst"].isna().tolist() == [False, True]
    empty = commands.lifetimes(episodes.iloc[:0], "lifetime")
    assert list(empty.columns) == commands.LIFETIME_COLUMNS and empty.empty
    with pytest.raises(commands.ResultError, match="remaining_weeks"):
        commands.lifetimes(episodes.drop(columns="remaining_weeks"), "remaining")
    with pytest.raises(InputError):
        commands.lifetimes(episodes, "forever")


# --------------------------------------------------------------------------- sweep


def test_sweep_over_one_parameter_draws_curves(tmp_path):
    from runs import figures
    from runs.sweep import run_sweep

    out = tmp_path / "sweep1"
    # Every episode pooled, each from its own start: the toy's bubbles die faster at higher rates.
    outcome, lines = run_sweep(
        {"interest_rate": [0.0, 0.05, 0.1]}, n_seeds=12, out_dir=out, measure="lifetime", episodes="all", **SMALL
    )
    assert outcome.ok and outcome.summary.ran == 36
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(table["interest_rate"]) == [0.0, 0.05, 0.1]
    assert list(table["scenario"]) == [f"baseline_interest_rate-{v}" for v in ("0", "0.05", "0.1")]
    # The toy's bubbles die faster at higher rates; the sweep must see it.
    assert table["p_burst"].iloc[-1] > table["p_burst"].iloc[0]
    assert ((table["p_burst_lower"] <= table["p_burst"]) & (table["p_burst"] <= table["p_burst_upper"])).all()
    assert png(out / "sweep.png")
    fig = figures.sweep_curves(table, "interest_rate", "t", "P(burst)")
    curve = next(line for line in fig.axes[1].get_lines() if line.get_gid() == "p_burst")
    assert list(curve.get_xdata()) == [0.0, 0.05, 0.1]
    assert list(curve.get_ydata()) == pytest.approx(list(table["p_burst"]))


def test_sweep_over_two_parameters_draws_heat_maps(tmp_path):
    from runs import figures
    from runs.sweep import parse_grid, run_sweep

    grid = parse_grid(["interest_rate=0.02,0.08", "regime=gaap_2026,strict"])
    assert grid == {"economy.interest_rate": [0.02, 0.08], "economy.regime": ["gaap_2026", "strict"]}
    out = tmp_path / "sweep2"
    outcome, _ = run_sweep(grid, n_seeds=6, out_dir=out, **SMALL)
    assert outcome.ok
    table = pd.read_parquet(out / "sweep.parquet")
    assert list(zip(table["interest_rate"], table["regime"], strict=True)) == [
        (0.02, "gaap_2026"),
        (0.02, "strict"),
        (0.08, "gaap_2026"),
        (0.08, "strict"),
    ]
    assert png(out / "sweep.png")
    fig = figures.sweep_heatmaps(table, "interest_rate", "regime", "t", "P(burst)")
    images = [ax.get_images()[0] for ax in fig.axes if ax.get_images()]
    assert len(images) == 2 and all(image.get_array().shape == (2, 2) for image in images)
    burst = images[1].get_array()
    assert burst[1, 0] == pytest.approx(table.set_index(["regime", "interest_rate"]).loc[("strict", 0.02), "p_burst"])


# --------------------------------------------------------------------------- baseline and resume


def toy_baseline(capsys, out: Path, seeds: int, years: float, executor: str = "serial", run_fn=toy_market, **kw):
    """`python -m runs baseline` on a stand-in model, through the Python API (no --run-fn on the
    command line): (exit status, stdout, stderr) as the command gives them."""
    from runs.baseline import run_baseline

    capsys.readouterr()
    try:
        outcome, lines = run_baseline(
            n_seeds=seeds, out_dir=out, years=years, run_fn=run_fn, options=ExecutorOptions(executor, **kw)
        )
        code = outcome.report(lines)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_resume_through_the_command_skips_finished_runs(tmp_path, capsys):
    out = tmp_path / "base"
    code, stdout, _ = toy_baseline(capsys, out, 3, 2, "process", workers=2)
    assert code == 0 and "3 ran, 0 skipped" in stdout
    done = {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/done.json")}
    assert len(done) == 3

    code, stdout, _ = toy_baseline(capsys, out, 3, 2)
    assert code == 0 and "0 ran, 3 skipped" in stdout
    assert {p: p.stat().st_mtime_ns for p in out.glob("runs/*/*/done.json")} == done
    assert str(out / "lifetimes.parquet") in stdout and str(out / "price_vs_fundamental.png") in stdout

    code, stdout, _ = toy_baseline(capsys, out, 5, 2)
    assert code == 0 and "2 ran, 3 skipped" in stdout
    assert pd.read_parquet(out / "lifetimes.parquet")["replicate"].max() == 4

    code, _, stderr = toy_baseline(capsys, out, 5, 3)
    assert code == 2 and "different experiment" in stderr  # a changed horizon is not resumed into


def test_baseline_tables_and_figures(tmp_path):
    from runs.baseline import run_baseline

    out = tmp_path / "base"
    outcome, lines = run_baseline(n_seeds=10, out_dir=out, **SMALL)
    assert outcome.ok, outcome.warnings
    for name in ["price_vs_fundamental", "profit_split", "backlog_concentration", "survival"]:
        assert png(out / f"{name}.png"), name
    raw = load_experiment(out)
    # Reading only some columns (as the commands do) returns what a whole read does, for those
    # columns; the commands read leniently: what no run has is left out, and they report it.
    lean = load_experiment(out, {"weekly": ["basket_price", "price_*", "nosuch"], "nothere": None}, strict=False)
    assert list(lean) == ["weekly"]
    columns = ["scenario", "replicate", "seed", "basket_price"] + [c for c in raw["weekly"] if c.startswith("price_")]
    pd.testing.assert_frame_equal(lean["weekly"], raw["weekly"][columns])

    fan = pd.read_parquet(out / "basket_fan.parquet")
    assert set(fan["series"]) == {"price", "fundamental", "pf"}
    assert ((fan["p10"] <= fan["p50"]) & (fan["p50"] <= fan["p90"])).all()
    first = fan[(fan["series"] == "price") & (fan["date"] == fan["date"].min())].iloc[0]
    week0 = raw["weekly"].loc[raw["weekly"]["week"] == 0, "basket_price"]
    assert first["p50"] == pytest.approx(week0.median())

    # The toy's first bubble is under way at step 0 in every run; later weeks count by hand.
    share = pd.read_parquet(out / "bubble_share.parquet").set_index("week")["share"]
    assert share.loc[0] == 1.0
    eps = raw["episodes"]
    week = 100
    inside = ((eps["start_week"] <= week) & (eps["censored"] | (eps["burst_week"] > week))).sum()
    assert share.loc[week] == pytest.approx(inside / 10)

    profits = pd.read_parquet(out / "profit_split.parquet")
    gq = raw["giant_quarters"]
    summed = gq.groupby(["replicate", "date"])[["profit_marks", "free_cash_flow"]].sum().reset_index()
    by_date = summed.groupby("date").median()
    assert list(profits["profit_marks"]) == pytest.approx(list(by_date["profit_marks"]))
    assert list(profits["free_cash_flow"]) == pytest.approx(list(by_date["free_cash_flow"]))

    backlog = pd.read_parquet(out / "backlog_concentration.parquet")
    assert set(backlog["giant"]) == {g for g in gq["giant"]}
    assert backlog["p50"].between(0.15, 0.3).all()

    life = pd.read_parquet(out / "lifetimes.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    assert len(life) == len(eps) and summary["n_episodes"].iloc[0] == life["first"].sum()
    assert any(line.startswith("bubble episodes:") for line in lines)


def test_missing_model_tables_are_reported_and_the_exit_status_is_1(tmp_path, capsys):
    # toy_runs.toy_run has an episodes table without dates and no weekly or quarterly tables.
    from toy_runs import toy_run

    code, stdout, stderr = toy_baseline(capsys, tmp_path / "o", 2, 1, run_fn=toy_run)
    assert code == 1
    assert "survival curve skipped" in stderr and "fan chart skipped" in stderr
    assert "2 ran" in stdout


# --------------------------------------------------------------------------- scripts and the model


def test_scripts_run_on_the_python_api(tmp_path, capsys, monkeypatch):
    from runs.scripts import accounting_regime, interest_rates

    # The scripts take the model's run function; the stand-in goes in through the Python side.
    monkeypatch.setattr(commands, "run_function", lambda spec=None: toy_market)
    common = ["--seeds", "6", "--years", "2", "--executor", "serial"]
    assert accounting_regime.main([*common, "--out", str(tmp_path / "acc")]) == 0
    peaks = pd.read_parquet(tmp_path / "acc" / "peak_pf.parquet")
    assert list(peaks.columns) == ["replicate", "seed", "gaap_2026", "strict"] and len(peaks) == 6
    # The toy's bubbles burst sooner under strict accounting, so they peak no higher.
    assert (peaks["strict"] <= peaks["gaap_2026"]).all() and (peaks["strict"] < peaks["gaap_2026"]).any()
    assert png(tmp_path / "acc" / "survival.png")

    assert interest_rates.main([*common, "--rates", "0.03,0.09", "--out", str(tmp_path / "ir")]) == 0
    table = pd.read_parquet(tmp_path / "ir" / "sweep.parquet")
    assert list(table["interest_rate"]) == [0.03, 0.09] and "median_peak_pf" in table
    assert png(tmp_path / "ir" / "sweep.png")
    assert "wrote:" in capsys.readouterr().out


def test_the_model_feeds_the_baseline_command(tmp_path):
    """The real run function through the command: the weekly and quarterly columns the figures read."""
    from runs.baseline import run_baseline

    # theta = 0 (a bubble is price above fundamental for a month) so one-year runs have episodes.
    outcome, _ = run_baseline(
        n_seeds=2,
        out_dir=tmp_path / "real",
        years=1,
        overrides={"bubble.theta": 0.0},
        options=ExecutorOptions("serial"),
        progress="off",
    )
    assert outcome.summary.ok
    for name in ["basket_fan", "profit_split", "backlog_concentration"]:
        assert name in outcome.tables, outcome.warnings
    assert outcome.ok, outcome.warnings
    # The model writes an episodes table with the columns the commands read and a boolean
    # `first` marking each run's headline episode: exactly one per run that has episodes.
    episodes = load_experiment(
        tmp_path / "real", {"episodes": ["start", "burst", "lifetime_weeks", "remaining_weeks", "censored", "first"]}
    )["episodes"]
    assert len(episodes) > 0
    assert episodes["first"].dtype == bool
    assert (episodes.groupby("replicate")["first"].sum() == 1).all()
    life = outcome.tables["lifetimes"]
    assert list(life.columns) == commands.LIFETIME_COLUMNS
    assert 0 < len(life) <= len(episodes)
    assert set(life["replicate"]) <= set(episodes["replicate"])


def test_help_imports_no_pandas_matplotlib_or_model():
    """Building the parser imports every command module; none may load the heavy libraries."""
    code = (
        "import sys; from runs.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'lifelines', 'scipy', 'model', 'mesa') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    # Importing the single-run command does not switch matplotlib's backend either.
    code = "import matplotlib; b = matplotlib.get_backend(); import runs.single; print(matplotlib.get_backend() == b)"
    assert (
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).resolve().parents[1],
        ).stdout.strip()
        == "True"
    )


def test_a_horizon_shorter_than_a_quarter_skips_the_quarterly_views_with_a_warning(tmp_path, capsys):
    """No quarter closes in two weeks: the profit and backlog views are skipped and said so, no traceback."""
    code = main(["baseline", "--seeds", "1", "--years", "0.04", "--executor", "serial", "--out", str(tmp_path / "b")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "profit split skipped: no quarter closed within the horizon" in err
    assert (tmp_path / "b" / "survival.png").exists()
