"""Reading experiments back (runs.loader), the one atomic writer (runs.store) and ExecutorOptions."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pandas as pd
import pandas.testing as pdt
import pytest

from economy.errors import InputError
from runs import store
from runs.executors import ExecutorOptions
from runs.experiment import run_experiment
from runs.loader import load_experiment
from toy_runs import toy_run  # pytest puts tests/ on sys.path

SCENARIOS = {"calm": {"drift": 0.0, "mean_weeks": 60.0}, "hot": {"drift": 0.5, "mean_weeks": 150.0, "steps": 5}}


@pytest.fixture(scope="module")
def experiment(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("exp")
    run_experiment(out, SCENARIOS, toy_run, n_seeds=3, root_seed=4, options=ExecutorOptions("serial"), progress="off")
    return out


# --------------------------------------------------------------------------- loader


def test_column_projection_matches_a_whole_read(experiment):
    whole = load_experiment(experiment)
    assert set(whole) == {"episodes", "series"}
    series = whole["series"]
    value_columns = [c for c in series.columns if c not in ("scenario", "replicate", "seed")]
    assert len(value_columns) >= 2
    # Asked in reverse order: the result keeps the order asked for, after the leading three.
    asked = value_columns[::-1]
    lean = load_experiment(experiment, {"series": asked})
    assert list(lean) == ["series"]
    assert list(lean["series"].columns) == ["scenario", "replicate", "seed", *asked]
    pdt.assert_frame_equal(lean["series"], series[["scenario", "replicate", "seed", *asked]])
    # None reads every column; a list of names reads whole tables.
    pdt.assert_frame_equal(load_experiment(experiment, {"series": None})["series"], series)
    pdt.assert_frame_equal(load_experiment(experiment, ["episodes"])["episodes"], whole["episodes"])


def test_prefix_columns_and_scenario_choice(experiment):
    whole = load_experiment(experiment)["series"]
    first = next(c for c in whole.columns if c not in ("scenario", "replicate", "seed"))
    prefix = first[:1] + "*"
    expected = [c for c in whole.columns[3:] if c.startswith(first[:1])]
    hot = load_experiment(experiment, {"series": [prefix]}, scenarios=["hot"])["series"]
    assert list(hot.columns[3:]) == expected
    assert set(hot["scenario"]) == {"hot"} and sorted(set(hot["replicate"])) == [0, 1, 2]
    pdt.assert_frame_equal(
        hot, whole.loc[whole["scenario"] == "hot", ["scenario", "replicate", "seed", *expected]].reset_index(drop=True)
    )


def test_error_messages_name_what_is_missing(experiment, tmp_path):
    with pytest.raises(InputError, match=r"scenario\(s\) \['nosuch'\] not in experiment .*it has \['calm', 'hot'\]"):
        load_experiment(experiment, scenarios=["hot", "nosuch"])
    with pytest.raises(InputError, match=r"table\(s\) \['nothere'\] not found"):
        load_experiment(experiment, ["series", "nothere"])
    with pytest.raises(InputError, match=r"column\(s\) \['nosuch', 'zz\*'\] not in table 'series'"):
        load_experiment(experiment, {"series": ["nosuch", "zz*"]})
    with pytest.raises(InputError, match="manifest.json is missing"):
        load_experiment(tmp_path / "nothing")
    with pytest.raises(InputError, match="list of table names"):
        load_experiment(experiment, "series")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        load_experiment(tmp_path / "bad")


def test_lenient_reads_leave_out_what_no_run_has(experiment):
    lean = load_experiment(experiment, {"series": ["nosuch"], "nothere": None}, strict=False)
    assert list(lean) == ["series"] and list(lean["series"].columns) == ["scenario", "replicate", "seed"]


# --------------------------------------------------------------------------- atomic writes


def test_write_atomic_replaces_whole_files_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "table.parquet"
    frame = pd.DataFrame({"a": [1, 2, 3]})
    assert store.write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False)) == path
    pdt.assert_frame_equal(pd.read_parquet(path), frame)
    store.write_atomic(path, b"bytes")
    assert path.read_bytes() == b"bytes"
    # The temporary keeps the suffix, so writers that choose a format by extension still work.
    seen = []
    store.write_atomic(tmp_path / "x.png", lambda tmp: (seen.append(tmp), tmp.write_bytes(b"png")))
    assert seen[0].suffix == ".png" and seen[0].name.startswith(store.TMP_PREFIX) and seen[0].parent == tmp_path
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sub", "table.parquet", "x.png"]


def test_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "result.json"
    store.write_json_atomic(path, {"v": 1})

    def crash(tmp):
        Path(tmp).write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        store.write_atomic(path, crash)
    assert path.read_text() == '{\n  "v": 1\n}\n'
    assert os.listdir(tmp_path) == ["result.json"]
    with pytest.raises(ValueError):
        store.write_json_atomic(path, {"v": float("nan")})
    assert os.listdir(tmp_path) == ["result.json"]


# --------------------------------------------------------------------------- executor options


def test_executor_options_check_and_from_args():
    assert ExecutorOptions().check() == ExecutorOptions("process")
    for bad, message in [
        (ExecutorOptions("threads"), "executor must be one of serial, process, dask, got 'threads'"),
        (ExecutorOptions("process", dask_local=2), "scheduler and dask_local need executor='dask'"),
        (ExecutorOptions("dask", scheduler="tcp://h:1", dask_local=2), "give either scheduler"),
        (ExecutorOptions("process", workers=0), "workers must be a positive integer, got 0"),
        (ExecutorOptions("dask", dask_local=True), "dask_local must be a positive integer"),
    ]:
        with pytest.raises(InputError, match=message):
            bad.check()
    args = argparse.Namespace(executor="dask", workers=3, scheduler=None, dask_local=2)
    assert ExecutorOptions.from_args(args) == ExecutorOptions("dask", workers=3, dask_local=2)
    # A parser without the Dask options (the scripts) gets the defaults for them.
    assert ExecutorOptions.from_args(argparse.Namespace(executor="serial", workers=None)) == ExecutorOptions("serial")
    with pytest.raises(InputError, match="options must be an ExecutorOptions"):
        run_experiment(Path("unused"), SCENARIOS, toy_run, n_seeds=1, options={"executor": "serial"})
